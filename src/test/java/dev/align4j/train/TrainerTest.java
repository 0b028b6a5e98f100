package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.SftExample;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.*;
import dev.align4j.train.offline.*;
import dev.align4j.train.online.Advantages;
import dev.align4j.train.online.Grpo;
import dev.align4j.train.online.OnlineDpo;
import dev.align4j.train.online.Ppo;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/** Each trainer on a nano model: finite loss, every parameter changed, the metric that should move moved; exact resume. */
class TrainerTest {
    @TempDir Path dir;

    static LlamaModel nano(long seed) {
        return LlamaModel.init(ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0), seed, ScalarType.Float);
    }

    static Map<String, float[]> snapshot(LlamaModel m) {
        Map<String, float[]> s = new LinkedHashMap<>();
        m.parameters().forEach((k, t) -> s.put(k, Torch.toFloats(t)));
        return s;
    }

    static void assertAllChanged(Map<String, float[]> before, LlamaModel m) {
        for (var e : before.entrySet())
            assertFalse(Arrays.equals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey()))), e.getKey() + " did not change");
    }

    static List<SftExample> copyTask() {
        List<SftExample> d = new ArrayList<>();
        for (int i = 0; i < 40; i++) d.add(new SftExample("copy " + (char) ('a' + i % 20) + ":", String.valueOf((char) ('a' + i % 20))));
        return d;
    }

    @Test
    void sftLearnsAndChangesEveryParameter() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (LlamaModel m = nano(1)) {
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Sft.Config cfg = Configs.with(Sft.Config.DEFAULTS, "steps", 30, "batchSize", 16, "gradAccum", 2, "lr", 1e-2, "weightDecay", 0.01, "warmupSteps", 3, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
            Sft.Result r = Sft.train(m, copyTask(), cfg, new Session(tok, null, metrics, null, null));
            double[][] loss = metrics.series("sft", "loss");
            assertTrue(Double.isFinite(r.finalLoss()));
            assertTrue(loss[loss.length - 1][1] < 0.5 * loss[0][1], "loss fell: " + loss[0][1] + " -> " + loss[loss.length - 1][1]);
            assertAllChanged(before, m);
        }
    }

    @Test
    void sftWithGradientCheckpointingEndsWithTheSameWeights() {
        // the loop's backward runs the checkpointed blocks (model.Recompute): 8 updates with 2 micro-batches each end
        // where the plain backward does, and the flag reaches the trained model
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        Sft.Config plain = Configs.with(Sft.Config.DEFAULTS, "steps", 8, "batchSize", 8, "gradAccum", 2, "lr", 5e-3, "weightDecay", 0.01, "warmupSteps", 2, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 3L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
        Map<String, float[]> reference;
        try (LlamaModel m = nano(2)) {
            Sft.train(m, copyTask(), plain, new Session(tok, null, Metrics.inMemory().quiet(true), null, null));
            assertFalse(m.gradientCheckpointing());
            reference = snapshot(m);
        }
        try (LlamaModel m = nano(2)) {
            Map<String, float[]> before = snapshot(m);
            Sft.train(m, copyTask(), Configs.with(plain, "gradientCheckpointing", true), new Session(tok, null, Metrics.inMemory().quiet(true), null, null));
            assertTrue(m.gradientCheckpointing());
            assertAllChanged(before, m);
            for (var e : reference.entrySet())
                assertArrayEquals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey())), 1e-6f, e.getKey());
        }
    }

    @Test
    void sftResumeFromACheckpointEndsWithTheSameWeights() throws Exception {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        Sft.Config full = Configs.with(Sft.Config.DEFAULTS, "steps", 12, "batchSize", 8, "gradAccum", 1, "lr", 5e-3, "weightDecay", 0.01, "warmupSteps", 2, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 6, "keep", 3, "seed", 3L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
        Map<String, float[]> uninterrupted;
        try (LlamaModel m = nano(2)) {
            Sft.train(m, copyTask(), full, new Session(tok, dir.resolve("a"), Metrics.inMemory().quiet(true), null, null));
            uninterrupted = snapshot(m);
        }
        // the same run crashes during step 7 (after checkpoint-6 was written); a fresh process resumes from it
        try (LlamaModel m = nano(2)) {
            Sft.Config crashing = Configs.with(Sft.Config.DEFAULTS, "steps", 12, "batchSize", 8, "gradAccum", 1, "lr", 5e-3, "weightDecay", 0.01, "warmupSteps", 2, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 1, "saveEvery", 6, "keep", 3, "seed", 3L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
            assertThrows(IllegalStateException.class, () -> Sft.train(m, copyTask(), crashing, new Session(tok, dir.resolve("b"), Metrics.inMemory().quiet(true), step -> { if (step == 7) throw new IllegalStateException("killed"); return Map.of(); }, null)));
        }
        assertTrue(Files.exists(dir.resolve("b/checkpoint-6/optimizer.safetensors")));
        try (LlamaModel m = nano(99)) {
            Sft.train(m, copyTask(), full, new Session(tok, dir.resolve("b"), Metrics.inMemory().quiet(true), null, Path.of("")));   // resume the newest checkpoint
            for (var e : uninterrupted.entrySet())
                assertArrayEquals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey())), 1e-6f, e.getKey());
        }
        // checkpoints are complete model directories, and only `keep` are kept
        assertEquals(List.of("checkpoint-6", "checkpoint-12"), Checkpoints.list(dir.resolve("a")).stream().map(p -> p.getFileName().toString()).toList());
        Checkpoints.prune(dir.resolve("a"), 1);
        assertEquals(List.of("checkpoint-12"), Checkpoints.list(dir.resolve("a")).stream().map(p -> p.getFileName().toString()).toList());
        try (HfModel.Loaded l = HfModel.load(dir.resolve("a/checkpoint-12"), ScalarType.Float)) {
            assertEquals(uninterrupted.keySet(), l.model().parameters().keySet());
        }
    }

    static List<PreferencePair> pairs() {
        List<PreferencePair> d = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            char c = (char) ('a' + i % 16);
            d.add(new PreferencePair("say " + c + ":", c + "" + c, "zz"));
        }
        return d;
    }

    @Test
    void dpoSeparatesChosenFromRejectedForEveryVariant() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        for (PreferenceLoss.Variant v : PreferenceLoss.Variant.values()) {
            if (v.referenceFree()) continue;   // see referenceFreeLossesTrainWithoutAReference
            if (v.needsAdvantages()) continue; // step_apo trains on step pairs with advantages: pipeline.MctsTest
            try (LlamaModel m = nano(3); LlamaModel ref = m.copy(ScalarType.Float)) {
                Map<String, float[]> before = snapshot(m);
                Metrics metrics = Metrics.inMemory().quiet(true);
                Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(v), "lossWeights", List.of(), "beta", v == PreferenceLoss.Variant.IPO ? 0.5 : 0.1, "labelSmoothing", v == PreferenceLoss.Variant.ROBUST ? 0.1 : 0, "rpoAlpha", 0, "steps", 20, "batchSize", 16, "gradAccum", 1, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2, "maxGradNorm", 10.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP, "simpoGamma", 0.5);
                Dpo.train(m, ref, pairs(), cfg, new Session(tok, null, metrics, null, null));
                double[][] margins = metrics.series("dpo", "rewards/margins");
                double[][] loss = metrics.series("dpo", "loss");
                double last = margins[margins.length - 1][1];
                assertTrue(Double.isFinite(loss[loss.length - 1][1]), v + " loss");
                assertTrue(loss[loss.length - 1][1] < loss[0][1], v + ": loss fell " + loss[0][1] + " -> " + loss[loss.length - 1][1]);
                assertEquals(0.0, margins[0][1], 1e-4, v + ": policy = reference at step 1, so the margin starts at 0");
                if (v == PreferenceLoss.Variant.DISCOPOP) {
                    // DiscoPOP is non-convex: at βh = 0, dL/dx = −(m/τ)(1−m)·ln2 − (1−m)/2 + (m/τ)(1−m) − m
                    //   = −5·0.693 − 0.25 + 5 − 0.5 = +0.78 > 0, so the margin first moves down, to the stationary
                    //   point near βh ≈ −0.15 where the logistic term takes over (dL/dx(−0.2) ≈ −0.41 < 0).
                    assertTrue(last < 0 && last > -0.3, "DiscoPOP settles near its negative stationary point: " + last);
                } else {
                    assertTrue(last > 0.05, v + ": margin grew to " + last);
                    double[][] acc = metrics.series("dpo", "rewards/accuracies");
                    assertTrue(acc[acc.length - 1][1] > 0.9, v + ": accuracy " + acc[acc.length - 1][1]);
                }
                assertAllChanged(before, m);
            }
        }
    }

    @Test
    void dpoCombinesLossesAndAddsRpoNll() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (LlamaModel m = nano(4); LlamaModel ref = m.copy(ScalarType.Float)) {
            Metrics metrics = Metrics.inMemory().quiet(true);
            Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(PreferenceLoss.Variant.SIGMOID, PreferenceLoss.Variant.HINGE), "lossWeights", List.of(1.0, 0.5), "beta", 0.1, "labelSmoothing", 0, "rpoAlpha", 1.0, "steps", 1, "batchSize", 16, "gradAccum", 1, "lr", 1e-3, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP, "simpoGamma", 0.5);
            Dpo.train(m, ref, pairs(), cfg, new Session(tok, null, metrics, null, null));
            Map<String, Double> row = metrics.rows().get(0).values();
            // step 1: policy = reference ⇒ h = 0 ⇒ sigmoid = log 2, hinge = 1 ⇒ 1·0.693147 + 0.5·1 + NLL
            assertEquals(Math.log(2) + 0.5 + row.get("nll_loss"), row.get("loss"), 1e-4);
        }
    }

    @Test
    void adamWMatchesTheFormulaOnOneStep() {
        try (PointerScope s = new PointerScope()) {
            Tensor p = Torch.floats(new float[]{1f, -2f, 0.5f, 3f}, 2, 2).requires_grad_(true);
            p.mul(p).sum().backward();                    // grad = 2p = [2, −4, 1, 6]
            AdamW opt = new AdamW(Map.of("w", p), 0.9, 0.999, 1e-8, 0.1);
            opt.step(0.01);
            // step 1: m̂ = g, v̂ = g² ⇒ update = g/|g| = sign(g); decay first: p·(1 − 0.01·0.1) = 0.999·p
            // p' = 0.999·p − 0.01·sign(g) = [0.989, −1.988, 0.4895, 2.987]
            assertArrayEquals(new float[]{0.989f, -1.988f, 0.4895f, 2.987f}, Torch.toFloats(p), 1e-5f);
        }
    }

    @Test
    void scheduleWarmsUpThenDecays() {
        LrSchedule s = new LrSchedule(1.0, 10, 110, 0.1);
        assertEquals(0.1, s.at(1), 1e-12);        // 1/10 of the peak
        assertEquals(1.0, s.at(10), 1e-12);       // peak at the end of warm-up
        assertEquals(0.55, s.at(60), 1e-12);      // half way: 0.1 + 0.9·0.5·(1 + cos(π/2)) = 0.55
        assertEquals(0.1, s.at(110), 1e-12);      // floor
    }

    @Test
    void clippingScalesToTheMaxNorm() {
        try (PointerScope s = new PointerScope()) {
            Tensor a = Torch.floats(new float[]{3f}, 1).requires_grad_(true), b = Torch.floats(new float[]{4f}, 1).requires_grad_(true);
            a.mul(a).add(b.mul(b)).div(Torch.s(2.0)).sum().backward();   // grads (3, 4): norm 5
            AdamW opt = new AdamW(Map.of("a", a, "b", b), 0);
            assertEquals(5.0, opt.clipGradNorm(1.0), 1e-5);
            assertEquals(0.6, Torch.item(a.grad()), 1e-5);
            assertEquals(0.8, Torch.item(b.grad()), 1e-5);
        }
    }

    @Test
    void rewardModelLearnsToRankAndSavesAsSequenceClassifier() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (LlamaModel base = nano(5); LlamaModel rm = base.withScoreHead(1, 5)) {
            Map<String, float[]> before = snapshot(rm);
            Metrics metrics = Metrics.inMemory().quiet(true);
            RewardModel.Config cfg = Configs.with(RewardModel.Config.DEFAULTS, "centering", 0.01, "steps", 25, "batchSize", 16, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
            RewardModel.train(rm, pairs(), cfg, new Session(tok, dir.resolve("rm"), metrics, null, null));
            double[][] acc = metrics.series("reward", "accuracy");
            double[][] loss = metrics.series("reward", "loss");
            assertTrue(Double.isFinite(loss[loss.length - 1][1]));
            assertTrue(loss[loss.length - 1][1] < loss[0][1], "loss fell");
            assertTrue(acc[acc.length - 1][1] > 0.9, "train accuracy " + acc[acc.length - 1][1]);
            assertEquals(1.0, RewardModel.evaluate(rm, tok, pairs(), 32)[0], 1e-9, "ranks every pair");
            assertAllChanged(before, rm);
            try (HfModel.Loaded l = HfModel.load(dir.resolve("rm/checkpoint-25"), ScalarType.Float)) {
                assertEquals("LlamaForSequenceClassification", l.model().config.architecture());
                assertEquals(1.0, RewardModel.evaluate(l.model(), tok, pairs(), 32)[0], 1e-9, "the saved model scores the same");
            }
        }
    }

    @Test
    void multiHeadRewardModelLearnsEachObjectiveItsOwnWay() {
        // objective "match" prefers the echoed letter; objective "long" prefers the longer answer, which is the
        // rejected one in half the pairs and a tie (left out) in the other half: one scalar head cannot fit both
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        List<PreferencePair.Scored> data = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            char c = (char) ('a' + i % 16);
            String rejected = i % 2 == 0 ? "zzz" : "zz";
            data.add(new PreferencePair.Scored(new PreferencePair("say " + c + ":", c + "" + c, rejected),
                    new double[]{1, 2}, new double[]{0, rejected.length()}));
        }
        try (LlamaModel base = nano(7); LlamaModel rm = base.withScoreHead(2, 7)) {
            Map<String, float[]> before = snapshot(rm);
            Metrics metrics = Metrics.inMemory().quiet(true);
            RewardModel.Config cfg = Configs.with(RewardModel.Config.DEFAULTS, "centering", 0.0, "steps", 30, "batchSize", 16, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
            RewardModel.trainScored(rm, data, List.of("match", "long"), cfg, new Session(tok, dir.resolve("rm2"), metrics, null, null));
            double[][] loss = metrics.series("reward", "loss");
            assertTrue(Double.isFinite(loss[loss.length - 1][1]));
            assertTrue(loss[loss.length - 1][1] < loss[0][1], "loss fell");
            assertTrue(metrics.series("reward", "accuracy/long").length > 0, "per-objective accuracy is logged");
            double[][] acc = RewardModel.evaluateScored(rm, tok, data, 32);
            assertEquals(1.0, acc[0][0], 1e-9, "head 0 ranks the echo first");
            assertEquals(1.0, acc[1][0], 1e-9, "head 1 ranks the longer answer first (16 decided pairs)");
            assertTrue(acc[0][1] > 0 && acc[1][1] > 0, "positive oriented margins");
            assertAllChanged(before, rm);
            try (HfModel.Loaded l = HfModel.load(dir.resolve("rm2/checkpoint-30"), ScalarType.Float)) {
                assertEquals(2, l.model().config.numLabels());
            }
            assertThrows(dev.align4j.core.UserError.class, () -> RewardModel.trainScored(rm, data, List.of("match"), cfg, new Session(tok, dir.resolve("rm3"), Metrics.inMemory().quiet(true), null, null)), "2 heads, 1 objective");
        }
    }

    /** The pairs as thumbs: chosen up, rejected down. */
    static List<dev.align4j.data.UnpairedExample> unpaired() {
        List<dev.align4j.data.UnpairedExample> data = new ArrayList<>();
        for (PreferencePair p : pairs()) {
            data.add(new dev.align4j.data.UnpairedExample(p.prompt(), p.chosen(), true));
            data.add(new dev.align4j.data.UnpairedExample(p.prompt(), p.rejected(), false));
        }
        return data;
    }

    @Test
    void ktoRaisesDesirableAndLowersUndesirable() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        List<dev.align4j.data.UnpairedExample> data = unpaired();
        try (LlamaModel m = nano(6); LlamaModel ref = m.copy(ScalarType.Float)) {
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Kto.Config cfg = Configs.with(Kto.Config.DEFAULTS, "beta", 0.1, "desirableWeight", 1.0, "undesirableWeight", 1.0, "steps", 20, "batchSize", 16, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2, "maxGradNorm", 10.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
            Kto.train(m, ref, data, cfg, new Session(tok, null, metrics, null, null));
            double[][] loss = metrics.series("kto", "loss"), margins = metrics.series("kto", "rewards/margins");
            assertTrue(Double.isFinite(loss[loss.length - 1][1]));
            assertTrue(loss[loss.length - 1][1] < loss[0][1], "loss fell");
            assertTrue(margins[margins.length - 1][1] > 0.05, "desirable rewards rose above undesirable: " + margins[margins.length - 1][1]);
            assertAllChanged(before, m);
        }
    }

    @Test
    void listwiseTrainersOrderTheList() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        List<dev.align4j.data.RankedList> data = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            char c = (char) ('a' + i);
            data.add(dev.align4j.data.RankedList.ordered("say " + c + ":", List.of("zz", c + "" + c, "q"), new double[]{0, 2, 1}));
        }
        for (dev.align4j.loss.ListwiseLoss.Variant v : dev.align4j.loss.ListwiseLoss.Variant.values()) {
            try (LlamaModel m = nano(7); LlamaModel ref = m.copy(ScalarType.Float)) {
                Map<String, float[]> before = snapshot(m);
                Metrics metrics = Metrics.inMemory().quiet(true);
                Listwise.Config cfg = Configs.with(Listwise.Config.DEFAULTS, "loss", v, "beta", 0.1, "nllWeight", 1.0, "steps", 20, "batchSize", 8, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2, "maxGradNorm", 10.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
                Listwise.train(m, ref, data, cfg, new Session(tok, null, metrics, null, null));
                double[][] loss = metrics.series("listwise", "loss"), acc = metrics.series("listwise", "rewards/accuracies");
                assertTrue(Double.isFinite(loss[loss.length - 1][1]), v.name());
                assertTrue(loss[loss.length - 1][1] < loss[0][1], v + ": loss fell");
                assertTrue(acc[acc.length - 1][1] > 0.9, v + ": ordered pairs agree " + acc[acc.length - 1][1]);
                assertAllChanged(before, m);
            }
        }
    }

    @Test
    void modpoTrainsWithMargins() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        List<PreferencePair> data = pairs();
        double[] margins = new double[data.size()];
        Arrays.fill(margins, 0.05);
        try (LlamaModel m = nano(8); LlamaModel ref = m.copy(ScalarType.Float)) {
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(PreferenceLoss.Variant.SIGMOID), "lossWeights", List.of(), "beta", 0.1, "labelSmoothing", 0, "rpoAlpha", 0, "steps", 20, "batchSize", 16, "gradAccum", 1, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2, "maxGradNorm", 10.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP, "simpoGamma", 0.5);
            Dpo.train(m, ref, new Dpo.Modpo(data, margins, 0.6), cfg, new Session(tok, null, metrics, null, null));
            double[][] loss = metrics.series("dpo", "loss"), margin = metrics.series("dpo", "rewards/margins");
            // step 1: h = 0 ⇒ −log σ((0 − 0.05)/0.6) = log(1 + e^{0.083333}) = 0.735682
            assertEquals(0.735682, loss[0][1], 1e-4);
            assertTrue(margin[margin.length - 1][1] > 0.05, "margin grew");
            assertAllChanged(before, m);
        }
    }

    /** A nano task for online RL: the reward is the share of 'a' characters in the completion. */
    static final class CountA implements dev.align4j.task.Task {
        public String name() { return "count-a"; }
        public String description() { return "say a lot of a"; }
        public Example sample(Random rng) { return new Example("go " + (char) ('b' + rng.nextInt(20)) + ":", "aaaa"); }
        public double reward(Example ex, String completion) {
            if (completion.isEmpty()) return 0;
            return completion.chars().filter(c -> c == 'a').count() / (double) completion.length();
        }
        public String demonstrate(Example ex, double errorRate, Random rng) { return "aaaa"; }
        public int maxCompletionChars() { return 4; }
    }

    static double earlyLate(double[][] series, boolean late) {
        double s = 0;
        for (int i = 0; i < 3; i++) s += series[late ? series.length - 1 - i : i][1] / 3;
        return s;
    }

    @Test
    void ppoRaisesTheRewardTrainsTheCriticAndCheckpointsIt() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<dev.align4j.task.Task.Example> prompts = task.examples(dev.align4j.task.Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float); LlamaModel critic = m.withScoreHead(1, 5)) {
            Map<String, float[]> before = snapshot(m), criticBefore = snapshot(critic);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Ppo.Config cfg = Configs.with(Ppo.Config.DEFAULTS, "steps", 25, "promptsPerStep", 4, "samplesPerPrompt", 4, "maxNewTokens", 4, "temperature", 1.0, "epochs", 2, "miniBatches", 2, "lr", 2e-2, "criticLr", 2e-2, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "clip", 0.2, "valueClip", 0.2, "gamma", 1.0, "lambda", 0.95, "whiten", true, "beta", 0.01, "klTarget", 1.0, "klHorizon", 1000L, "sharedTrunk", false, "vfCoef", 0.1, "evalEvery", 0, "saveEvery", 25, "keep", 1, "seed", 0L, "onNonFinite", NonFinite.STOP);
            Ppo.Result r = Ppo.train(m, critic, ref, dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task)), prompts, cfg, new Session(tok, dir.resolve("ppo"), metrics, null, null));
            double[][] reward = metrics.series("ppo", "reward"), vloss = metrics.series("ppo", "value_loss");
            assertTrue(earlyLate(reward, true) > earlyLate(reward, false) + 0.2, "reward rose from " + earlyLate(reward, false) + " to " + earlyLate(reward, true));
            assertTrue(Double.isFinite(metrics.series("ppo", "loss")[24][1]) && Double.isFinite(vloss[24][1]));
            assertTrue(earlyLate(vloss, true) < earlyLate(vloss, false), "the critic learned: value loss " + earlyLate(vloss, false) + " → " + earlyLate(vloss, true));
            assertNotEquals(0.01, r.finalBeta(), "the adaptive controller moved beta");
            assertAllChanged(before, m);
            assertAllChanged(criticBefore, critic);
            assertTrue(Files.exists(dir.resolve("ppo/checkpoint-25/critic/model.safetensors")) && Files.exists(dir.resolve("ppo/checkpoint-25/critic/optimizer.safetensors")));
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void ppoWithAnHlGaussCriticLearnsItsValuesAndSavesItsSupport() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<dev.align4j.task.Task.Example> prompts = task.examples(dev.align4j.task.Task.Split.TRAIN, 20, 0);
        Ppo.Config cfg = Configs.with(Ppo.Config.DEFAULTS, "steps", 25, "promptsPerStep", 4, "samplesPerPrompt", 4, "maxNewTokens", 4, "temperature", 1.0, "epochs", 2, "miniBatches", 2, "lr", 2e-2, "criticLr", 2e-2, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "beta", 0.01, "saveEvery", 25, "keep", 1, "seed", 0L,
                "valueLoss", "hl-gauss", "valueBins", 11, "valueRange", List.of(-0.5, 1.5));
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float); LlamaModel critic = m.withScoreHead(cfg.value().labels(), 5)) {
            assertEquals(11, critic.config.numLabels());
            Map<String, float[]> before = snapshot(m), criticBefore = snapshot(critic);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Ppo.train(m, critic, ref, dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task)), prompts, cfg, new Session(tok, dir.resolve("hl"), metrics, null, null));
            double[][] reward = metrics.series("ppo", "reward"), vloss = metrics.series("ppo", "value_loss"), ev = metrics.series("ppo", "explained_variance");
            assertTrue(earlyLate(reward, true) > earlyLate(reward, false) + 0.2, "reward rose from " + earlyLate(reward, false) + " to " + earlyLate(reward, true));
            assertTrue(Double.isFinite(vloss[24][1]), "finite cross-entropy");
            assertTrue(earlyLate(vloss, true) < earlyLate(vloss, false), "the critic learned: cross-entropy " + earlyLate(vloss, false) + " → " + earlyLate(vloss, true));
            assertTrue(earlyLate(ev, true) > earlyLate(ev, false), "its expected values explain more of the returns: " + earlyLate(ev, false) + " → " + earlyLate(ev, true));
            assertAllChanged(before, m);
            assertAllChanged(criticBefore, critic);
            assertEquals(cfg.value(), dev.align4j.loss.ValueLoss.Head.readFrom(dir.resolve("hl/checkpoint-25/critic")), "the critic's support is saved beside it");
            // the saved critic is a value model that guided decoding can load (--guide value:DIR/checkpoint-25/critic)
            try (var v = dev.align4j.reward.ValueScorer.load(dir.resolve("hl/checkpoint-25/critic"), ScalarType.Float)) {
                double[] s = v.score(List.of(prompts.get(0).prompt()), List.of("aa"));
                assertTrue(s[0] >= -0.5 && s[0] <= 1.5, "an expectation over the support [-0.5, 1.5]: " + s[0]);
            }
        }
    }

    static float[] valueHead(Path checkpoint) {
        Map<String, float[]> w = new LinkedHashMap<>();
        Safetensors.read(checkpoint.resolve(Ppo.VALUE_HEAD_FILE), ScalarType.Float, (k, t) -> { w.put(k, Torch.toFloats(t)); t.close(); });
        return w.get(Ppo.VALUE_HEAD);
    }

    @Test
    void ppoWithASharedTrunkTrainsPolicyAndValueHeadTogetherAndResumesExactly() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<dev.align4j.task.Task.Example> prompts = task.examples(dev.align4j.task.Task.Split.TRAIN, 20, 0);
        var reward = dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task));
        Ppo.Config cfg = Configs.with(Ppo.Config.DEFAULTS, "steps", 25, "promptsPerStep", 4, "samplesPerPrompt", 4, "maxNewTokens", 4, "temperature", 1.0, "epochs", 2, "miniBatches", 2, "lr", 2e-2, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "clip", 0.2, "valueClip", 0.2, "gamma", 1.0, "lambda", 0.95, "whiten", true, "beta", 0.01, "klTarget", 1.0, "klHorizon", 1000L, "sharedTrunk", true, "vfCoef", 0.5, "evalEvery", 0, "saveEvery", 5, "keep", 10, "seed", 0L, "onNonFinite", NonFinite.STOP);
        float[] headBefore;
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float)) {
            try (Tensor h = Ppo.newValueHead(m, cfg.run().seed())) { headBefore = Torch.toFloats(h); }
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Ppo.train(m, null, ref, reward, prompts, cfg, new Session(tok, dir.resolve("a"), metrics, null, null));
            double[][] r = metrics.series("ppo", "reward"), vloss = metrics.series("ppo", "value_loss");
            assertTrue(earlyLate(r, true) > earlyLate(r, false) + 0.2, "reward rose from " + earlyLate(r, false) + " to " + earlyLate(r, true));
            assertTrue(Double.isFinite(metrics.series("ppo", "loss")[24][1]) && Double.isFinite(vloss[24][1]));
            assertTrue(earlyLate(vloss, true) < earlyLate(vloss, false), "the value head learned: value loss " + earlyLate(vloss, false) + " → " + earlyLate(vloss, true));
            assertAllChanged(before, m);
            assertFalse(Arrays.equals(headBefore, valueHead(dir.resolve("a/checkpoint-25"))), "the value head changed");
            assertFalse(Files.exists(dir.resolve("a/checkpoint-25/critic")), "no separate critic");
        }
        // resume from step 10 in a fresh directory: the same policy, value head and Adam moments as the uninterrupted run
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float)) {
            Path b = dir.resolve("b");
            copyTree(dir.resolve("a/checkpoint-10"), b.resolve("checkpoint-10"));
            Ppo.train(m, null, ref, reward, prompts, cfg, new Session(tok, b, Metrics.inMemory().quiet(true), null, Path.of("")));
            Map<String, float[]> a = snapshotOf(dir.resolve("a/checkpoint-25"));
            a.forEach((k, v) -> assertArrayEquals(v, Torch.toFloats(m.parameters().get(k)), k + " differs after resume"));
            assertArrayEquals(valueHead(dir.resolve("a/checkpoint-25")), valueHead(b.resolve("checkpoint-25")), "value head differs after resume");
        }
        // resuming one kind of value function as the other is a user error that says which the checkpoint holds
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float); LlamaModel critic = m.withScoreHead(1, 5)) {
            Ppo.Config separate = Configs.with(Ppo.Config.DEFAULTS, "steps", 5, "promptsPerStep", 4, "samplesPerPrompt", 4, "maxNewTokens", 4, "temperature", 1.0, "epochs", 2, "miniBatches", 2, "lr", 2e-2, "criticLr", 2e-2, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "clip", 0.2, "valueClip", 0.2, "gamma", 1.0, "lambda", 0.95, "whiten", true, "beta", 0.01, "klTarget", 1.0, "klHorizon", 1000L, "sharedTrunk", false, "vfCoef", 0.1, "evalEvery", 0, "saveEvery", 5, "keep", 10, "seed", 0L, "onNonFinite", NonFinite.STOP);
            dev.align4j.core.UserError e = assertThrows(dev.align4j.core.UserError.class, () -> Ppo.train(m, critic, ref, reward, prompts, separate, new Session(tok, dir.resolve("a"), Metrics.inMemory().quiet(true), null, dir.resolve("a/checkpoint-25"))));
            assertTrue(e.getMessage().contains("critic/") && e.getMessage().contains("shared-trunk"), e.getMessage());
            Ppo.train(m, critic, ref, reward, prompts, separate, new Session(tok, dir.resolve("c"), Metrics.inMemory().quiet(true), null, null));
            e = assertThrows(dev.align4j.core.UserError.class, () -> Ppo.train(m, null, ref, reward, prompts, cfg, new Session(tok, dir.resolve("c"), Metrics.inMemory().quiet(true), null, dir.resolve("c/checkpoint-5"))));
            assertTrue(e.getMessage().contains(Ppo.VALUE_HEAD_FILE) && e.getMessage().contains("separate critic"), e.getMessage());
        }
    }

    static void copyTree(Path from, Path to) {
        try (var s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t); else Files.copy(p, t);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Map<String, float[]> snapshotOf(Path checkpoint) {
        Map<String, float[]> w = new LinkedHashMap<>();
        Safetensors.read(checkpoint.resolve("model.safetensors"), ScalarType.Float, (k, t) -> { w.put(k, Torch.toFloats(t)); t.close(); });
        return w;
    }

    @Test
    void onlineDpoRaisesTheReward() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<dev.align4j.task.Task.Example> prompts = task.examples(dev.align4j.task.Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float)) {
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            OnlineDpo.Config cfg = Configs.with(OnlineDpo.Config.DEFAULTS, "steps", 40, "promptsPerStep", 16, "maxNewTokens", 4, "temperature", 1.0, "loss", dev.align4j.loss.PreferenceLoss.Variant.SIGMOID, "beta", 0.1, "labelSmoothing", 0, "lr", 1e-2, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", NonFinite.STOP);
            OnlineDpo.train(m, ref, dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task)), prompts, cfg, new Session(tok, null, metrics, null, null));
            double[][] reward = metrics.series("online-dpo", "reward"), margins = metrics.series("online-dpo", "rewards/margins");
            assertTrue(earlyLate(reward, true) > earlyLate(reward, false) + 0.2, "reward rose from " + earlyLate(reward, false) + " to " + earlyLate(reward, true));
            assertTrue(earlyLate(margins, true) > 0, "chosen completions gained on rejected ones");
            assertTrue(Double.isFinite(metrics.series("online-dpo", "loss")[margins.length - 1][1]));
            assertAllChanged(before, m);
        }
    }

    @Test
    void grpoRlooAndReinforcePlusPlusRaiseTheReward() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<dev.align4j.task.Task.Example> prompts = task.examples(dev.align4j.task.Task.Split.TRAIN, 20, 0);
        for (Advantages.Estimator est : Advantages.Estimator.values()) {
            try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float)) {
                Map<String, float[]> before = snapshot(m);
                Metrics metrics = Metrics.inMemory().quiet(true);
                Grpo.Config cfg = Configs.with(Grpo.Config.DEFAULTS, "steps", 25, "promptsPerStep", 4, "samplesPerPrompt", 8, "maxNewTokens", 4, "temperature", 1.0, "updatesPerRollout", 2, "lr", 2e-2, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "epsLow", 0.2, "epsHigh", 0.28, "beta", 0.01, "kl", dev.align4j.loss.PolicyLoss.KlEstimator.K3, "estimator", est, "scale", Advantages.Scale.GROUP, "aggregation", dev.align4j.loss.PolicyLoss.Aggregation.TOKEN_MEAN, "sequenceRatio", false, "dynamicSampling", true, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP);
                Grpo.train(m, ref, dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task)), prompts, cfg, new Session(tok, null, metrics, null, null));
                String stage = cfg.stage();
                double[][] reward = metrics.series(stage, "reward"), loss = metrics.series(stage, "loss"), kl = metrics.series(stage, "kl");
                double early = (reward[0][1] + reward[1][1] + reward[2][1]) / 3, late = 0;
                for (int i = reward.length - 3; i < reward.length; i++) late += reward[i][1] / 3;
                assertTrue(Double.isFinite(loss[loss.length - 1][1]), est.name());
                assertTrue(late > early + 0.2, est + ": reward rose from " + early + " to " + late);
                assertTrue(kl[kl.length - 1][1] > 0, est + ": the policy moved away from the reference");
                assertAllChanged(before, m);
            }
        }
    }

    @Test
    void grpoObjectivesCispoSapoVespoAndLuspoRaiseTheReward() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<dev.align4j.task.Task.Example> prompts = task.examples(dev.align4j.task.Task.Split.TRAIN, 20, 0);
        record Case(String name, PolicyLoss.Objective objective, PolicyLoss.Aggregation aggregation, double epsHigh, boolean sequenceRatio) {}
        for (Case c : List.of(new Case("cispo", PolicyLoss.Objective.CISPO, PolicyLoss.Aggregation.TOKEN_MEAN, 5.0, false),
                new Case("sapo", PolicyLoss.Objective.SAPO, PolicyLoss.Aggregation.SEQUENCE_MEAN, 0.2, false),
                new Case("vespo", PolicyLoss.Objective.VESPO, PolicyLoss.Aggregation.TOKEN_MEAN, 0.2, false),
                new Case("luspo", PolicyLoss.Objective.CLIP, PolicyLoss.Aggregation.LENGTH_WEIGHTED, 0.2, true))) {
            try (LlamaModel m = nano(9)) {
                Map<String, float[]> before = snapshot(m);
                Metrics metrics = Metrics.inMemory().quiet(true);
                Grpo.Config cfg = Configs.with(Grpo.Config.DEFAULTS, "steps", 25, "promptsPerStep", 4, "samplesPerPrompt", 8, "maxNewTokens", 4, "updatesPerRollout", 2, "lr", 2e-2, "warmupSteps", 0, "epsHigh", c.epsHigh(), "objective", c.objective(), "aggregation", c.aggregation(), "sequenceRatio", c.sequenceRatio());
                Grpo.train(m, null, dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task)), prompts, cfg, new Session(tok, null, metrics, null, null));
                double[][] reward = metrics.series("grpo", "reward"), loss = metrics.series("grpo", "loss");
                assertTrue(Double.isFinite(loss[loss.length - 1][1]), c.name());
                assertTrue(earlyLate(reward, true) > earlyLate(reward, false) + 0.2, c.name() + ": reward rose from " + earlyLate(reward, false) + " to " + earlyLate(reward, true));
                assertAllChanged(before, m);
            }
        }
    }

    @Test
    void ktoApoZeroUnpairedAndDpoSftTrain() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        List<dev.align4j.data.UnpairedExample> data = unpaired();
        try (LlamaModel m = nano(6); LlamaModel ref = m.copy(ScalarType.Float)) {
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Kto.Config cfg = Configs.with(Kto.Config.DEFAULTS, "loss", dev.align4j.loss.KtoLoss.Variant.APO_ZERO_UNPAIRED, "steps", 20, "batchSize", 16, "lr", 5e-3, "warmupSteps", 2, "maxGradNorm", 10.0, "maxLength", 32);
            Kto.train(m, ref, data, cfg, new Session(tok, null, metrics, null, null));
            double[][] loss = metrics.series("kto", "loss"), margins = metrics.series("kto", "rewards/margins");
            assertTrue(Double.isFinite(loss[loss.length - 1][1]) && loss[loss.length - 1][1] < loss[0][1], "loss fell");
            assertTrue(margins[margins.length - 1][1] > 0.05, "desirable rewards rose above undesirable: " + margins[margins.length - 1][1]);
            assertTrue(metrics.series("kto", "kl").length == 0, "no reference point is estimated");
            assertAllChanged(before, m);
        }
        try (LlamaModel m = nano(6)) {                                          // the sft loss alone needs no reference
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(PreferenceLoss.Variant.SFT), "steps", 20, "batchSize", 16, "lr", 5e-3, "warmupSteps", 2, "maxLength", 32);
            Dpo.train(m, null, pairs(), cfg, new Session(tok, null, metrics, null, null));
            double[][] chosen = metrics.series("dpo", "logps/chosen");
            assertTrue(chosen[chosen.length - 1][1] > chosen[0][1] + 1, "chosen log-probs rose: " + chosen[0][1] + " -> " + chosen[chosen.length - 1][1]);
            assertAllChanged(before, m);
        }
    }

    @Test
    void nonFiniteStepsAreSkippedOrStopTheRun() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (LlamaModel m = nano(10)) {
            try (NoGradGuard g = new NoGradGuard()) {
                m.parameters().get("model.layers.0.mlp.up_proj.weight").fill_(Torch.s(Double.NaN));   // every loss is NaN now
            }
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Sft.Config skip = Configs.with(Sft.Config.DEFAULTS, "steps", 5, "batchSize", 4, "gradAccum", 1, "lr", 1e-3, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", NonFinite.SKIP);
            Sft.train(m, copyTask(), skip, new Session(tok, null, metrics, null, null));
            var last = metrics.rows().get(metrics.rows().size() - 1).values();
            assertEquals(5.0, last.get("skipped_steps"), "every step was skipped and counted");
            assertArrayEquals(before.get("model.norm.weight"), Torch.toFloats(m.parameters().get("model.norm.weight")), "no update was applied");

            Sft.Config stop = Configs.with(Sft.Config.DEFAULTS, "steps", 5, "batchSize", 4, "gradAccum", 1, "lr", 1e-3, "weightDecay", 0, "warmupSteps", 0, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", NonFinite.STOP);
            dev.align4j.core.UserError e = assertThrows(dev.align4j.core.UserError.class,
                    () -> Sft.train(m, copyTask(), stop, new Session(tok, null, Metrics.inMemory().quiet(true), null, null)));
            assertTrue(e.getMessage().contains("non-finite") && e.getMessage().contains("last good checkpoint: none"), e.getMessage());
        }
    }

    @Test
    void referenceFreeLossesTrainWithoutAReference() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        for (PreferenceLoss.Variant v : List.of(PreferenceLoss.Variant.SIMPO, PreferenceLoss.Variant.CPO, PreferenceLoss.Variant.ORPO)) {
            try (LlamaModel m = nano(11)) {
                Map<String, float[]> before = snapshot(m);
                Metrics metrics = Metrics.inMemory().quiet(true);
                Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(v), "lossWeights", List.of(), "beta", v == PreferenceLoss.Variant.ORPO ? 0.5 : 2.0, "labelSmoothing", 0, "rpoAlpha", 0, "steps", 20, "batchSize", 16, "gradAccum", 1, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2, "maxGradNorm", 10.0, "maxLength", 32, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", dev.align4j.train.NonFinite.STOP, "simpoGamma", 0.5);
                Dpo.train(m, null, pairs(), cfg, new Session(tok, null, metrics, null, null));
                double[][] loss = metrics.series("dpo", "loss"), acc = metrics.series("dpo", "rewards/accuracies");
                assertTrue(Double.isFinite(loss[loss.length - 1][1]), v.name());
                assertTrue(loss[loss.length - 1][1] < loss[0][1], v + ": loss fell");
                assertTrue(acc[acc.length - 1][1] > 0.9, v + ": chosen mean log-prob above rejected for " + acc[acc.length - 1][1]);
                assertAllChanged(before, m);
            }
        }
    }
}
