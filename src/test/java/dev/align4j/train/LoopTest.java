package dev.align4j.train;

import dev.align4j.core.Configs;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The shared loop on a one-parameter problem: accumulation, the update-indexed schedule, averaged metrics, recipe state through a resume. */
class LoopTest {
    @TempDir Path dir;

    static RunConfig run(int steps, int gradAccum) {
        // maxGradNorm 0: no clipping, so grad_norm is the raw |∂L/∂w|
        return new RunConfig(steps, 0.1, 0.0, 0, 0.0, gradAccum, 0, 0, 1, 0, NonFinite.STOP, 0);
    }

    @Test
    void microBatchesAverageTheirGradientsAndMetrics() {
        try (LlamaModel m = TrainerTest.nano(1); Tensor w = Torch.floats(new float[]{1f}, 1)) {
            Metrics metrics = Metrics.inMemory().quiet(true);
            Loop.Plan plan = new Loop.Plan("toy", run(1, 2), Map.of(), List.of(new Loop.Group("model", m, Map.of("w", w), 0.1)), 1, 1);
            Loop.run(Session.inMemory(null).withMetrics(metrics), plan, s -> s.update((micro, mm) -> {
                mm.put("micro", (double) micro);
                // micro 0: L = 3w (∂L/∂w = 3); micro 1: L = w (∂L/∂w = 1)
                return w.mul(Torch.s(micro == 0 ? 3.0 : 1.0)).sum();
            }));
            Map<String, Double> row = metrics.rows().get(0).values();
            assertEquals(2.0, row.get("loss"), 1e-6, "loss = (3·1 + 1·1) / 2");
            assertEquals(2.0, row.get("grad_norm"), 1e-6, "gradient = (3 + 1) / 2: each micro-batch is backpropagated as L / 2");
            assertEquals(0.5, row.get("micro"), 1e-12, "per-micro-batch metrics are averaged: (0 + 1) / 2");
            // the only update is the last: cosine decay is at its floor, lr = 0.1 · 0.1 = 0.01; Adam's first step moves w by lr · sign(g)
            assertEquals(0.99, Torch.toFloats(w)[0], 1e-6);
            assertFalse(w.requires_grad(), "the loop turns gradients off outside updates");
        }
    }

    @Test
    void theScheduleCountsUpdatesAndARecipeCannotTakeMoreThanItDeclared() {
        try (LlamaModel m = TrainerTest.nano(1); Tensor w = Torch.floats(new float[]{1f}, 1)) {
            Metrics metrics = Metrics.inMemory().quiet(true);
            // warm-up over 4 updates to lr 0.1: update k has lr 0.1·k/4; 2 updates per step ⇒ step s logs the lr of update 2s
            RunConfig r = new RunConfig(2, 0.1, 0.0, 4, 0.0, 1, 0, 0, 1, 0, NonFinite.STOP, 0);
            Loop.Plan plan = new Loop.Plan("toy", r, Map.of(), List.of(new Loop.Group("model", m, Map.of("w", w), 0.1)), 2, 1);
            Loop.run(Session.inMemory(null).withMetrics(metrics), plan, s -> {
                s.update((micro, mm) -> w.sum());
                s.update((micro, mm) -> w.sum());
            });
            double[][] lr = metrics.series("toy", "learning_rate");
            assertEquals(0.05, lr[0][1], 1e-12, "step 1 ends at update 2: 0.1 · 2/4");
            assertEquals(0.1, lr[1][1], 1e-12, "step 2 ends at update 4: the peak");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Loop.run(Session.inMemory(null).withMetrics(Metrics.inMemory().quiet(true)),
                    plan, s -> { for (int i = 0; i < 3; i++) s.update((micro, mm) -> w.sum()); }));
            assertTrue(e.getMessage().contains("more than 2 updates"), e.getMessage());
        }
    }

    @Test
    void aRecipesOwnStateGoesThroughACheckpointAndComesBackOnResume() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (LlamaModel m = TrainerTest.nano(1)) {
            Path out = dir.resolve("run");
            Loop.Plan plan = new Loop.Plan("toy", new RunConfig(4, 1e-3, 0.0, 0, 1.0, 1, 0, 2, 2, 0, NonFinite.STOP, 0), Map.of(),
                    List.of(Loop.Group.of(m, 1e-3)), 1, 1);
            class Counter implements Loop.Recipe {
                long seen;
                public void step(Loop.Step s) {
                    seen += s.step;
                    s.update((micro, mm) -> m.parameters().get("model.norm.weight").sum());
                }
                public void save(ObjectNode state, Path dir) { state.put("seen", seen); }
                public void restore(JsonNode state, Path checkpoint) { seen = state.get("seen").asLong(); }
            }
            Counter first = new Counter();
            Loop.run(new Session(tok, out, Metrics.inMemory().quiet(true), null, null), plan, first);
            assertEquals(1 + 2 + 3 + 4, first.seen);
            // resume from checkpoint-2 of a copy: the counter restarts from the saved 1 + 2 and sees steps 3 and 4 again
            Counter second = new Counter();
            Loop.run(new Session(tok, out, Metrics.inMemory().quiet(true), null, out.resolve("checkpoint-2")), plan, second);
            assertEquals(1 + 2 + 3 + 4, second.seen);
            assertEquals(3, Json.read(out.resolve("checkpoint-2/trainer_state.json")).get("seen").asLong());
        }
    }

    @Test
    void runSettingsAreValidatedWithTheFlagName() {
        UserError e = assertThrows(UserError.class, () -> run(10, 0));
        assertTrue(e.getMessage().contains("grad-accum"), e.getMessage());
        e = assertThrows(UserError.class, () -> new RunConfig(10, 2.0, 0, 0, 1, 1, 0, 0, 1, 0, NonFinite.STOP, 0));
        assertTrue(e.getMessage().contains("lr must be in (0, 1)"), e.getMessage());
        e = assertThrows(UserError.class, () -> Configs.with(dev.align4j.train.online.Grpo.Config.DEFAULTS, "gradAccum", 2));
        assertTrue(e.getMessage().contains("grad-accum must be 1"), e.getMessage());
    }
}
