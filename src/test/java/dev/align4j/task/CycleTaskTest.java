package dev.align4j.task;

import org.junit.jupiter.api.Test;

import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/** The intransitive task: classes, the gold preference by hand, its reward, and the annotator's label frequencies. */
class CycleTaskTest {
    final CycleTask t = new CycleTask();                       // s = 2, τ = 0.5: quality moves the logit by 1/τ = 2
    final Task.Example ex = new Task.Example("37+45=", "82");
    static final int PLAIN_OK = 0, PLAIN_BAD = 1, PAREN_OK = 2, PAREN_BAD = 3, HASH_OK = 4, HASH_BAD = 5, MALFORMED = 6;

    @Test
    void completionsFallIntoStyleAndQualityClasses() {
        assertEquals(PLAIN_OK, t.classOf(ex, "82"));
        assertEquals(PLAIN_OK, t.classOf(ex, " 82 \nmore text"), "the first line, trimmed");
        assertEquals(PLAIN_BAD, t.classOf(ex, "83"));
        assertEquals(PAREN_OK, t.classOf(ex, "(82)"));
        assertEquals(PAREN_BAD, t.classOf(ex, "(72)"));
        assertEquals(HASH_OK, t.classOf(ex, "#82"));
        assertEquals(HASH_BAD, t.classOf(ex, "#8"));
        for (String bad : List.of("(82", "82)", "##82", "#(82)", "", "eighty-two", "-82"))
            assertEquals(MALFORMED, t.classOf(ex, bad), bad);
        assertTrue(t.correct(ex, "(82)") && t.correct(ex, "#82") && !t.correct(ex, "(82") && !t.correct(ex, "81"));
        assertEquals(Task.byName("cycle").name(), "cycle");
        assertTrue(Task.names().contains("cycle"));
    }

    @Test
    void goldPreferenceByHand() {
        double[][] m = t.payoff();
        // both correct: only the cycle speaks, σ(±s) = σ(±2) = 0.880797 / 0.119203
        assertEquals(0.880797, m[PLAIN_OK][PAREN_OK], 1e-6, "plain beats paren");
        assertEquals(0.880797, m[PAREN_OK][HASH_OK], 1e-6, "paren beats hash");
        assertEquals(0.880797, m[HASH_OK][PLAIN_OK], 1e-6, "hash beats plain: the cycle closes");
        assertEquals(0.119203, m[PAREN_OK][PLAIN_OK], 1e-6);
        // same style, quality alone: σ(1/τ) = σ(2)
        assertEquals(0.880797, m[PLAIN_OK][PLAIN_BAD], 1e-6);
        // quality and cycle together: σ(2 + 2) = 0.982014; σ(−2 + 2) = ½ — a wrong answer in the winning style ties a right one
        assertEquals(0.982014, m[PLAIN_OK][PAREN_BAD], 1e-6);
        assertEquals(0.5, m[PLAIN_BAD][PAREN_OK], 1e-12);
        // malformed: quality 0 and loses the style term, σ(−2 − 2) against a correct answer, σ(−2) against a wrong one
        assertEquals(0.017986, m[MALFORMED][HASH_OK], 1e-6);
        assertEquals(0.119203, m[MALFORMED][HASH_BAD], 1e-6);
        for (int i = 0; i < m.length; i++) {
            assertEquals(0.5, m[i][i], 0, "a class ties itself");
            for (int j = 0; j < m.length; j++) assertEquals(1.0, m[i][j] + m[j][i], 1e-12, "P(i>j) + P(j>i) = 1");
        }
        assertEquals(0.880797, t.prob(ex, "#82", "82"), 1e-6, "prob reads the classes");
        // strength 0: styles indifferent, only quality
        assertEquals(0.5, new CycleTask(0, 0.5).payoff()[PLAIN_OK][PAREN_OK], 1e-12);
    }

    @Test
    void rewardIsTheWinRateAgainstTheNashPolicy() {
        // correct: (σ(2) + σ(−2) + ½)/3 = ½ in every style — flat across styles
        for (String c : List.of("82", "(82)", "#82")) assertEquals(0.5, t.reward(ex, c), 1e-12, c);
        // plain wrong vs (plain, paren, hash) correct: (σ(−2) + σ(−2 + 2) + σ(−2 − 2))/3 = (0.119203 + 0.5 + 0.017986)/3
        assertEquals(0.212396, t.reward(ex, "81"), 1e-6);
        assertEquals(0.017986, t.reward(ex, "(82"), 1e-6, "malformed: σ(−4) against each");
    }

    @Test
    void annotatorLabelFrequenciesMatchTheGoldPreference() {
        // 20,000 labelled pairs from demonstrations (error rate 0.5, so every class appears). For each unordered class pair
        // {i, j} seen n ≥ 300 times, the share labelled i ≻ j must be P*(i ≻ j) within 4 standard errors, 4·sqrt(p(1−p)/n)
        // (≤ 0.116 at n = 300, p = ½); a wrong draw (e.g. a BT of the reward, which gives ½ between correct styles, or the
        // majority label) misses by ≥ 0.38 on the correct-vs-correct style pairs.
        List<TaskData.Labelled> pairs = TaskData.labelledPairs(t, Task.Split.TRAIN, 20000, 0.5, 0.1, 7);
        assertEquals(20000, pairs.size());
        double[][] m = t.payoff();
        int[][] won = new int[7][7];
        for (TaskData.Labelled l : pairs) {
            int c = t.classOf(l.example(), l.pair().chosen()), r = t.classOf(l.example(), l.pair().rejected());
            assertNotEquals(c, r, "one-class pairs are ties and dropped");
            assertEquals(m[c][r], l.gold(), 1e-12, "gold = P*(chosen > rejected)");
            won[c][r]++;
        }
        int checked = 0;
        for (int i = 0; i < 7; i++)
            for (int j = i + 1; j < 7; j++) {
                int n = won[i][j] + won[j][i];
                if (n < 300) continue;
                checked++;
                double p = m[i][j], se = Math.sqrt(p * (1 - p) / n);
                assertEquals(p, won[i][j] / (double) n, 4 * se + 1e-9, t.classNames().get(i) + " vs " + t.classNames().get(j) + " (n = " + n + ")");
            }
        assertTrue(checked >= 15, "enough class pairs checked: " + checked);
        // a perfect annotator (temperature 0) gives the majority direction every time
        for (TaskData.Labelled l : TaskData.labelledPairs(t, Task.Split.TEST, 500, 0.5, 0.0, 8)) assertTrue(l.gold() > 0.5, l.toString());
    }

    @Test
    void transitiveTasksKeepTheirPairs() {
        // the general path must not change the pairs of the existing tasks (results were measured on them)
        Task a = Task.byName("arithmetic");
        List<TaskData.Labelled> l = TaskData.labelledPairs(a, Task.Split.TRAIN, 50, 0.5, 0.1, 3);
        List<dev.align4j.data.PreferencePair> p = TaskData.preferencePairs(a, Task.Split.TRAIN, 50, 0.5, 0.1, 3);
        assertEquals(p, l.stream().map(TaskData.Labelled::pair).toList());
        for (TaskData.Labelled x : l) {
            double rc = a.reward(x.example(), x.pair().chosen()), rr = a.reward(x.example(), x.pair().rejected());
            assertEquals(1 / (1 + Math.exp(-(rc - rr) / 0.1)), x.gold(), 1e-12, "BT of the gold reward");
        }
    }
}
