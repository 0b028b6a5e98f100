package dev.align4j.train;

import dev.align4j.core.Metrics;
import dev.align4j.loss.ExplorationBonus;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.online.Dno;
import dev.align4j.train.online.Grpo;
import dev.align4j.train.online.OnlineDpo;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.align4j.train.SelfPlayTrainerTest.cfg;
import static dev.align4j.train.SelfPlayTrainerTest.meanReward;
import static dev.align4j.train.TrainerTest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * DNO, SPO and online DPO's exploration / iteration options on a nano model (the count-a task, its gold preference as
 * the judge): finite loss, every parameter changed, and the quantity the option acts on moved.
 */
class ExploreTrainerTest {
    @TempDir Path dir;

    @Test
    void dnoRaisesTheJudgesFavouriteAndChangesEveryParameter() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); LlamaModel iterate = m.copy(ScalarType.Float); Judge judge = Judges.gold(task, 0.1)) {
            Map<String, float[]> before = snapshot(m);
            double r0 = meanReward(m, tok, task, prompts);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Dno.train(m, iterate, judge, prompts, cfg(Dno.Config.DEFAULTS, "steps", 30, "iterations", 5, "promptsPerStep", 16, "samplesPerPrompt", 4, "beta", 0.5, "margin", 0.3),
                    new Session(tok, null, metrics, null, null));
            double r1 = meanReward(m, tok, task, prompts);
            for (double[] l : metrics.series("dno", "loss")) assertTrue(Double.isFinite(l[1]));
            assertTrue(r1 > r0 + 0.2, "share of 'a' rose from " + r0 + " to " + r1);
            for (double[] g : metrics.series("dno", "win_rate_margin")) assertTrue(g[1] >= 0.3 - 1e-9, "only large-margin pairs train: " + g[1]);
            double[][] it = metrics.series("dno", "iteration");
            assertEquals(5, it[it.length - 1][1], "five rounds");
            assertAllChanged(before, m);
        }
    }

    @Test
    void spoRaisesTheJudgesFavouriteThroughTheGrpoLoop() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); Judge judge = Judges.gold(task, 0.1)) {
            Map<String, float[]> before = snapshot(m);
            double r0 = meanReward(m, tok, task, prompts);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Grpo.Config c = cfg(Grpo.Config.DEFAULTS, "steps", 25, "promptsPerStep", 4, "samplesPerPrompt", 8, "lr", 2e-2);
            Grpo.train("spo", m, null, Rewards.Weighted.of(Judges.winRateReward(judge, 8)), prompts, c, new Session(tok, null, metrics, null, null));
            double r1 = meanReward(m, tok, task, prompts);
            for (double[] l : metrics.series("spo", "loss")) assertTrue(Double.isFinite(l[1]));
            for (double[] r : metrics.series("spo", "reward")) assertEquals(0.5, r[1], 1e-9, "a group's win rates against each other average 1/2");
            assertTrue(r1 > r0 + 0.2, "share of 'a' rose from " + r0 + " to " + r1);
            assertAllChanged(before, m);
        }
    }

    /** One online-DPO run on count-a with the gold reward; returns the metrics. */
    private Metrics onlineDpo(LlamaModel m, LlamaModel ref, LlamaModel prev, Object... more) {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        Metrics metrics = Metrics.inMemory().quiet(true);
        OnlineDpo.train(m, ref, prev, Rewards.Weighted.of(Rewards.gold(task)), task.examples(Task.Split.TRAIN, 20, 0),
                cfg(OnlineDpo.Config.DEFAULTS, more), new Session(tok, null, metrics, null, null));
        return metrics;
    }

    @Test
    void onlineDpoWithEachExplorationTermTrainsAndMovesTheReferenceSamplesLogProb() {
        double optimisticLate = Double.NaN;
        for (ExplorationBonus.Kind kind : List.of(ExplorationBonus.Kind.XPO, ExplorationBonus.Kind.SELM, ExplorationBonus.Kind.VPO)) {
            for (int sign : kind == ExplorationBonus.Kind.VPO ? new int[]{1, -1} : new int[]{1}) {
                try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float)) {
                    Map<String, float[]> before = snapshot(m);
                    // a large α so that the exploration term, not the pairs, decides where log π(ỹ) goes
                    double alpha = kind == ExplorationBonus.Kind.XPO ? 0.5 : 5.0;
                    Metrics metrics = onlineDpo(m, ref, null, "steps", 30, "promptsPerStep", 16, "samplesPerPrompt", 1, "exploration", kind, "alpha", alpha,
                            "vpoSign", sign, "lr", 1e-2);
                    String what = kind + " sign " + sign;
                    for (double[] l : metrics.series("online-dpo", "loss")) assertTrue(Double.isFinite(l[1]), what);
                    double[][] lp = metrics.series("online-dpo", "logps/reference_samples");
                    assertEquals(30, lp.length, what + ": a reference sample every step");
                    double early = earlyLate(lp, false), late = earlyLate(lp, true);
                    // optimism pushes the reference's samples down; pessimism maximises their likelihood, whose optimum is π = π_ref
                    // (the start), so it holds them where they were, well above where optimism takes them
                    if (sign > 0) assertTrue(late < early - 0.5, what + ": optimism pushes the reference's samples down: " + early + " -> " + late);
                    else assertTrue(late > optimisticLate + 0.5 && Math.abs(late - early) < 0.5 * Math.abs(optimisticLate - early),
                            what + ": pessimism holds them near the start: " + early + " -> " + late + " (optimism: " + optimisticLate + ")");
                    if (kind == ExplorationBonus.Kind.VPO && sign > 0) optimisticLate = late;
                    assertAllChanged(before, m);
                }
            }
        }
    }

    @Test
    void iterativeOnlineDpoMovesTheReferenceEachRoundAndApoExtrapolates() {
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float); LlamaModel prev = m.copy(ScalarType.Float)) {
            Map<String, float[]> start = snapshot(m);
            Metrics metrics = onlineDpo(m, ref, prev, "steps", 30, "promptsPerStep", 16, "samplesPerPrompt", 2, "iterations", 3, "extrapolation", 0.5);
            double[][] reward = metrics.series("online-dpo", "reward"), it = metrics.series("online-dpo", "iteration");
            for (double[] l : metrics.series("online-dpo", "loss")) assertTrue(Double.isFinite(l[1]));
            assertTrue(earlyLate(reward, true) > earlyLate(reward, false) + 0.2, "reward rose from " + earlyLate(reward, false) + " to " + earlyLate(reward, true));
            assertEquals(1, it[0][1]);
            assertEquals(3, it[it.length - 1][1], "three rounds of ten steps");
            assertAllChanged(start, m);
            assertAllChanged(start, ref);                                                   // the reference is the round-3 start, not the initial policy
            // at the start of round 3, π_ref = θ̂ = θ_2 + ½(θ_2 − θ_1) and prev = θ_2: so ref − prev = ½(θ_2 − θ_1) ≠ 0
            float[] r = dev.align4j.core.Torch.toFloats(ref.parameters().get("model.norm.weight")), p = dev.align4j.core.Torch.toFloats(prev.parameters().get("model.norm.weight"));
            assertFalse(java.util.Arrays.equals(r, p), "the reference was extrapolated past the previous round's end");
        }
    }

    /**
     * Resuming in the middle of round 2 of 3 with APO's extrapolation restores the reference and θ_{t−1}: round 3 starts from
     * the same extrapolated weights, so the final weights equal an uninterrupted run's.
     */
    @Test
    void iterativeOnlineDpoWithExtrapolationResumesMidRound() throws Exception {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        CountA task = new CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        OnlineDpo.Config c = cfg(OnlineDpo.Config.DEFAULTS, "steps", 6, "iterations", 3, "extrapolation", 0.5, "promptsPerStep", 8, "samplesPerPrompt", 2,
                "saveEvery", 1, "keep", 6);
        Path a = dir.resolve("a"), b = dir.resolve("b");
        Map<String, float[]> want;
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float); LlamaModel prev = m.copy(ScalarType.Float); Metrics metrics = new Metrics(a)) {
            OnlineDpo.train(m, ref, prev, Rewards.Weighted.of(Rewards.gold(task)), prompts, c, new Session(tok, a, metrics.quiet(true), null, null));
            want = snapshot(m);
        }
        assertTrue(java.nio.file.Files.exists(a.resolve("checkpoint-3/previous-round.safetensors")), "theta_{t-1} is checkpointed");
        java.nio.file.Files.createDirectories(b.resolve("checkpoint-3"));
        try (var s = java.nio.file.Files.list(a.resolve("checkpoint-3"))) {
            for (Path f : s.toList()) java.nio.file.Files.copy(f, b.resolve("checkpoint-3").resolve(f.getFileName()));
        }
        // fresh models: the policy, the reference and θ_{t−1} all come from checkpoint-3
        try (LlamaModel m = nano(9); LlamaModel ref = nano(1); LlamaModel prev = nano(2); Metrics metrics = new Metrics(b)) {
            OnlineDpo.train(m, ref, prev, Rewards.Weighted.of(Rewards.gold(task)), prompts, c, new Session(tok, b, metrics.quiet(true), null, b.resolve("checkpoint-3")));
            for (var e : want.entrySet()) assertArrayEquals(e.getValue(), dev.align4j.core.Torch.toFloats(m.parameters().get(e.getKey())), 1e-6f, e.getKey());
        }
    }
}
