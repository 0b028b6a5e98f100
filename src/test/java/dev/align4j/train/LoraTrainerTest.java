package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.*;
import dev.align4j.train.offline.Dpo;
import dev.align4j.train.offline.Sft;
import dev.align4j.train.online.Advantages;
import dev.align4j.train.online.Grpo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SFT, DPO and GRPO with LoRA adapters on a nano model: finite loss, every adapter tensor changed, every base weight
 * unchanged, the metric that should move moved; the reference is the base view; a resumed LoRA run ends exactly where an
 * uninterrupted one does.
 */
class LoraTrainerTest {
    @TempDir Path dir;

    /**
     * A small random base with initializer range 0.2 ({@link TestModels#llama}): LoRA leaves the embeddings, norms and head
     * frozen, and at HF's 0.02 the tied head's rows are so short that no adapter can make the logits differ by much.
     */
    static LlamaModel lora(long seed, Lora.Config c) {
        LlamaModel m = LlamaModel.init(TestModels.llama(Tokenizer.BUILTIN_VOCAB), seed, org.bytedeco.pytorch.global.torch.ScalarType.Float);
        m.attach(Lora.create(m, c, null, seed + 100));
        return m;
    }

    static final Lora.Config ALL = new Lora.Config(8, 16, 0.0, List.of("all-linear"), false, false);

    static Map<String, float[]> adapters(LlamaModel m) {
        Map<String, float[]> s = new LinkedHashMap<>();
        m.lora().parameters().forEach((k, t) -> s.put(k, Torch.toFloats(t)));
        return s;
    }

    static void assertAdaptersChangedBaseFrozen(Map<String, float[]> base, Map<String, float[]> ad, LlamaModel m) {
        for (var e : base.entrySet())
            assertArrayEquals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey())), e.getKey() + " (base) changed");
        for (var e : ad.entrySet())
            assertFalse(Arrays.equals(e.getValue(), Torch.toFloats(m.lora().parameters().get(e.getKey()))), e.getKey() + " did not change");
    }

    @Test
    void sftWithLoraLearnsOnlyTheAdapters() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        for (Lora.Config c : List.of(ALL, new Lora.Config(8, 16, 0.1, List.of("all-linear"), true, true))) {   // + rsLoRA, DoRA, dropout
            try (LlamaModel m = lora(1, c)) {
                Map<String, float[]> base = TrainerTest.snapshot(m), ad = adapters(m);
                Metrics metrics = Metrics.inMemory().quiet(true);
                Sft.Config cfg = Configs.with(Sft.Config.DEFAULTS, "steps", 30, "batchSize", 16, "lr", 2e-2, "warmupSteps", 3, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "seed", 0L);
                Sft.Result r = Sft.train(m, TrainerTest.copyTask(), cfg, new Session(tok, null, metrics, null, null));
                double[][] loss = metrics.series("sft", "loss");
                assertTrue(Double.isFinite(r.finalLoss()));
                assertTrue(loss[loss.length - 1][1] < 0.5 * loss[0][1], c + ": loss fell " + loss[0][1] + " -> " + loss[loss.length - 1][1]);
                assertAdaptersChangedBaseFrozen(base, ad, m);
            }
        }
    }

    @Test
    void dpoWithLoraUsesTheBaseAsReferenceWithoutACopy() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (LlamaModel m = lora(3, ALL); LlamaModel ref = m.reference()) {
            assertNull(ref.lora());
            assertEquals(m.parameters().get("model.embed_tokens.weight").data_ptr(), ref.parameters().get("model.embed_tokens.weight").data_ptr(), "shared, not copied");
            Map<String, float[]> base = TrainerTest.snapshot(m), ad = adapters(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(PreferenceLoss.Variant.SIGMOID), "beta", 0.1, "steps", 20, "batchSize", 16, "lr", 2e-2,
                    "warmupSteps", 2, "maxGradNorm", 10.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "seed", 0L);
            Dpo.train(m, ref, TrainerTest.pairs(), cfg, new Session(tok, null, metrics, null, null));
            double[][] margins = metrics.series("dpo", "rewards/margins"), loss = metrics.series("dpo", "loss");
            assertTrue(Double.isFinite(loss[loss.length - 1][1]));
            assertEquals(0.0, margins[0][1], 1e-4, "policy = base view at step 1 (B = 0), so the margin starts at 0");
            assertTrue(margins[margins.length - 1][1] > 0.05, "margin grew to " + margins[margins.length - 1][1]);
            assertAdaptersChangedBaseFrozen(base, ad, m);
        }
    }

    @Test
    void grpoWithLoraRaisesTheReward() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        TrainerTest.CountA task = new TrainerTest.CountA();
        List<dev.align4j.task.Task.Example> prompts = task.examples(dev.align4j.task.Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = lora(9, ALL); LlamaModel ref = m.reference()) {
            Map<String, float[]> base = TrainerTest.snapshot(m), ad = adapters(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Grpo.Config cfg = Configs.with(Grpo.Config.DEFAULTS, "steps", 25, "promptsPerStep", 4, "samplesPerPrompt", 8, "maxNewTokens", 4, "temperature", 1.0,
                    "updatesPerRollout", 2, "lr", 5e-2, "warmupSteps", 0, "beta", 0.01, "estimator", Advantages.Estimator.GRPO, "evalEvery", 0, "saveEvery", 0, "seed", 0L);
            Grpo.train(m, ref, dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task)), prompts, cfg, new Session(tok, null, metrics, null, null));
            double[][] reward = metrics.series(cfg.stage(), "reward"), loss = metrics.series(cfg.stage(), "loss"), kl = metrics.series(cfg.stage(), "kl");
            double early = (reward[0][1] + reward[1][1] + reward[2][1]) / 3, late = 0;
            for (int i = reward.length - 3; i < reward.length; i++) late += reward[i][1] / 3;
            assertTrue(Double.isFinite(loss[loss.length - 1][1]));
            assertTrue(late > early + 0.2, "reward rose from " + early + " to " + late);
            assertTrue(kl[kl.length - 1][1] > 0, "the adapted policy moved away from the base view");
            assertAdaptersChangedBaseFrozen(base, ad, m);
        }
    }

    @Test
    void loraResumeEndsWithTheSameAdaptersAndSavesOnlyTheAdapter() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        Lora.Config c = new Lora.Config(4, 8, 0.2, List.of("q_proj", "v_proj", "down_proj"), false, true);   // dropout: its draws must resume too
        Sft.Config full = Configs.with(Sft.Config.DEFAULTS, "steps", 12, "batchSize", 8, "lr", 1e-2, "warmupSteps", 2, "maxLength", 32, "evalEvery", 0, "saveEvery", 6, "keep", 3, "seed", 3L);
        Map<String, float[]> uninterrupted;
        try (LlamaModel m = lora(2, c)) {
            Sft.train(m, TrainerTest.copyTask(), full, new Session(tok, dir.resolve("a"), Metrics.inMemory().quiet(true), null, null));
            uninterrupted = adapters(m);
        }
        try (LlamaModel m = lora(2, c)) {
            Sft.Config crashing = Configs.with(full, "evalEvery", 1);
            assertThrows(IllegalStateException.class, () -> Sft.train(m, TrainerTest.copyTask(), crashing, new Session(tok, dir.resolve("b"),
                    Metrics.inMemory().quiet(true), step -> { if (step == 7) throw new IllegalStateException("killed"); return Map.of(); }, null)));
        }
        Path ck = dir.resolve("b/checkpoint-6");
        assertTrue(Files.exists(ck.resolve("adapter_model.safetensors")) && Files.exists(ck.resolve("adapter_config.json")));
        assertFalse(Files.exists(ck.resolve("model.safetensors")), "a LoRA checkpoint holds the adapter, not the base weights");
        Set<String> optimizerNames = dev.align4j.model.Safetensors.header(ck.resolve("optimizer.safetensors")).keySet();
        try (LlamaModel m = lora(2, c)) {
            Set<String> want = new TreeSet<>();
            m.lora().parameters().keySet().forEach(k -> { want.add("exp_avg." + k); want.add("exp_avg_sq." + k); });
            assertEquals(want, new TreeSet<>(optimizerNames), "optimizer state only for the adapters");
        }
        try (LlamaModel m = lora(2, new Lora.Config(4, 8, 0.2, List.of("q_proj", "v_proj", "down_proj"), false, true))) {
            try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope(); org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                m.lora().parameters().values().forEach(t -> t.normal_());   // garbage before the resume overwrites it
            }
            Sft.train(m, TrainerTest.copyTask(), full, new Session(tok, dir.resolve("b"), Metrics.inMemory().quiet(true), null, Path.of("")));
            for (var e : uninterrupted.entrySet())
                assertArrayEquals(e.getValue(), Torch.toFloats(m.lora().parameters().get(e.getKey())), 1e-6f, e.getKey());
        }
    }
}
