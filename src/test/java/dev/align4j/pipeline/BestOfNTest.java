package dev.align4j.pipeline;

import dev.align4j.data.SftExample;
import dev.align4j.generate.Completion;
import dev.align4j.task.Task;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Best-of-N selection, majority vote, RFT's filter and B-STaR's balance score, on hand values. */
class BestOfNTest {

    @Test
    void bestIsTheFirstOfTheTiedMaxima() {
        assertEquals(1, BestOfN.best(new double[]{0.5, 1.0, 1.0, 0.2}));
        assertEquals(0, BestOfN.best(new double[]{1, 1, 1}));
        assertEquals(2, BestOfN.best(new double[]{-3, -2, -1}));
        assertEquals(1, BestOfN.best(new double[]{Double.NaN, 0.3}), "NaN ranks below every number");
        assertEquals(1, BestOfN.worst(new double[]{0.5, 0.2, 0.2, 1.0}), "worst: the first of the tied minima");
        assertEquals(1, BestOfN.worst(new double[]{0.3, Double.NaN, 0.1}));
    }

    @Test
    void majorityPicksTheFirstSampleOfTheMostFrequentAnswer() {
        // counts: 12 → 1 (leads), 7 → 1, 7 → 2 (leads), 12 → 2 (ties, does not overtake): the vote is 7, first seen at 1
        assertEquals(1, BestOfN.majority(Arrays.asList("12", "7", "7", "12", null)));
        assertEquals(2, BestOfN.majority(Arrays.asList(null, "5", "9", "9")));
        assertEquals(0, BestOfN.majority(List.of("a")));
        assertEquals(-1, BestOfN.majority(Arrays.asList(null, null)), "nothing to vote on");
    }

    @Test
    void weightedVoteSumsEachAnswersRewardsAndKeepsItsBestSample() {
        // totals: 7 → 0.2 + 0.3 = 0.5; 5 → 0.9 + 0.05 = 0.95 (wins; a majority vote would tie 2:2 and pick 7, seen first);
        // null does not vote (its 1.0 counts for nothing); the pick is 5's highest-reward sample, index 1
        assertEquals(1, BestOfN.weighted(Arrays.asList("7", "5", "7", null, "5"), new double[]{0.2, 0.9, 0.3, 1.0, 0.05}));
        assertEquals(0, BestOfN.majority(Arrays.asList("7", "5", "7", null, "5")), "the unweighted vote differs");
        // many weak votes beat one strong one: 3 × 0.4 = 1.2 > 0.99
        assertEquals(1, BestOfN.weighted(List.of("9", "4", "4", "4"), new double[]{0.99, 0.4, 0.4, 0.4}));
        // equal totals (0.5 each): the answer sampled first; within it the first of its tied best samples
        assertEquals(0, BestOfN.weighted(List.of("a", "b", "a"), new double[]{0.25, 0.5, 0.25}));
        // a NaN reward does not vote (b: 0 + 0.4 beats a: 0.3) and is never the pick
        assertEquals(2, BestOfN.weighted(List.of("a", "b", "b"), new double[]{0.3, Double.NaN, 0.4}));
        assertEquals(-1, BestOfN.weighted(Arrays.asList(null, null), new double[]{1, 1}), "nothing to vote on");
    }

    /** Two prompts × three samples with hand texts and rewards. */
    static BestOfN.Samples samples() {
        List<Task.Example> prompts = List.of(new Task.Example("p0", "1"), new Task.Example("p1", "5"));
        String[] texts = {"1", "1", "2", "3", "4", "5"};
        List<Completion> outs = new ArrayList<>();
        for (String s : texts) outs.add(new Completion(new int[]{1}, s, new float[]{0}, "eos"));
        return new BestOfN.Samples(prompts, 3, outs, new double[]{1, 1, 0, 0.5, 0.7, 0.7});
    }

    @Test
    void rftKeepsDistinctPassingSamplesOrEachPromptsBest() {
        BestOfN.Samples s = samples();
        // passing at 0.7: p0 keeps "1" once (its second "1" is a duplicate), p1 keeps "4" and "5"
        assertEquals(List.of(new SftExample("p0", "1"), new SftExample("p1", "4"), new SftExample("p1", "5")), Rft.keep(s, 0.7, Rft.Select.PASSING));
        // best: p0's first 1.0, p1's first 0.7
        assertEquals(List.of(new SftExample("p0", "1"), new SftExample("p1", "4")), Rft.keep(s, 0.7, Rft.Select.BEST));
        // at 0.8 p1's best (0.7) does not pass
        assertEquals(List.of(new SftExample("p0", "1")), Rft.keep(s, 0.8, Rft.Select.BEST));
        assertTrue(Rft.keep(s, 1.5, Rft.Select.PASSING).isEmpty());
    }

    @Test
    void balanceScoreIsExplorationTimesExploitation() {
        BestOfN.Samples s = samples();
        Rft.BStar.Correct correct = (i, k) -> s.text(i, k).equals(s.prompts().get(i).answer());
        // τ = 0.7, n* = 2: p0 selects {1}: n = 1, n' = 1 → min(1/2, 1)·1/1 = 0.5; p1 selects {4, 5}: n = 2, n' = 1 → 0.5·1/2 = 0.25
        assertEquals((0.5 + 0.25) / 2, Rft.BStar.balanceScore(s, 0.7, 2, correct), 1e-12);
        // τ = 0: p0 {1, 2}: 0.5·1/2 = 0.25; p1 {3, 4, 5}: 0.5·1/3
        assertEquals((0.25 + 0.5 / 3) / 2, Rft.BStar.balanceScore(s, 0.0, 2, correct), 1e-12);
        // n* = 1: full exploration credit for one correct sample; τ = 0.8 selects nothing of p1 (it scores 0)
        assertEquals((1.0 + 0) / 2, Rft.BStar.balanceScore(s, 0.8, 1, correct), 1e-12);
    }
}
