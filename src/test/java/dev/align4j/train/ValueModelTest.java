package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.generate.GuidedDecoding;
import dev.align4j.loss.ValueLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.pipeline.MonteCarloValue;
import dev.align4j.reward.Rewards;
import dev.align4j.reward.ValueScorer;
import dev.align4j.task.Task;
import dev.align4j.train.offline.ValueModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The Monte Carlo value model on a nano model: it learns a return the prompt decides, with a regression and a categorical head. */
class ValueModelTest {
    @TempDir Path dir;

    /** Prompts "go a:" return 1, "go b:" return 0, whatever the (random) completion. */
    static List<ValueModel.Row> rows(Tokenizer tok, int n, long seed) {
        Random rng = new Random(seed);
        List<ValueModel.Row> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean good = i % 2 == 0;
            StringBuilder c = new StringBuilder();
            for (int k = 0; k < 3 + rng.nextInt(3); k++) c.append((char) ('a' + rng.nextInt(4)));
            out.add(new ValueModel.Row(tok.encode(good ? "go a:" : "go b:", true), tok.encode(c.toString()), good ? 1 : 0));
        }
        return out;
    }

    void learns(ValueLoss.Kind kind) {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        List<ValueModel.Row> train = rows(tok, 64, 1), held = rows(tok, 16, 2);
        ValueModel.Config cfg = Configs.with(ValueModel.Config.DEFAULTS, "steps", 40, "lr", 3e-3, "warmupSteps", 0, "batchSize", 16, "weightDecay", 0.0,
                "saveEvery", 40, "keep", 1, "valueLoss", kind, "valueBins", 11, "valueRange", List.of(0.0, 1.0));
        try (LlamaModel policy = TrainerTest.nano(3); LlamaModel vm = policy.withScoreHead(cfg.value().labels(), 5)) {
            Map<String, float[]> before = TrainerTest.snapshot(vm);
            Map<String, Double> start = ValueModel.evaluate(vm, cfg.value(), held, tok.padId, 64);
            Metrics metrics = Metrics.inMemory().quiet(true);
            ValueModel.train(vm, train, cfg, new Session(tok, dir.resolve("vm"), metrics, null, null));
            double[][] loss = metrics.series("value-model", "loss"), mse = metrics.series("value-model", "value/mse");
            assertTrue(Double.isFinite(loss[loss.length - 1][1]), "finite loss");
            assertTrue(mse[mse.length - 1][1] < mse[0][1] / 2, kind + ": training value mse fell from " + mse[0][1] + " to " + mse[mse.length - 1][1]);
            TrainerTest.assertAllChanged(before, vm);
            Map<String, Double> end = ValueModel.evaluate(vm, cfg.value(), held, tok.padId, 64);
            assertTrue(end.get("value/mse") < start.get("value/mse") / 2, kind + ": held-out mse " + start + " → " + end);
            assertTrue(end.get("value/explained_variance") > 0.5, kind + ": held-out " + end);
            assertTrue(end.get("value/prompt_auc") > 0.9, kind + ": V before the first token tells the prompts apart: " + end);
            assertEquals(0.5, end.get("value/return_mean"), 1e-9);
            assertTrue(Files.exists(dir.resolve("vm/checkpoint-40/" + ValueLoss.HEAD_FILE)), "the checkpoint says how to read its head");
            // as a prefix scorer: text and token ids agree, and the good prompt scores higher
            try (ValueScorer s = new ValueScorer(vm, tok, cfg.value())) {
                double[] byText = s.score(List.of("go a:", "go b:"), List.of("ab", "ab"));
                double[] byIds = s.values(List.of(tok.encode("go a:", true), tok.encode("go b:", true)), List.of(tok.encode("ab"), tok.encode("ab")));
                assertArrayEquals(byText, byIds, 1e-6);
                assertTrue(byText[0] > byText[1] + 0.3, java.util.Arrays.toString(byText));
            }
        }
    }

    @Test
    void mseValueModelLearnsTheReturn() { learns(ValueLoss.Kind.MSE); }

    @Test
    void hlGaussValueModelLearnsTheReturn() { learns(ValueLoss.Kind.HL_GAUSS); }

    @Test
    void aucCountsTiesHalf() {
        // positives {0.9, 0.5}, negatives {0.1, 0.5}: 0.9 > 0.1, 0.9 > 0.5, 0.5 > 0.1, 0.5 = 0.5 (½) → 3.5 / 4
        assertEquals(0.875, ValueModel.auc(new double[]{0.9, 0.1, 0.5, 0.5}, new double[]{1, 0, 1, 0}), 1e-12);
        assertTrue(Double.isNaN(ValueModel.auc(new double[]{0.3, 0.4}, new double[]{1, 1})), "one class: undefined");
        assertTrue(Double.isNaN(ValueModel.auc(new double[]{0.3, 0.4}, new double[]{1, 0.5})), "not 0/1 returns: undefined");
    }

    /** The pipeline: sampled trajectories scored by the reward, a value model from the policy's trunk, held-out metrics. */
    @Test
    void monteCarloValueSamplesScoresAndTrains() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        TrainerTest.CountA task = new TrainerTest.CountA();
        MonteCarloValue.Config cfg = Configs.with(MonteCarloValue.Config.DEFAULTS, "samples", 4, "maxNewTokens", 4, "steps", 5, "batchSize", 8, "lr", 1e-3,
                "warmupSteps", 0, "valueLoss", "two-hot", "valueBins", 5, "valueRange", List.of(0.0, 1.0));
        try (LlamaModel policy = TrainerTest.nano(3)) {
            Map<String, float[]> before = TrainerTest.snapshot(policy);
            List<Task.Example> train = task.examples(Task.Split.TRAIN, 8, 0), held = task.examples(Task.Split.TEST, 4, 1);
            List<ValueModel.Row> rows = MonteCarloValue.trajectories(policy, tok, train, Rewards.Weighted.of(Rewards.gold(task)), 4,
                    new dev.align4j.generate.SamplingConfig(4, 1.0, 0, 1.0, 0, List.of()));
            assertEquals(32, rows.size());
            for (int i = 0; i < rows.size(); i++)
                assertArrayEquals(tok.encode(train.get(i / 4).prompt(), true), rows.get(i).prompt(), "row i belongs to prompt i / N");
            MonteCarloValue.Result r = MonteCarloValue.run(policy, tok, train, held, Rewards.Weighted.of(Rewards.gold(task)), null, cfg,
                    new Session(tok, dir.resolve("mc"), Metrics.inMemory().quiet(true), null, null));
            try (LlamaModel vm = r.model()) {
                assertEquals(5, vm.config.numLabels());
                assertTrue(Double.isFinite(r.heldOut().get("value/mse")), r.heldOut().toString());
                before.forEach((k, v) -> assertArrayEquals(v, TrainerTest.snapshot(policy).get(k), "the policy is not trained: " + k));
                // value-guided decoding reads it through the scorer
                try (ValueScorer s = new ValueScorer(vm, tok, cfg.train().value())) {
                    GuidedDecoding.Result g = GuidedDecoding.vas(GuidedDecoding.of(policy, tok.padId), tok, List.of(tok.encode("go:", true)), s::values, 4, 1.0, 0, 3, 0);
                    assertEquals(1, g.completions().size());
                    assertEquals(g.policyForwards() * 4, g.scorerRows());
                }
            }
        }
    }
}
