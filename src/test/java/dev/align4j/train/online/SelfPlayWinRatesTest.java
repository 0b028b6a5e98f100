package dev.align4j.train.online;

import dev.align4j.generate.Completion;
import dev.align4j.reward.Judge;
import dev.align4j.task.Task;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** SPPO's per-sample win rate against the policy, from the judge's pairwise probabilities, by hand. */
class SelfPlayWinRatesTest {
    @Test
    void eachSampleAgainstTheOthersOfItsPrompt() {
        // judge: P(a ≻ b) = ½ + 0.1·(len a − len b); each unordered pair is asked once
        List<String> asked = new ArrayList<>();
        Judge judge = new Judge() {
            public String name() { return "len"; }

            public double[] prob(List<Task.Example> ex, List<String> a, List<String> b) {
                double[] p = new double[a.size()];
                for (int i = 0; i < p.length; i++) { p[i] = 0.5 + 0.1 * (a.get(i).length() - b.get(i).length()); asked.add(a.get(i) + "|" + b.get(i)); }
                return p;
            }
        };
        List<Completion> outs = new ArrayList<>();
        for (String t : List.of("a", "aa", "aaa", "x", "y", "zzz")) outs.add(new Completion(new int[t.length()], t, new float[t.length()], "eos"));
        Task.Example e = new Task.Example("p", "");
        Rollout ro = new Rollout(List.of(e, e), List.of(new int[]{1}, new int[]{1}, new int[]{1}, new int[]{1}, new int[]{1}, new int[]{1}), outs, 3);
        double[] w = Sppo.winRates(judge, ro, 3);
        // prompt 1: P(a≻aa) = 0.4, P(a≻aaa) = 0.3, P(aa≻aaa) = 0.4
        //   P̂(a) = (0.4 + 0.3)/2 = 0.35; P̂(aa) = (0.6 + 0.4)/2 = 0.5; P̂(aaa) = (0.7 + 0.6)/2 = 0.65 (sum K/2 = 1.5)
        // prompt 2: P(x≻y) = 0.5, P(x≻zzz) = 0.3, P(y≻zzz) = 0.3 ⇒ P̂ = (0.4, 0.4, 0.7)
        assertArrayEquals(new double[]{0.35, 0.5, 0.65, 0.4, 0.4, 0.7}, w, 1e-12);
        assertEquals(6, asked.size(), "K(K−1)/2 = 3 comparisons per prompt, never across prompts: " + asked);
    }
}
