package dev.align4j.pipeline;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.data.SftExample;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Sft;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The self-rewarding loop on a nano model: EFT makes the policy a judge, its own best-vs-worst pairs train it by DPO. */
class SelfRewardTest {
    @TempDir Path dir;

    /** A nano policy that answers "a" about half the time (SFT on demonstrations, half of them flawed). */
    static LlamaModel halfRight(Tokenizer tok, Task task, long seed) {
        LlamaModel m = RftTest.nano(seed);
        List<SftExample> demos = TaskData.demonstrations(task, 300, 0.5, seed);
        Sft.train(m, demos, Configs.with(Sft.Config.DEFAULTS, "steps", 30, "lr", 1e-2, "warmupSteps", 0, "batchSize", 16, "maxLength", 32),
                new Session(tok, null, Metrics.inMemory().quiet(true), null, null));
        return m;
    }

    @Test
    void llmSelfJudgeLearnsToJudgeAndDpoLearnsItsOwnPairs() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        LetterTask task = new LetterTask();
        try (LlamaModel m = halfRight(tok, task, 2)) {
            Map<String, float[]> before = RftTest.snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            SelfReward.Config cfg = Configs.with(SelfReward.Config.DEFAULTS, "iterations", 2, "samples", 4, "promptsPerIteration", 48, "steps", 15,
                    "lr", 2e-3, "warmupSteps", 0, "batchSize", 16, "eftSteps", 100, "eftPrompts", 100, "eftLr", 1e-2, "saveEvery", 0, "seed", 2L);
            SelfReward.Result r = SelfReward.train(m, null, task.examples(Task.Split.TRAIN, 300, 2), task, cfg, new Session(tok, null, metrics, null, null));
            assertEquals(2, r.iterations().size());
            Map<String, Double> first = r.iterations().get(0), second = r.iterations().get(1);
            assertTrue(first.get("judge_accuracy") >= 0 && first.get("judge_accuracy") <= 1, first.toString());
            assertTrue(first.get("pairs") > 0 && Double.isFinite(first.get("dpo_loss")) && Double.isFinite(second.get("dpo_loss")), first + " " + second);
            assertTrue(first.get("pair_accuracy") > 0.8, "EFT taught the policy to judge: its pairs put the right answer first: " + first);
            // DPO learned its own pairs (preference accuracy above chance), and on a task it judges right the policy stays right
            assertTrue(first.get("dpo_accuracy") > 0.6, "DPO separated its chosen from its rejected: " + first);
            assertTrue(second.get("gold_reward") > 0.7, "no self-deception on an easy task: " + second);
            for (var e : before.entrySet())
                assertFalse(Arrays.equals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey()))), e.getKey() + " did not change");
        }
    }

    @Test
    void metaJudgeAddsJudgePairsWhoseChosenVerdictIsMostlyTheGoldOne() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        LetterTask task = new LetterTask();
        try (LlamaModel m = halfRight(tok, task, 2)) {
            Metrics metrics = Metrics.inMemory().quiet(true);
            SelfReward.Config cfg = Configs.with(SelfReward.Config.DEFAULTS, "iterations", 1, "samples", 4, "promptsPerIteration", 48, "steps", 10,
                    "lr", 2e-3, "warmupSteps", 0, "batchSize", 16, "eftSteps", 100, "eftPrompts", 100, "eftLr", 1e-2, "saveEvery", 0, "seed", 2L,
                    "metaJudge", true, "judgments", 4);
            SelfReward.Result r = SelfReward.train(m, null, task.examples(Task.Split.TRAIN, 300, 2), task, cfg, new Session(tok, null, metrics, null, null));
            Map<String, Double> it = r.iterations().get(0);
            assertTrue(it.get("meta/pairs") >= 1 && it.get("meta/pairs") <= it.get("pairs"), "judge pairs, at most as many as actor pairs: " + it);
            // sampled judgments of a nano judge are noisy (P(Yes) of 0.6 vs 0.4 ranks well but samples near-coin-flips) ...
            assertTrue(it.get("meta/judgment_accuracy") >= 0 && it.get("meta/judgment_accuracy") <= 1, it.toString());
            // ... and the meta-judge, taught by EFT's gold rows, still prefers the judgment with the gold verdict (chance: ½)
            assertTrue(it.get("meta/pair_accuracy") > 0.75, "the meta-judge prefers the judgment with the gold verdict: " + it);
            assertTrue(Double.isFinite(it.get("dpo_loss")), it.toString());
        }
        assertThrows(dev.align4j.core.UserError.class, () -> Configs.with(SelfReward.Config.DEFAULTS, "metaJudge", true, "selfJudge", SelfReward.SelfJudge.IMPLICIT));
        assertThrows(dev.align4j.core.UserError.class, () -> Configs.with(SelfReward.Config.DEFAULTS, "metaJudge", true, "judgments", 1));
    }

    @Test
    void aCritiqueFirstJudgeWritesItsCritiqueBeforeTheVerdictAndSavesItsFormat() throws Exception {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        LetterTask task = new LetterTask();
        Path out = dir.resolve("out");
        try (LlamaModel m = halfRight(tok, task, 4)) {
            Metrics metrics = Metrics.inMemory().quiet(true);
            SelfReward.Config cfg = Configs.with(SelfReward.Config.DEFAULTS, "iterations", 1, "samples", 4, "promptsPerIteration", 16, "steps", 2,
                    "lr", 1e-3, "warmupSteps", 0, "batchSize", 16, "eftSteps", 20, "eftPrompts", 20, "eftLr", 1e-2, "seed", 4L,
                    "eftCritique", true, "metaJudge", true, "judgments", 2);
            SelfReward.Result r = SelfReward.train(m, null, task.examples(Task.Split.TRAIN, 100, 4), task, cfg, new Session(tok, out, metrics, null, null));
            Map<String, Double> it = r.iterations().get(0);
            assertTrue(it.get("judge_accuracy") >= 0 && it.get("judge_accuracy") <= 1 && it.containsKey("meta/pairs"), it.toString());
            // the checkpoint says how to read its judge: critique first, then the verdict
            assertTrue(dev.align4j.reward.GenerativeJudge.Format.read(r.lastCheckpoint()).critique(), "judge.json: critique");
        }
    }

    @Test
    void epochsSizeEachIterationsDpoByItsPairs() {
        SelfReward.Config steps = Configs.with(SelfReward.Config.DEFAULTS, "steps", 40, "batchSize", 16, "warmupSteps", 10);
        assertEquals(40, SelfReward.dpoConfig(steps, 0, 20).run().steps());                  // epochs 0: --steps, whatever the pairs
        SelfReward.Config epochs = Configs.with(steps, "dpoEpochs", 2.0);
        assertEquals(3, SelfReward.dpoConfig(epochs, 0, 20).run().steps());                  // ⌈2 · 20 / 16⌉ = ⌈2.5⌉ = 3
        assertEquals(1, SelfReward.dpoConfig(epochs, 0, 20).run().warmupSteps());            // min(10, 3 / 2) = 1
        assertEquals(25, SelfReward.dpoConfig(epochs, 0, 200).run().steps());                // ⌈2 · 200 / 16⌉ = 25
        assertEquals(10, SelfReward.dpoConfig(epochs, 0, 200).run().warmupSteps());          // min(10, 12) = 10
        assertEquals(1, SelfReward.dpoConfig(Configs.with(steps, "dpoEpochs", 0.1), 0, 3).run().steps());   // at least one step
        assertThrows(dev.align4j.core.UserError.class, () -> Configs.with(steps, "dpoEpochs", -1.0));
    }

    @Test
    void implicitSelfJudgeScoresByTheDpoImplicitRewardAgainstTheReference() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        LetterTask task = new LetterTask();
        try (LlamaModel ref = RftTest.nano(3); LlamaModel m = halfRight(tok, task, 3)) {
            Map<String, float[]> before = RftTest.snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            SelfReward.Config cfg = Configs.with(SelfReward.Config.DEFAULTS, "iterations", 2, "samples", 4, "promptsPerIteration", 32, "steps", 5,
                    "lr", 1e-3, "warmupSteps", 0, "batchSize", 16, "selfJudge", SelfReward.SelfJudge.IMPLICIT, "lengthControl", 0.2, "saveEvery", 0, "seed", 3L);
            SelfReward.Result r = SelfReward.train(m, ref, task.examples(Task.Split.TRAIN, 300, 3), task, cfg, new Session(tok, null, metrics, null, null));
            for (Map<String, Double> it : r.iterations()) {
                assertTrue(it.get("pairs") > 0 && Double.isFinite(it.get("dpo_loss")), it.toString());
                assertFalse(it.containsKey("judge_accuracy"), "the implicit reward has no verdict");
            }
            for (var e : before.entrySet())
                assertFalse(Arrays.equals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey()))), e.getKey() + " did not change");
            assertThrows(dev.align4j.core.UserError.class, () -> SelfReward.train(m, null, task.examples(Task.Split.TRAIN, 10, 3), task, cfg,
                    new Session(tok, null, Metrics.inMemory().quiet(true), null, null)));
        }
    }

    @Test
    void lengthControlPicksTheShortestNearBestAndTheLongestNearWorst() {
        // one prompt, four samples scored 1.0, 0.95, 0.1, 0.0 with lengths 5, 2, 7, 3 characters; rho = 0.1 → near-best ≥ 0.9, near-worst ≤ 0.1
        List<dev.align4j.generate.Completion> outs = List.of(c("aaaaa"), c("aa"), c("bbbbbbb"), c("bbb"));
        BestOfN.Samples s = new BestOfN.Samples(List.of(new Task.Example("p", "a")), 4, outs, new double[4]);
        double[] score = {1.0, 0.95, 0.1, 0.0};
        assertArrayEquals(new int[]{0, 3}, SelfReward.pair(score, s, 0, 0, 0), "plain: best vs worst");
        assertArrayEquals(new int[]{1, 2}, SelfReward.pair(score, s, 0, 0.1, 0), "length control: the shortest near-best, the longest near-worst");
        assertNull(SelfReward.pair(new double[]{0.5, 0.5, 0.5, 0.5}, s, 0, 0, 0), "all tied: no pair");
        assertNull(SelfReward.pair(score, s, 0, 0, 1.5), "gap 1.0 below min-gap 1.5");
    }

    static dev.align4j.generate.Completion c(String text) { return new dev.align4j.generate.Completion(new int[text.length()], text, new float[text.length()], "eos"); }
}
