package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.online.Constraints;
import dev.align4j.train.online.Grpo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.align4j.train.TrainerTest.*;
import static org.junit.jupiter.api.Assertions.*;

/** Lagrangian constraints on reward components: the reward and the dual step by hand, and a constrained GRPO run. */
class ConstraintsTest {
    @TempDir Path dir;

    static RewardFunction named(String name) {
        return new RewardFunction() {
            public String name() { return name; }
            public double[] score(List<Sample> s) { throw new AssertionError("not scored here"); }
        };
    }

    @Test
    void theLagrangianRewardAndTheDualStepByHand() {
        assertEquals(new Constraints.Constraint("brief", true, 0.9), Constraints.Constraint.parse("brief>=0.9"));
        assertEquals(new Constraints.Constraint("length", false, -2.0), Constraints.Constraint.parse(" length <= -2 "));
        assertThrows(UserError.class, () -> Constraints.Constraint.parse("brief=0.9"));
        assertThrows(UserError.class, () -> new Constraints(List.of(Constraints.Constraint.parse("a>=1"), Constraints.Constraint.parse("a<=2")), 0.5, 0));

        // reward = 2·obj (weight 2) + brief constrained at >= 0.9 with μ = 1.5, + length constrained at <= 3 with μ = 0.5
        Rewards.Weighted w = new Rewards.Weighted(List.of(named("obj"), named("brief"), named("length")), new double[]{2, 7, 7});
        Constraints c = new Constraints(List.of(Constraints.Constraint.parse("brief>=0.9"), Constraints.Constraint.parse("length<=3")), 0.5, 1.5);
        c.check(w);
        LinkedHashMap<String, double[]> comp = new LinkedHashMap<>();
        comp.put("obj", new double[]{1, 0});
        comp.put("brief", new double[]{0.5, 1.0});
        comp.put("length", new double[]{4, 2});
        Map<String, Double> m = new LinkedHashMap<>();
        double[] r = c.rewards(w, new Rewards.Scored(new double[2], comp), m);
        // sample 0: 2·1 + 1.5·(+1)·0.5 + 1.5·(−1)·4 = 2 + 0.75 − 6 = −3.25
        // sample 1: 2·0 + 1.5·(+1)·1.0 + 1.5·(−1)·2 = 0 + 1.5 − 3 = −1.5   (the --reward weights 7 of constrained functions are unused)
        assertArrayEquals(new double[]{-3.25, -1.5}, r, 1e-12);
        assertEquals(0.75, m.get("constraint/brief"), 1e-12);                  // (0.5 + 1.0) / 2
        assertEquals(3.0, m.get("constraint/length"), 1e-12);                  // (4 + 2) / 2
        assertEquals(1.5, m.get("lagrange/brief"), 1e-12);
        c.update(m);
        // brief (>=): μ ← max(0, 1.5 − 0.5·(+1)·(0.75 − 0.9)) = 1.5 + 0.075 = 1.575   (violated: μ rises)
        // length (<=): μ ← max(0, 1.5 − 0.5·(−1)·(3 − 3)) = 1.5                      (on the boundary: unchanged)
        assertArrayEquals(new double[]{1.575, 1.5}, c.multipliers(), 1e-12);
        m.put("constraint/length", 0.0);
        m.put("constraint/brief", 1.0);
        c.update(m);
        // length: μ ← max(0, 1.5 + 0.5·(0 − 3)) = 0; brief: 1.575 − 0.5·0.1 = 1.525   (satisfied: μ falls, never below 0)
        assertArrayEquals(new double[]{1.525, 0.0}, c.multipliers(), 1e-12);

        // checkpoints carry the multipliers, and refuse other constraints
        ObjectNode state = Json.object();
        c.save(state);
        Constraints back = new Constraints(c.list(), 0.5, 0);
        back.restore(state, dir);
        assertArrayEquals(c.multipliers(), back.multipliers(), 0);
        Constraints other = new Constraints(List.of(Constraints.Constraint.parse("brief>=0.8")), 0.5, 0);
        UserError e = assertThrows(UserError.class, () -> other.restore(state, dir));
        assertTrue(e.getMessage().contains("resume with the same --constraint flags"), e.getMessage());
        // every function constrained, or a name not in --reward: user errors
        assertThrows(UserError.class, () -> other.check(new Rewards.Weighted(List.of(named("brief")), new double[]{1})));
        assertThrows(UserError.class, () -> other.check(new Rewards.Weighted(List.of(named("obj")), new double[]{1})));
    }

    @Test
    void constrainedGrpoRaisesTheMultiplierUntilTheConstraintHolds() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        TrainerTest.CountA task = new TrainerTest.CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9)) {
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            // objective: the share of a's; constraint: at most 2 tokens (length = −tokens ≥ −2), from 4-token random completions
            Rewards.Weighted reward = new Rewards.Weighted(List.of(Rewards.gold(task), Rewards.lengthPenalty(1.0)), new double[]{1, 1});
            Constraints c = new Constraints(List.of(Constraints.Constraint.parse("length>=-2")), 0.5, 0);
            Grpo.Config cfg = Configs.with(Grpo.Config.DEFAULTS, "steps", 30, "promptsPerStep", 4, "samplesPerPrompt", 8, "maxNewTokens", 4, "lr", 2e-2,
                    "warmupSteps", 0, "beta", 0.0);
            Grpo.train("grpo", m, null, reward, c, prompts, cfg, new Session(tok, null, metrics, null, null));
            double[][] mu = metrics.series("grpo", "lagrange/length"), len = metrics.series("grpo", "constraint/length"), loss = metrics.series("grpo", "loss");
            for (double[] l : loss) assertTrue(Double.isFinite(l[1]), "finite loss at step " + l[0]);
            assertEquals(0.0, mu[0][1], "μ starts at 0");
            double maxMu = 0;
            for (double[] x : mu) maxMu = Math.max(maxMu, x[1]);
            assertTrue(maxMu > 0.5, "the violated constraint raised its multiplier: max μ " + maxMu);
            assertTrue(earlyLate(len, true) > earlyLate(len, false) + 0.5, "completions got shorter: length reward " + earlyLate(len, false) + " → " + earlyLate(len, true));
            assertTrue(earlyLate(len, true) > -2.5, "the constraint (length ≥ −2) nearly holds at the end: " + earlyLate(len, true));
            assertAllChanged(before, m);
        }
    }
}
