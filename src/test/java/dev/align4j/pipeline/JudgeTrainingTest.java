package dev.align4j.pipeline;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.JudgeData;
import dev.align4j.task.Task;
import dev.align4j.train.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The judge trainer on a nano model: SFT teaches the verdict, a STaR iteration trains on its own right traces, DPO on right over wrong. */
class JudgeTrainingTest {
    @TempDir Path dir;

    static double star(Metrics m, String key) {
        return m.rows().stream().filter(r -> r.stage().equals("star")).reduce((a, b) -> b).orElseThrow().values().get(key);
    }

    static double star(Metrics m, long step, String key) {
        return m.rows().stream().filter(r -> r.stage().equals("star") && r.step() == step).findFirst().orElseThrow().values().get(key);
    }

    @Test
    void sftThenAStarIterationTeachTheVerdict() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        LetterTask task = new LetterTask();
        JudgeTraining.Config cfg = Configs.with(JudgeTraining.Config.DEFAULTS, "responses", JudgeTraining.Responses.DEMOS, "trainPrompts", 200, "evalPrompts", 40,
                "responsesPerPrompt", 2, "steps", 40, "lr", 1e-2, "warmupSteps", 0, "batchSize", 16, "iterations", 2, "iterationSteps", 10,
                "rowsPerIteration", 32, "traces", 2, "seed", 3L);
        try (LlamaModel m = RftTest.nano(4)) {
            Map<String, float[]> before = RftTest.snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            JudgeTraining.Data data = JudgeTraining.data(m, tok, task, cfg, 3);
            assertTrue(data.train().stream().anyMatch(JudgeData.Row::verdict) && data.train().stream().anyMatch(r -> !r.verdict()), "both verdicts in the data");
            JudgeTraining.Result r = JudgeTraining.train(m, data, cfg, new Session(tok, null, metrics, null, null));
            assertEquals(4, r.evals().size(), "before, after SFT, after each STaR iteration");
            double start = r.evals().get(0).get("accuracy"), sft = r.evals().get(1).get("accuracy"), end = r.evals().get(3).get("accuracy");
            assertTrue(sft >= 0.9 && sft > start + 0.1, "SFT taught the verdict: " + start + " → " + sft);
            assertTrue(sft > r.evals().get(1).get("majority_rate"), "beats the majority class: " + r.evals().get(1));
            assertTrue(end >= 0.9, "the STaR iterations kept it: " + end);
            assertTrue(r.evals().get(3).get("pair_accuracy") >= 0.9, r.evals().get(3).toString());
            // STaR: training on its own right traces makes the judge sample the right verdict more often
            double first = star(metrics, 1, "frac_right"), second = star(metrics, 2, "frac_right");
            assertTrue(second > first + 0.1, "sampled verdicts right: " + first + " → " + second);
            assertTrue(Double.isFinite(star(metrics, 2, "sft_loss")));
            for (var e : before.entrySet())
                assertFalse(Arrays.equals(e.getValue(), dev.align4j.core.Torch.toFloats(m.parameters().get(e.getKey()))), e.getKey() + " did not change");
        }
    }

    @Test
    void balancingRepeatsTheRarerVerdictUntilBothHaveAsManyRows() {
        LetterTask task = new LetterTask();
        Task.Example e = new Task.Example("go ff:", "a");
        List<JudgeData.Row> rows = List.of(JudgeData.pointwise(task, e, "a"), JudgeData.pointwise(task, e, "b"), JudgeData.pointwise(task, e, "c"),
                JudgeData.pointwise(task, e, "d"), JudgeData.pointwise(task, e, "e"));
        List<JudgeData.Row> b = JudgeTraining.balanced(rows, 0);
        assertEquals(8, b.size(), "one Yes and four No rows: the Yes row three more times");
        assertEquals(4, b.stream().filter(JudgeData.Row::verdict).count());
        assertEquals(rows, b.subList(0, 5), "the original rows first, unchanged");
    }

    @Test
    void starDpoTrainsRightTracesOverWrongOnesWithACritique() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        LetterTask task = new LetterTask();
        // a barely trained critique-then-verdict judge sampled hot: some traces right, some wrong → DPO pairs
        JudgeTraining.Config cfg = Configs.with(JudgeTraining.Config.DEFAULTS, "responses", JudgeTraining.Responses.DEMOS, "trainPrompts", 100, "evalPrompts", 20,
                "responsesPerPrompt", 2, "steps", 60, "lr", 1e-2, "warmupSteps", 0, "batchSize", 16, "critique", true, "critiqueTokens", 40,
                "iterations", 1, "iterationSteps", 5, "rowsPerIteration", 32, "traces", 8, "traceTemperature", 0.8, "starDpo", true, "dpoLr", 1e-3, "seed", 1L);
        try (LlamaModel m = RftTest.nano(6)) {
            Metrics metrics = Metrics.inMemory().quiet(true);
            JudgeTraining.Data data = JudgeTraining.data(m, tok, task, cfg, 1);
            assertTrue(data.train().get(0).completion(true).contains(JudgeData.THEN));
            Map<String, float[]> before = RftTest.snapshot(m);
            JudgeTraining.Result r = JudgeTraining.train(m, data, cfg, new Session(tok, null, metrics, null, null));
            assertTrue(star(metrics, "pairs") > 0, "right and wrong traces of one row: " + metrics.rows());
            assertTrue(Double.isFinite(star(metrics, "dpo_loss")));
            assertTrue(Double.isFinite(r.evals().get(2).get("accuracy")) && Double.isFinite(r.evals().get(2).get("ece")));
            for (var e : before.entrySet())
                assertFalse(Arrays.equals(e.getValue(), dev.align4j.core.Torch.toFloats(m.parameters().get(e.getKey()))), e.getKey() + " did not change");
        }
    }

    @Test
    void hardNegativesAddWrongAnswersInTheRightFormToTrainingOnly() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        LetterTask task = new LetterTask();
        JudgeTraining.Config plain = Configs.with(JudgeTraining.Config.DEFAULTS, "responses", JudgeTraining.Responses.DEMOS, "trainPrompts", 50, "evalPrompts", 20,
                "responsesPerPrompt", 2, "seed", 3L);
        try (LlamaModel m = RftTest.nano(4)) {
            JudgeTraining.Data a = JudgeTraining.data(m, tok, task, plain, 3), b = JudgeTraining.data(m, tok, task, Configs.with(plain, "hardNegatives", 2), 3);
            long wrongA = a.train().stream().filter(r -> !r.verdict()).count(), wrongB = b.train().stream().filter(r -> !r.verdict()).count();
            assertTrue(wrongB > wrongA, "more wrong training rows: " + wrongA + " → " + wrongB);
            assertEquals(a.heldOut().size(), b.heldOut().size(), "held-out rows are the natural responses");
            assertTrue(b.comparisons().size() >= a.comparisons().size(), "the Bradley–Terry comparisons see them too");
        }
        assertThrows(dev.align4j.core.UserError.class, () -> Configs.with(plain, "hardNegatives", -1));
    }
}
