package dev.align4j.pipeline;

import dev.align4j.pipeline.StepwiseData.Estimate;
import dev.align4j.task.ChainTask;
import dev.align4j.task.Task;
import dev.align4j.train.offline.ProcessRewardModel.Trajectory;
import org.junit.jupiter.api.Test;

import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/** Step labels for process reward models: Math-Shepherd's rule on hand tables, on a toy policy with known success rates, and gold labels. */
class StepwiseDataTest {
    @Test
    void mathShepherdHardIsAnyRolloutRightAndSoftIsTheShare() {
        boolean T = true, F = false;
        boolean[][] table = {
                {F, F, T, F},       // one of four rollouts from after step 1 reaches the answer: hard 1, soft 1/4
                {F, F, F, F},       // none from after step 2: hard 0, soft 0
                {T, T, T, F},       // three of four: hard 1, soft 3/4
                {T}};               // the last step: the trajectory's own outcome
        assertArrayEquals(new double[]{1, 0, 1, 1}, StepwiseData.labels(table, Estimate.HARD));
        assertArrayEquals(new double[]{0.25, 0, 0.75, 1}, StepwiseData.labels(table, Estimate.SOFT), 1e-12);
    }

    /**
     * A toy policy on {@code chain} whose success rate from each prefix is known: from after a right step it finishes the chain
     * correctly with probability 0.7 (else writes 0), from after a wrong step never. With 400 rollouts the soft labels must be
     * within 0.07 of 0.7 (4.6 standard errors of √(0.7·0.3/400) = 0.023) and 0; the hard labels exactly 1 and 0.
     */
    @Test
    void monteCarloLabelsMatchAToyPolicysKnownSuccessRates() {
        ChainTask task = new ChainTask();
        Task.Example ex = new Task.Example("10+5-3+20=", "32");                            // 15, 12, 32
        Random rng = new Random(7);
        List<Task.Example> asked = new ArrayList<>();
        StepwiseData.Completer toy = (prompts, m) -> {
            List<String> out = new ArrayList<>();
            for (Task.Example p : prompts) {
                asked.add(p);
                String written = p.prompt().substring(ex.prompt().length());               // the steps so far, each with its ';'
                assertTrue(written.endsWith(";"), "a prefix ends with the separator: " + written);
                boolean onTrack = ChainTask.stepLabels(ex, written.substring(0, written.length() - 1)).stream().allMatch(b -> b);
                int[] v = ChainTask.values(ex.prompt());
                int done = written.split(";").length;
                for (int k = 0; k < m; k++) {
                    StringBuilder rest = new StringBuilder();
                    boolean right = onTrack && rng.nextDouble() < 0.7;
                    for (int i = done; i < v.length; i++) rest.append(i > done ? ";" : "").append(right ? v[i] : 0);
                    out.add(rest.toString());
                }
            }
            return out;
        };
        List<StepwiseData.Sampled> sampled = List.of(
                new StepwiseData.Sampled(ex, "15;12;32", List.of("15", "12", "32")),         // right throughout
                new StepwiseData.Sampled(ex, "15;22;42", List.of("15", "22", "42")),         // step 2 wrong; step 3 follows from it
                new StepwiseData.Sampled(ex, "15;12;30", List.of("15", "12", "30")));        // last step wrong
        List<Trajectory> soft = StepwiseData.monteCarlo(task, sampled, ";", 400, Estimate.SOFT, toy);
        // distinct prefixes: "15;" and "15;12;" (shared by trajectories 1 and 3) and "15;22;": three, each asked once
        assertEquals(3, asked.size(), asked.toString());
        assertEquals(0.7, soft.get(0).labels()[0], 0.07);
        assertEquals(0.7, soft.get(0).labels()[1], 0.07);
        assertEquals(1.0, soft.get(0).labels()[2], 0, "the last step is the trajectory's own outcome");
        assertEquals(0.0, soft.get(1).labels()[1], 0, "nothing reaches the answer after a wrong step");
        assertEquals(0.0, soft.get(1).labels()[2], 0, "a step that follows from a mistake is right for gold labels but 0 for Monte Carlo");
        assertEquals(0.0, soft.get(2).labels()[2], 0);
        assertArrayEquals(soft.get(0).labels(), new double[]{soft.get(2).labels()[0], soft.get(2).labels()[1], 1}, "shared prefixes share labels");
        List<Trajectory> hard = StepwiseData.monteCarlo(task, sampled, ";", 400, Estimate.HARD, toy);
        assertArrayEquals(new double[]{1, 1, 1}, hard.get(0).labels());
        assertArrayEquals(new double[]{1, 0, 0}, hard.get(1).labels());
        assertArrayEquals(new double[]{1, 1, 0}, hard.get(2).labels());
        // gold labels judge each step from the one written before it
        List<Trajectory> gold = StepwiseData.gold(task, sampled);
        assertArrayEquals(new double[]{1, 0, 1}, gold.get(1).labels());
        assertArrayEquals(new double[]{1, 1, 0}, gold.get(2).labels());
    }

    @Test
    void aPolicyCompletesEveryDistinctPrefixMTimes() {
        dev.align4j.model.Tokenizer tok = dev.align4j.model.Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope();
             dev.align4j.model.LlamaModel policy = dev.align4j.model.LlamaModel.init(dev.align4j.model.ModelConfig.builtin("nano",
                     dev.align4j.model.Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0), 1, org.bytedeco.pytorch.global.torch.ScalarType.Float)) {
            List<Task.Example> asked = new ArrayList<>();
            StepwiseData.Completer real = StepwiseData.sampler(policy, tok, new dev.align4j.generate.SamplingConfig(6, 1.0, 0, 1.0, 3, List.of()), 16);
            StepwiseData.Completer spy = (prompts, m) -> { asked.addAll(prompts); List<String> out = real.complete(prompts, m); assertEquals(prompts.size() * m, out.size()); return out; };
            Task.Example ex = new Task.Example("10+5-3=", "12");
            List<Trajectory> t = StepwiseData.monteCarlo(new ChainTask(), List.of(new StepwiseData.Sampled(ex, "15;12", List.of("15", "12")),
                    new StepwiseData.Sampled(ex, "15;13", List.of("15", "13"))), ";", 3, Estimate.SOFT, spy);
            assertEquals(List.of("10+5-3=15;"), asked.stream().map(Task.Example::prompt).toList(), "one distinct prefix, continued after its separator");
            assertEquals(1.0, t.get(0).labels()[1], 0);
            assertEquals(0.0, t.get(1).labels()[1], 0);
            for (double y : t.get(0).labels()) assertTrue(y >= 0 && y <= 1);
        }
    }

    @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir;

    @Test
    void distinctKeepsEachCompletionOnceAndSkipsEmptyOnes() {
        List<Task.Example> prompts = List.of(new Task.Example("1+1+1=", "3"), new Task.Example("2+2+2=", "6"));
        List<String> texts = List.of("2;3", "2;3", "", "4;6", "4;7", "4;6");
        List<StepwiseData.Sampled> d = StepwiseData.distinct(prompts, texts, 3, ";");
        assertEquals(List.of("2;3", "4;6", "4;7"), d.stream().map(StepwiseData.Sampled::text).toList());
        assertEquals(List.of("4", "7"), d.get(2).steps());
        assertSame(prompts.get(1), d.get(2).example());
        assertNull(new dev.align4j.task.SortTask().goldStepLabels(prompts.get(0), "x"), "tasks without steps have no gold step labels");
        assertEquals(";", new ChainTask().stepSeparator());
    }
}
