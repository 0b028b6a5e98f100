package dev.align4j.task;

import org.junit.jupiter.api.Test;

import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/** Built-in tasks: disjoint splits, gold rewards on hand-picked completions, demonstration error rates, the annotator's noise. */
class TaskTest {

    @Test
    void trainAndTestPromptsAreDisjointForEveryTask() {
        for (String name : Task.names()) {
            Task t = Task.byName(name);
            Set<String> train = new HashSet<>(), test = new HashSet<>();
            for (long seed = 0; seed < 3; seed++) {
                t.examples(Task.Split.TRAIN, 2000, seed).forEach(e -> train.add(e.prompt()));
                t.examples(Task.Split.TEST, 500, seed).forEach(e -> test.add(e.prompt()));
            }
            assertFalse(test.isEmpty(), name);
            Set<String> both = new HashSet<>(train);
            both.retainAll(test);
            assertTrue(both.isEmpty(), name + ": prompts in both splits: " + both);
        }
    }

    @Test
    void examplesAreSeededAndDistinct() {
        Task t = Task.byName("arithmetic");
        assertEquals(t.examples(Task.Split.TRAIN, 100, 4), t.examples(Task.Split.TRAIN, 100, 4));
        assertNotEquals(t.examples(Task.Split.TRAIN, 100, 4), t.examples(Task.Split.TRAIN, 100, 5));
        List<Task.Example> e = t.examples(Task.Split.TRAIN, 500, 1);
        assertEquals(500, new HashSet<>(e.stream().map(Task.Example::prompt).toList()).size());
    }

    @Test
    void drawsKeepRepeatsSoLongPromptListsFollowTheTaskDistribution() {
        // sort draws 3, 4 or 5 digits with probability 1/3 each; only 10^3 = 1,000 three-digit lists exist (about 800 in
        // the train split). 20,000 draws: share of 3-digit lists ≈ 1/3, s.e. = sqrt(1/3 · 2/3 / 20000) = 0.0033, so ±0.03
        // is 9 s.e. Distinct examples cannot exceed 1,000 / 20,000 = 0.05 — the bias draws() exists to avoid.
        Task t = Task.byName("sort");
        List<Task.Example> d = t.draws(Task.Split.TRAIN, 20_000, 9);
        assertEquals(20_000, d.size());
        assertEquals(d, t.draws(Task.Split.TRAIN, 20_000, 9));
        double share = d.stream().filter(e -> e.prompt().length() == "sort 1 2 3:".length()).count() / 20_000.0;
        assertEquals(1 / 3.0, share, 0.03);
        assertTrue(d.stream().allMatch(e -> Task.splitOf(e.prompt()) == Task.Split.TRAIN));
        List<Task.Example> distinct = t.examples(Task.Split.TRAIN, 20_000, 9);
        assertTrue(distinct.stream().filter(e -> e.prompt().length() == "sort 1 2 3:".length()).count() <= 1000);
    }

    @Test
    void arithmeticRewardIsExactMatch() {
        Task t = Task.byName("arithmetic");
        Task.Example e = new Task.Example("37+85=", "122");
        assertEquals(1.0, t.reward(e, "122"));
        assertEquals(1.0, t.reward(e, " 122\nmore"));
        assertEquals(0.0, t.reward(e, "123"));
        assertEquals(0.0, t.reward(e, "1222"));
    }

    @Test
    void sortGivesPartialCredit() {
        Task t = Task.byName("sort");
        Task.Example e = new Task.Example("sort 5 2 9 1:", "1 2 5 9");
        assertEquals(1.0, t.reward(e, "1 2 5 9"));
        assertEquals(0.5, t.reward(e, "1 2 9 5"), 1e-12);        // positions 0, 1 right: 2/4
        assertEquals(0.6, t.reward(e, "1 2 5 7 9"), 1e-12);      // 1, 2, 5 in place: 3 / max(4, 5) = 0.6
    }

    @Test
    void phraseRewardIsSmoothAndPrefersPositiveOnTopicGrammar() {
        Task t = Task.byName("phrase");
        Task.Example e = new Task.Example("write about the cat:", "");
        // the happy cat sleeps: topic 1, grammar 1, sentiment 1, lexicon 1, length 1 ⇒ 1.0
        assertEquals(1.0, t.reward(e, "the happy cat sleeps"), 1e-12);
        // the sad cat sleeps: sentiment (0 − 1)/1 ⇒ 0.5 + 0.5·(−1) = 0 ⇒ 0.25 + 0.25 + 0 + 0.1 + 0.1 = 0.7
        assertEquals(0.7, t.reward(e, "the sad cat sleeps"), 1e-12);
        // the happy dog sleeps: off topic ⇒ 1 − 0.25 = 0.75
        assertEquals(0.75, t.reward(e, "the happy dog sleeps"), 1e-12);
        assertTrue(t.correct(e, "the happy cat sleeps") && !t.correct(e, "the sad cat sleeps"));
    }

    @Test
    void briefArithmeticExposesTwoObjectives() {
        Task t = Task.byName("brief-arith");
        Task.Example e = new Task.Example("37+85=", "122");
        assertArrayEquals(new double[]{1, 1}, t.rewards(e, "122"));
        // "122, done": 6 extra characters ⇒ brief = 1 − 6/20 = 0.7
        assertArrayEquals(new double[]{1, 0.7}, t.rewards(e, "122, done"), 1e-12);
        assertEquals(0.85, t.reward(e, "122, done"), 1e-12);
        assertArrayEquals(new double[]{0, 1}, t.rewards(e, "121"));
    }

    @Test
    void demonstrationErrorRateIsAsConfigured() {
        Random rng = new Random(3);
        for (String name : Task.names()) {
            Task t = Task.byName(name);
            int flawed = 0, n = 0;
            List<Task.Example> ex = t.examples(Task.Split.TRAIN, 4000, 2);
            for (int rep = 0; rep < 4000 / ex.size() + 1; rep++)   // small prompt spaces (phrase) are cycled
                for (Task.Example e : ex) { n++; if (!t.correct(e, t.demonstrate(e, 0.3, rng))) flawed++; }
            double rate = (double) flawed / n;
            if (name.equals("phrase")) assertTrue(rate > 0.3, name + ": negative adjectives make more demos imperfect: " + rate);
            else if (name.equals("brief-arith")) assertTrue(rate > 0.3, name + ": wordy demos are not 'correct' at the max reward: " + rate);
            else assertEquals(0.3, rate, 0.03, name);
        }
    }

    @Test
    void pairwiseAgreementMatchesBradleyTerryNoise() {
        // P(agree) = σ(|Δ|/τ); with Δ = 0.2 and τ = 0.2: σ(1) = 0.731059. 20000 draws: s.e. = sqrt(.73·.27/20000) = 0.0031
        Annotator a = new Annotator(0.2, 11);
        int agree = 0, n = 20000;
        for (int i = 0; i < n; i++) if (a.prefers(0.6, 0.4)) agree++;
        assertEquals(0.731059, (double) agree / n, 4 * 0.0031);
        // Mixed gaps from a task: empirical agreement vs mean predicted probability
        Task t = Task.byName("phrase");
        Random rng = new Random(5);
        double predicted = 0;
        agree = 0;
        int decidable = 0;
        for (Task.Example e : t.examples(Task.Split.TRAIN, 5000, 9)) {
            double r1 = t.reward(e, t.demonstrate(e, 0.5, rng)), r2 = t.reward(e, t.demonstrate(e, 0.5, rng));
            if (r1 == r2) continue;
            decidable++;
            predicted += a.preferProbability(Math.max(r1, r2), Math.min(r1, r2));
            if (a.prefers(r1, r2) == (r1 > r2)) agree++;
        }
        double se = Math.sqrt(0.25 / decidable);
        assertEquals(predicted / decidable, (double) agree / decidable, 4 * se);
        // a perfect annotator always agrees
        Annotator perfect = new Annotator(0, 1);
        for (int i = 0; i < 100; i++) assertTrue(perfect.prefers(0.51, 0.5));
    }

    @Test
    void rankingsLabelsAndRatingsFollowTheRewards() {
        Annotator a = new Annotator(0.05, 2);
        int[] order = a.rank(new double[]{0.1, 0.9, 0.5});
        assertArrayEquals(new int[]{1, 2, 0}, order);
        Annotator perfect = new Annotator(0, 2);
        assertTrue(perfect.label(0.8));
        assertFalse(perfect.label(0.2));
        assertEquals(5, perfect.rating(1.0));
        assertEquals(1, perfect.rating(0.0));
        assertEquals(3, perfect.rating(0.5));
        // Plackett–Luce: P(first = 0) for scores (1, 0)/τ with τ = 1 is e/(e+1) = 0.731059
        Annotator pl = new Annotator(1.0, 3);
        int first = 0;
        for (int i = 0; i < 20000; i++) if (pl.rank(new double[]{1, 0})[0] == 0) first++;
        assertEquals(0.731059, first / 20000.0, 0.0125);
    }
}
