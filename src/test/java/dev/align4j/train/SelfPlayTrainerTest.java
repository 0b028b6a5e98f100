package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.eval.Game;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
import dev.align4j.task.CycleTask;
import dev.align4j.task.Task;
import dev.align4j.train.online.Inpo;
import dev.align4j.train.online.NashMd;
import dev.align4j.train.online.Sppo;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.align4j.train.TrainerTest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The self-play / Nash trainers (SPPO, INPO, Nash-MD) on a nano model: finite loss, every parameter changed, and the
 * quantity the method optimises moved. The judge is the gold preference: on the nano count-a task (transitive,
 * σ((r(a) − r(b))/τ)) the share of 'a' must rise; on {@code cycle} a few steps run end to end through the judge and the
 * exact game evaluation.
 */
class SelfPlayTrainerTest {
    @TempDir Path dir;

    static final Map<String, Object> RUN = Map.of("maxNewTokens", 4, "temperature", 1.0, "lr", 1e-2, "weightDecay", 0.0, "warmupSteps", 0,
            "maxGradNorm", 1.0, "evalEvery", 0, "saveEvery", 0, "seed", 0L);

    static <R extends Record> R cfg(R defaults, Object... more) {
        R r = defaults;
        for (var e : RUN.entrySet()) r = Configs.with(r, e.getKey(), e.getValue());
        return Configs.with(r, more);
    }

    /** The mean count-a reward of 8 samples of each prompt (seeded, temperature 1). */
    static double meanReward(LlamaModel m, Tokenizer tok, Task task, List<Task.Example> prompts) {
        List<int[]> ids = new ArrayList<>();
        for (Task.Example e : prompts) for (int k = 0; k < 8; k++) ids.add(tok.encode(e.prompt(), true));
        List<Completion> c = Sampler.generate(m, tok, ids, new SamplingConfig(4, 1.0, 0, 1.0, 123, List.of()));
        double s = 0;
        for (int i = 0; i < c.size(); i++) s += task.reward(prompts.get(i / 8), c.get(i).text());
        return s / c.size();
    }

    @Test
    void sppoRaisesTheJudgesFavouriteAndChangesEveryParameter() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); LlamaModel iterate = m.copy(ScalarType.Float); Judge judge = Judges.gold(task, 0.1)) {
            Map<String, float[]> before = snapshot(m);
            double r0 = meanReward(m, tok, task, prompts);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Sppo.train(m, iterate, judge, prompts, cfg(Sppo.Config.DEFAULTS, "steps", 30, "iterations", 5, "promptsPerStep", 16, "samplesPerPrompt", 4, "eta", 10.0),
                    new Session(tok, null, metrics, null, null));
            double r1 = meanReward(m, tok, task, prompts);
            double[][] loss = metrics.series("sppo", "loss"), iteration = metrics.series("sppo", "iteration");
            for (double[] l : loss) assertTrue(Double.isFinite(l[1]));
            assertTrue(r1 > r0 + 0.2, "share of 'a' rose from " + r0 + " to " + r1);
            assertEquals(1, iteration[0][1]);
            assertEquals(5, iteration[iteration.length - 1][1], "five rounds of six steps");
            assertAllChanged(before, m);
        }
    }

    @ParameterizedTest
    @EnumSource(Inpo.Labels.class)
    void inpoRaisesTheJudgesFavouriteAndChangesEveryParameter(Inpo.Labels labels) {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); LlamaModel iterate = m.copy(ScalarType.Float); LlamaModel ref = m.copy(ScalarType.Float); Judge judge = Judges.gold(task, 0.1)) {
            Map<String, float[]> before = snapshot(m);
            double r0 = meanReward(m, tok, task, prompts);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Inpo.train(m, iterate, ref, judge, prompts, cfg(Inpo.Config.DEFAULTS, "steps", 30, "iterations", 5, "promptsPerStep", 16, "samplesPerPrompt", 4, "eta", 10.0, "tau", 0.01,
                    "labels", labels), new Session(tok, null, metrics, null, null));
            double r1 = meanReward(m, tok, task, prompts);
            for (double[] l : metrics.series("inpo", "loss")) assertTrue(Double.isFinite(l[1]));
            assertTrue(r1 > r0 + 0.2, labels + ": share of 'a' rose from " + r0 + " to " + r1);
            assertTrue(metrics.series("inpo", "tie_fraction").length > 0);
            if (labels == Inpo.Labels.SAMPLED) {
                double[][] margin = metrics.series("inpo", "margin");
                assertTrue(earlyLate(margin, true) > earlyLate(margin, false), "the winners' regularised margin grew towards eta/2");
            } else {
                assertEquals(0, metrics.series("inpo", "label_prob").length, "no label is drawn");
            }
            assertAllChanged(before, m);
        }
    }

    @Test
    void nashMdWinsMoreAgainstTheMixtureAndChangesEveryParameter() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float); Judge judge = Judges.gold(task, 0.1)) {
            Map<String, float[]> before = snapshot(m);
            double r0 = meanReward(m, tok, task, prompts);
            Metrics metrics = Metrics.inMemory().quiet(true);
            NashMd.train(m, ref, judge, prompts, cfg(NashMd.Config.DEFAULTS, "steps", 30, "promptsPerStep", 16, "samplesPerPrompt", 2, "mixtureCoef", 0.5, "beta", 0.01),
                    new Session(tok, null, metrics, null, null));
            double r1 = meanReward(m, tok, task, prompts);
            for (double[] l : metrics.series("nash-md", "loss")) assertTrue(Double.isFinite(l[1]));
            assertTrue(r1 > r0 + 0.2, "share of 'a' rose from " + r0 + " to " + r1);
            double[][] win = metrics.series("nash-md", "win_rate");
            assertTrue(earlyLate(win, true) > 0.5, "the policy beats the mixture with the reference: " + earlyLate(win, true));
            assertAllChanged(before, m);
        }
    }

    /** On cycle, through the gold judge and the exact game evaluation: runs, finite, every parameter changed, quantities in range. */
    @Test
    void sppoOnCycleWithTheGoldJudgeAndTheGameTracker() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CycleTask task = new CycleTask();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0), test = task.examples(Task.Split.TEST, 10, 1);
        try (LlamaModel m = nano(11); LlamaModel iterate = m.copy(ScalarType.Float); Judge judge = Judges.gold(task, 0.1)) {
            Map<String, float[]> before = snapshot(m);
            Game.Tracker game = Game.Tracker.start(m, tok, task, test, 4, 7);
            assertNotNull(game, "cycle's gold preference has classes");
            Map<String, Double> start = game.evaluate(m, tok);
            assertEquals(0.5, start.get("win_rate"), 1e-12, "the starting policy against itself, same samples");
            Metrics metrics = Metrics.inMemory().quiet(true);
            Sppo.train(m, iterate, judge, prompts, cfg(Sppo.Config.DEFAULTS, "steps", 6, "iterations", 2, "promptsPerStep", 8, "samplesPerPrompt", 3, "maxNewTokens", 5),
                    new Session(tok, null, metrics, null, null));
            for (double[] l : metrics.series("sppo", "loss")) assertTrue(Double.isFinite(l[1]));
            assertAllChanged(before, m);
            Map<String, Double> after = game.evaluate(m, tok);
            assertTrue(after.get("exploitability") >= 0 && after.get("exploitability") <= 0.5, "exploitability in [0, 1/2]: " + after);
            assertTrue(after.get("win_rate") >= 0 && after.get("win_rate") <= 1, after.toString());
            assertNull(Game.Tracker.start(m, tok, new CountA(), test, 4, 7), "a transitive task has no classes");
        }
    }

    /** Resuming mid-round restores the previous iterate π_t with the weights: the same final weights as an uninterrupted run. */
    @Test
    void sppoResumesMidRoundWithTheSameIterate() throws Exception {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        Sppo.Config c = cfg(Sppo.Config.DEFAULTS, "steps", 4, "iterations", 1, "promptsPerStep", 8, "samplesPerPrompt", 3, "eta", 10.0, "saveEvery", 2, "keep", 2);
        Path a = dir.resolve("a"), b = dir.resolve("b");
        Map<String, float[]> want, mid;
        try (LlamaModel m = nano(9); LlamaModel iterate = m.copy(ScalarType.Float); Judge judge = Judges.gold(task, 0.1); Metrics metrics = new Metrics(a)) {
            Sppo.train(m, iterate, judge, prompts, c, new Session(tok, a, metrics.quiet(true), null, null));
            want = snapshot(m);
        }
        java.nio.file.Files.createDirectories(b.resolve("checkpoint-2"));
        try (var s = java.nio.file.Files.list(a.resolve("checkpoint-2"))) {
            for (Path f : s.toList()) java.nio.file.Files.copy(f, b.resolve("checkpoint-2").resolve(f.getFileName()));
        }
        // a fresh start model: everything the resumed run needs, π_t included, comes from checkpoint-2
        try (LlamaModel m = nano(9); LlamaModel iterate = nano(9); Judge judge = Judges.gold(task, 0.1); Metrics metrics = new Metrics(b)) {
            mid = snapshot(m);
            Sppo.train(m, iterate, judge, prompts, c, new Session(tok, b, metrics.quiet(true), null, b.resolve("checkpoint-2")));
            for (var e : want.entrySet()) assertArrayEquals(e.getValue(), dev.align4j.core.Torch.toFloats(m.parameters().get(e.getKey())), e.getKey());
        }
        assertFalse(java.util.Arrays.equals(want.get("model.norm.weight"), mid.get("model.norm.weight")), "the run trained");
        // the iterate file is π_t = the starting policy (one round), not the policy at step 2
        try (LlamaModel iterate = nano(1)) {
            Map<String, org.bytedeco.pytorch.Tensor> p = iterate.parameters();
            dev.align4j.model.Safetensors.read(a.resolve("checkpoint-2/iterate.safetensors"), ScalarType.Float, (k, t) -> p.get(k).copy_(t));
            for (var e : mid.entrySet()) assertArrayEquals(e.getValue(), dev.align4j.core.Torch.toFloats(p.get(e.getKey())), "pi_t is the start: " + e.getKey());
        }
    }
}
