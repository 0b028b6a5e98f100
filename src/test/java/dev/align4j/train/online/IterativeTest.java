package dev.align4j.train.online;

import dev.align4j.core.Torch;
import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The pieces of DNO, SPO and iterative / accelerated online DPO that are pure arithmetic, by hand. */
class IterativeTest {
    @Test
    void apoExtrapolationByHand() {
        try (PointerScope s = new PointerScope()) {
            // θ = (1, 2), θ_prev = (0.5, 3), α = 0.5: θ + α(θ − θ_prev) = (1 + 0.25, 2 − 0.5) = (1.25, 1.5); θ_prev ← (1, 2)
            Map<String, Tensor> theta = new LinkedHashMap<>(), prev = new LinkedHashMap<>();
            theta.put("w", Torch.floats(new float[]{1, 2}, 2));
            prev.put("w", Torch.floats(new float[]{0.5f, 3}, 2));
            Iterates.extrapolate(theta, prev, 0.5);
            assertArrayEquals(new double[]{1.25, 1.5}, Torch.toDoubles(theta.get("w")), 1e-6);
            assertArrayEquals(new double[]{1, 2}, Torch.toDoubles(prev.get("w")), 1e-6);
            // α = 0: no change, θ_prev still follows θ
            Iterates.extrapolate(theta, prev, 0);
            assertArrayEquals(new double[]{1.25, 1.5}, Torch.toDoubles(theta.get("w")), 1e-6);
            assertArrayEquals(new double[]{1.25, 1.5}, Torch.toDoubles(prev.get("w")), 1e-6);
        }
    }

    @Test
    void dnoKeepsOnlyLargeMarginPairs() {
        // two prompts, K = 3. Prompt 0 win rates (0.9, 0.5, 0.1): best 0, worst 2, margin 0.8.
        // Prompt 1 (0.6, 0.4, 0.5): best 3, worst 4, margin 0.2.
        double[] w = {0.9, 0.5, 0.1, 0.6, 0.4, 0.5};
        int[][] all = Dno.selectPairs(w, 3, 0.0);
        assertArrayEquals(new int[]{0, 3}, all[0]);
        assertArrayEquals(new int[]{2, 4}, all[1]);
        int[][] large = Dno.selectPairs(w, 3, 0.5);                        // 0.2 < 0.5: prompt 1 dropped
        assertArrayEquals(new int[]{0}, large[0]);
        assertArrayEquals(new int[]{2}, large[1]);
        assertEquals(1, Dno.selectPairs(w, 3, 0.8)[0].length, "a margin equal to the threshold is kept");
        // a tie (every sample the same win rate) never makes a pair, even with margin 0
        assertEquals(0, Dno.selectPairs(new double[]{0.5, 0.5}, 2, 0.0)[0].length);
    }

    @Test
    void winRatesAgainstTheOthersOfTheGroupAreSposReward() {
        // a judge that prefers the longer text: P(a ≻ b) = 0.9 if |a| > |b|, 0.1 if shorter, 0.5 if equal
        Judge longer = new Judge() {
            public String name() { return "longer"; }

            public double[] prob(List<Task.Example> ex, List<String> a, List<String> b) {
                double[] p = new double[a.size()];
                for (int i = 0; i < p.length; i++) p[i] = a.get(i).length() > b.get(i).length() ? 0.9 : a.get(i).length() < b.get(i).length() ? 0.1 : 0.5;
                return p;
            }
        };
        Task.Example x = new Task.Example("p", "");
        // group ("aaa", "a", "aa"): "aaa" beats both: (0.9 + 0.9)/2 = 0.9; "a" loses both: 0.1; "aa": (0.1 + 0.9)/2 = 0.5
        // group ("b", "c"): equal lengths: 0.5 each
        List<String> texts = List.of("aaa", "a", "aa");
        double[] w = Judges.winRates(longer, Collections.nCopies(3, x), texts, 3);
        assertArrayEquals(new double[]{0.9, 0.1, 0.5}, w, 1e-12);
        List<dev.align4j.reward.RewardFunction.Sample> s = new ArrayList<>();
        for (String t : List.of("b", "c", "dd", "e")) s.add(new dev.align4j.reward.RewardFunction.Sample(x, t, t.length(), false));
        // SPO's reward in groups of 2: ("b", "c") → 0.5, 0.5; ("dd", "e") → 0.9, 0.1; the mean of a group is always ½
        assertArrayEquals(new double[]{0.5, 0.5, 0.9, 0.1}, Judges.winRateReward(longer, 2).score(s), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Judges.winRates(longer, Collections.nCopies(3, x), texts, 2), "3 rows do not split into pairs");
    }
}
