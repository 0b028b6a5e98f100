package dev.align4j.pipeline;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Rejection-sampling fine-tuning on a nano model: the kept samples train the policy and its reward rises. */
class RftTest {
    @TempDir Path dir;

    /** Say "a": the reward is the share of a's in the completion (a fresh model writes one in about 1 of 128 characters). */
    static final class SayA implements Task {
        public String name() { return "say-a"; }
        public String description() { return "say a"; }
        public Example sample(Random rng) { return new Example("go " + (char) ('b' + rng.nextInt(20)) + (char) ('b' + rng.nextInt(20)) + ":", "aaaa"); }
        public double reward(Example ex, String c) { return c.isEmpty() ? 0 : c.chars().filter(x -> x == 'a').count() / (double) c.length(); }
        public String demonstrate(Example ex, double errorRate, Random rng) { return "aaaa"; }
        public int maxCompletionChars() { return 4; }
    }

    static LlamaModel nano(long seed) {
        return LlamaModel.init(ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0), seed, ScalarType.Float);
    }

    static Map<String, float[]> snapshot(LlamaModel m) {
        Map<String, float[]> s = new LinkedHashMap<>();
        m.parameters().forEach((k, t) -> s.put(k, Torch.toFloats(t)));
        return s;
    }

    /** Mean reward of 8 samples (temperature 1) of each prompt. */
    static double sampledReward(LlamaModel m, Tokenizer tok, Task t, List<Task.Example> prompts) {
        return Arrays.stream(BestOfN.sample(m, tok, prompts, 8, new SamplingConfig(4, 1.0, 0, 1.0, 99, List.of()), 64,
                Rewards.Weighted.of(Rewards.gold(t))).rewards()).average().orElse(0);
    }

    @Test
    void twoIterationsTrainOnTheKeptSamplesAndTheRewardRises() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        SayA task = new SayA();
        List<Task.Example> train = task.examples(Task.Split.TRAIN, 200, 0), held = task.examples(Task.Split.TEST, 32, 1);
        try (LlamaModel m = nano(9)) {
            Map<String, float[]> before = snapshot(m);
            double start = sampledReward(m, tok, task, held);
            Metrics metrics = Metrics.inMemory().quiet(true);
            // keep samples with at least one a in four characters; each iteration's SFT starts from the base model (the default)
            Rft.Config cfg = Configs.with(Rft.Config.DEFAULTS, "iterations", 2, "samples", 16, "promptsPerIteration", 32, "maxNewTokens", 4,
                    "threshold", 0.25, "steps", 30, "lr", 1e-2, "warmupSteps", 0, "batchSize", 16);
            Rft.Result r = Rft.train(m, Rewards.Weighted.of(Rewards.gold(task)), train, task, cfg, new Session(tok, null, metrics, null, null));
            assertEquals(2, r.iterations().size());
            Map<String, Double> first = r.iterations().get(0), second = r.iterations().get(1);
            assertTrue(first.get("kept") > 0, "the first iteration kept samples: " + first);
            assertTrue(first.get("reward_kept") >= 0.25, "kept samples pass the threshold: " + first);
            assertTrue(Double.isFinite(first.get("sft_loss")) && Double.isFinite(second.get("sft_loss")), first + " " + second);
            // the second iteration samples from the first's policy, which was trained on the kept samples
            assertTrue(second.get("reward") > first.get("reward") + 0.1, "sampled reward rose from " + first.get("reward") + " to " + second.get("reward"));
            assertTrue(second.get("kept") > first.get("kept"), "more samples pass: " + first.get("kept") + " → " + second.get("kept"));
            double end = sampledReward(m, tok, task, held);
            assertTrue(end > start + 0.2, "held-out sampled reward rose from " + start + " to " + end);
            for (var e : before.entrySet())
                assertFalse(Arrays.equals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey()))), e.getKey() + " did not change");
            assertEquals(2, metrics.series("rft", "kept").length);
        }
    }

    @Test
    void anIterationThatKeepsNothingLeavesThePolicyAlone() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        SayA task = new SayA();
        try (LlamaModel m = nano(9)) {
            Map<String, float[]> before = snapshot(m);
            Rft.Config cfg = Configs.with(Rft.Config.DEFAULTS, "iterations", 1, "samples", 2, "promptsPerIteration", 8, "maxNewTokens", 4, "threshold", 2.0);
            Rft.Result r = Rft.train(m, Rewards.Weighted.of(Rewards.gold(task)), task.examples(Task.Split.TRAIN, 20, 0), task, cfg, Session.inMemory(tok));
            assertEquals(0.0, r.iterations().get(0).get("kept"));
            assertFalse(r.iterations().get(0).containsKey("sft_loss"));
            for (var e : before.entrySet()) assertArrayEquals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey())), e.getKey());
        }
    }
}
