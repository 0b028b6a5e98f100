package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.data.SftExample;
import dev.align4j.generate.Revision;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.online.CriticRl;
import dev.align4j.train.online.Score;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.align4j.train.TrainerTest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Critic RL (CTRL / RL4F) on a nano critic: the critic's reward is its critique's effect on a fixed generator's revision.
 * The stub generator here "revises" by copying the critique, so a revision earns CountA's reward (the share of a's) exactly
 * when its critique has many a's: the critic must learn to write a's. Also the warm-up rows of critic and generator.
 */
class CriticRlTest {
    @TempDir Path dir;

    /** Answers "b" and revises by writing the critique. */
    static final CriticRl.Generator ECHO = new CriticRl.Generator() {
        public List<String> attempt(List<String> prompts, long seed) {
            List<String> out = new ArrayList<>();
            for (String p : prompts) out.add("b");
            return out;
        }

        public List<String> revise(List<String> prompts, List<String> attempts, List<String> critiques, long seed) { return critiques; }
    };

    @Test
    void criticRlRaisesTheRevisionsReward() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        TrainerTest.CountA task = new TrainerTest.CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel critic = nano(9); LlamaModel ref = critic.copy(ScalarType.Float)) {
            Map<String, float[]> before = snapshot(critic);
            Metrics metrics = Metrics.inMemory().quiet(true);
            CriticRl.Config cfg = Configs.with(CriticRl.Config.DEFAULTS, "steps", 20, "promptsPerStep", 4, "samplesPerPrompt", 4, "maxNewTokens", 4,
                    "lr", 2e-2, "warmupSteps", 0, "beta", 0.01);
            CriticRl.Result r = CriticRl.train(critic, ref, ECHO, Rewards.Weighted.of(Rewards.gold(task)), task, prompts, Revision.text(), cfg,
                    new Session(tok, null, metrics, null, null));
            double[][] reward = metrics.series("critic", "reward"), loss = metrics.series("critic", "loss");
            assertEquals(20, loss.length);
            for (double[] l : loss) assertTrue(Double.isFinite(l[1]), "finite loss at step " + l[0]);
            assertTrue(earlyLate(reward, true) > earlyLate(reward, false) + 0.2, "revision reward rose from " + earlyLate(reward, false) + " to " + earlyLate(reward, true));
            // the attempt is "b" (wrong), so every revision that is right is a fix: Δ(i→c) = accuracy/t2, Δ(c→i) = 0
            double[][] t2 = metrics.series("critic", "accuracy/t2"), ic = metrics.series("critic", "delta/i_to_c"), ci = metrics.series("critic", "delta/c_to_i");
            for (int i = 0; i < t2.length; i++) { assertEquals(t2[i][1], ic[i][1], 1e-12); assertEquals(0.0, ci[i][1]); }
            assertTrue(Double.isFinite(r.finalRevisionReward()));
            assertAllChanged(before, critic);
        }
    }

    @Test
    void warmUpRowsCarryTheGoldCritique() {
        Task sort = Task.byName("sort");
        Task.Example e = new Task.Example("sort 3 1 3:", "1 3 3");
        CriticRl.Generator dedup = new CriticRl.Generator() {
            public List<String> attempt(List<String> prompts, long seed) { return prompts.stream().map(p -> "1 3").toList(); }
            public List<String> revise(List<String> p, List<String> a, List<String> c, long seed) { throw new AssertionError(); }
        };
        List<SftExample> rows = CriticRl.critiqueDemonstrations(dedup, sort, List.of(e), Revision.text(), 3, 0);
        assertEquals(3, rows.size());
        assertEquals(new SftExample("sort 3 1 3:1 3\nCritique:", " missing 3"), rows.get(0));
        // the generator's warm-up: attempt-1 rows and revision rows after the gold critique
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok2"));
        try (LlamaModel g = nano(3)) {
            List<SftExample> demos = Score.demonstrations(g, tok, sort, List.of(e), Revision.text(), 4, 6, 1.0, 0, true);
            assertEquals(8, demos.size());
            for (int i = 0; i < 8; i += 2) {
                SftExample a1 = demos.get(i), a2 = demos.get(i + 1);
                assertEquals("sort 3 1 3:", a1.prompt());
                String critique = dev.align4j.task.Critiques.of(sort, e, a1.completion());
                assertEquals("sort 3 1 3:" + a1.completion().strip() + "\nCritique: " + critique + "\nsort 3 1 3:", a2.prompt());
                assertEquals("1 3 3", a2.completion());
            }
        }
    }

    @Test
    void theGoldCriticWritesTheTasksCritiqueAndRefusesUnknownPrompts() {
        Task sort = Task.byName("sort");
        List<Task.Example> ex = List.of(new Task.Example("sort 3 1 3:", "1 3 3"), new Task.Example("sort 2 1:", "1 2"));
        dev.align4j.eval.Revisions.Critic gold = dev.align4j.eval.Revisions.goldCritic(sort, ex);
        assertEquals(List.of("missing 3", "correct"), gold.critique(List.of("sort 3 1 3:", "sort 2 1:"), List.of("1 3", "1 2")));
        assertThrows(IllegalArgumentException.class, () -> gold.critique(List.of("sort 9:"), List.of("9")));
    }
}
