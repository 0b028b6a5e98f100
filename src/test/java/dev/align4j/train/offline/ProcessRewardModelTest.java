package dev.align4j.train.offline;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.data.StepwiseExample;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.ProcessRewards;
import dev.align4j.train.Session;
import dev.align4j.train.offline.ProcessRewardModel.Trajectory;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/** Where step labels sit (TRL's PRMTrainer convention) and a nano process reward model trained on an easy labelling. */
class ProcessRewardModelTest {
    @TempDir Path dir;

    // built-in character tokenizer: <s> = 1; a printable character c has id c − 27 ('1' 22, '+' 16, '=' 34, ';' 32, 'a' 70, '|' 97)

    @Test
    void eachStepIsLabelledAtTheLastTokenOfStepPlusSeparator() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        // "1+2=" then "3" + ";" then "5" + ";": <s> 1 + 2 = | 3 ; | 5 ;
        StepwiseExample.Tokens t = StepwiseExample.tokenize(tok, "1+2=", List.of("3", "5"), ";", 0);
        assertArrayEquals(new int[]{1, 22, 16, 23, 34, 24, 32, 26, 32}, t.ids());
        assertArrayEquals(new int[]{6, 8}, t.stepEnds(), "the ';' after each step");
        // a two-token separator: the label is on its second token; steps "cd" and "e" after prompt "ab"
        t = StepwiseExample.tokenize(tok, "ab", List.of("cd", "e"), "|;", 0);
        assertArrayEquals(new int[]{1, 70, 71, 72, 73, 97, 32, 74, 97, 32}, t.ids());
        assertArrayEquals(new int[]{6, 9}, t.stepEnds());
        // cut at 8 tokens, as TRL's input_ids[:max_length]: the second step loses its label
        t = StepwiseExample.tokenize(tok, "1+2=", List.of("3", "5"), ";", 8);
        assertArrayEquals(new int[]{1, 22, 16, 23, 34, 24, 32, 26}, t.ids());
        assertArrayEquals(new int[]{6, -1}, t.stepEnds());
        assertEquals(1, t.labelled());

        // the trainer's rows: targets at those positions only; --train-on-last-step-only keeps the last step's
        List<Trajectory> data = List.of(new Trajectory("1+2=", List.of("3", "5"), new double[]{1, 0}));
        ProcessRewardModel.Row all = ProcessRewardModel.tokenize(tok, data, ";", 0, false).get(0);
        assertArrayEquals(new int[]{6, 8}, all.at());
        assertArrayEquals(new float[]{1, 0}, all.y());
        ProcessRewardModel.Row last = ProcessRewardModel.tokenize(tok, data, ";", 0, true).get(0);
        assertArrayEquals(new int[]{8}, last.at());
        assertArrayEquals(new float[]{0}, last.y());
        assertTrue(ProcessRewardModel.tokenize(tok, data, ";", 8, true).isEmpty(), "the last step truncated away: nothing to train on");
    }

    @Test
    void completionsSplitIntoStepsAtTheSeparator() {
        assertEquals(List.of("42", "33", "73"), StepwiseExample.split("42;33;73", ";"));
        assertEquals(List.of("42", "33", "73"), StepwiseExample.split("42;33;73;", ";"), "a trailing separator adds no step");
        assertEquals(List.of("42", "", "7"), StepwiseExample.split("42;;7", ";"), "an inner empty step stays");
        assertEquals(List.of("a", "b"), StepwiseExample.split("a\nb\n", "\n"));
        assertEquals(List.of(), StepwiseExample.split("", ";"));
    }

    /** The easy labelling: a step is right exactly when it is 'a' or 'b' (not 'c' or 'd'), whatever the prompt. */
    static List<Trajectory> easy(int n, long seed) {
        Random r = new Random(seed);
        List<Trajectory> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = 2 + r.nextInt(3);
            List<String> steps = new ArrayList<>();
            double[] y = new double[k];
            for (int j = 0; j < k; j++) {
                char c = (char) ('a' + r.nextInt(4));
                steps.add(String.valueOf(c));
                y[j] = c <= 'b' ? 1 : 0;
            }
            out.add(new Trajectory("x" + r.nextInt(10) + "=", steps, y));
        }
        return out;
    }

    @Test
    void aNanoProcessRewardModelLearnsAnEasyLabellingAndChangesEveryParameter() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        ModelConfig c = ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0);
        try (PointerScope s = new PointerScope(); LlamaModel base = LlamaModel.init(c, 3, ScalarType.Float); LlamaModel prm = base.withTokenClassificationHead(2, 3)) {
            List<Trajectory> train = easy(96, 1), test = easy(48, 2);
            Map<String, Double> before = ProcessRewardModel.evaluate(prm, tok, test, ";", 64);
            Map<String, float[]> snapshot = new LinkedHashMap<>();
            prm.parameters().forEach((k, t) -> snapshot.put(k, Torch.toFloats(t)));
            Metrics metrics = Metrics.inMemory().quiet(true);
            ProcessRewardModel.Config cfg = Configs.with(ProcessRewardModel.Config.DEFAULTS, "steps", 40, "batchSize", 16, "lr", 5e-3,
                    "warmupSteps", 2, "maxLength", 64, "stepSeparator", ";", "evalEvery", 0, "saveEvery", 0, "seed", 0L);
            ProcessRewardModel.Result r = ProcessRewardModel.train(prm, train, cfg, new Session(tok, null, metrics, null, null));
            assertTrue(Double.isFinite(r.finalLoss()));
            for (var e : snapshot.entrySet())
                assertFalse(Arrays.equals(e.getValue(), Torch.toFloats(prm.parameters().get(e.getKey()))), e.getKey() + " did not change");
            Map<String, Double> after = ProcessRewardModel.evaluate(prm, tok, test, ";", 64);
            assertTrue(after.get("prm/step_accuracy") > 0.95 && before.get("prm/step_accuracy") < 0.8,
                    "held-out step accuracy " + before.get("prm/step_accuracy") + " -> " + after.get("prm/step_accuracy"));
            assertTrue(after.get("prm/trajectory_accuracy") > after.get("prm/majority_trajectory_accuracy"), after.toString());
            double[][] acc = metrics.series("prm", "prm/step_accuracy");
            assertTrue(acc[acc.length - 1][1] > acc[0][1], "training step accuracy rose");
            // the majority-class rates of the held-out labels, counted by hand
            int steps = 0, positive = 0, allMajority = 0;
            for (Trajectory t : test) { steps += t.labels().length; for (double y : t.labels()) if (y > 0.5) positive++; }
            boolean maj = positive >= steps - positive;
            for (Trajectory t : test) { boolean all = true; for (double y : t.labels()) all &= (y > 0.5) == maj; if (all) allMajority++; }
            assertEquals(Math.max(positive, steps - positive) / (double) steps, after.get("prm/majority_step_accuracy"), 1e-12);
            assertEquals(allMajority / (double) test.size(), after.get("prm/majority_trajectory_accuracy"), 1e-12);

            // as a reward: the weakest step decides with min; a completion of right steps outranks one with a wrong step
            ProcessRewards pr = new ProcessRewards(prm, tok, ";", 8, 64);
            double[][] p = pr.stepProbabilities(List.of("x1=", "x1="), List.of("a;b", "a;c"));
            assertEquals(2, p[0].length);
            assertTrue(p[0][1] > 0.5 && p[1][1] < 0.5, Arrays.deepToString(p));
            double[] min = pr.scores(List.of("x1=", "x1="), List.of("a;b", "a;c"), ProcessRewards.Aggregate.MIN);
            assertEquals(Math.min(p[0][0], p[0][1]), min[0], 1e-12);
            assertTrue(min[0] > min[1]);
            var sample = new dev.align4j.reward.RewardFunction.Sample(new dev.align4j.task.Task.Example("x1=", ""), "a;b", 3, false);
            assertEquals(p[0][0] * p[0][1], pr.reward(ProcessRewards.Aggregate.PRODUCT).score(List.of(sample))[0], 1e-9);
            assertEquals(p[0][1], pr.prefixScorer(ProcessRewards.Aggregate.LAST).score(List.of("x1="), List.of("a;b;"))[0], 1e-6,
                    "a prefix ending at a separator scores the same steps");
        }
    }
}
