package dev.align4j.train.online;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Safetensors;
import org.bytedeco.pytorch.NoGradGuard;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The previous iterate π_t of an iterative self-play method (SPPO, INPO): the run's steps are split into
 * {@code iterations} equal rounds, and at the first step of each round the frozen {@code iterate} model is overwritten with
 * the policy's current weights ("the reference moved"). Its weights go through checkpoints, so a resumed run continues
 * against the same π_t. Never takes gradients.
 */
final class Iterates {
    static final String FILE = "iterate.safetensors";
    private final LlamaModel policy, iterate;
    private final long stepsPerIteration;

    Iterates(LlamaModel policy, LlamaModel iterate, long steps, int iterations) {
        this.policy = policy;
        this.iterate = iterate;
        this.stepsPerIteration = Math.max(1, steps / iterations);
    }

    /** The model holding π_t. */
    LlamaModel model() { return iterate; }

    /** The iteration that step {@code step} (from 1) belongs to, from 1. */
    long iteration(long step) { return (step - 1) / stepsPerIteration + 1; }

    /** Moves π_t to the policy when {@code step} starts a round; returns whether it did. */
    boolean begin(long step) {
        if ((step - 1) % stepsPerIteration != 0) return false;
        iterate.loadFrom(policy);
        return true;
    }

    void save(ObjectNode state, Path dir) {
        state.put("steps_per_iteration", stepsPerIteration);
        Safetensors.write(dir.resolve(FILE), iterate.parameters(), iterate.dtype, Map.of());
    }

    void restore(JsonNode state, Path checkpoint) {
        long saved = state.path("steps_per_iteration").asLong(stepsPerIteration);
        if (saved != stepsPerIteration)
            throw new UserError(checkpoint + ": was trained with " + saved + " steps per iteration, this run has " + stepsPerIteration + " (keep --steps and --iterations)");
        Path f = checkpoint.resolve(FILE);
        if (!Files.exists(f)) throw new UserError(checkpoint + ": no " + FILE + " (the previous iterate); was it written by this trainer?");
        Map<String, org.bytedeco.pytorch.Tensor> p = iterate.parameters();
        try (NoGradGuard g = new NoGradGuard()) {
            Safetensors.read(f, iterate.dtype, (name, t) -> {
                if (!p.containsKey(name)) throw new UserError(f + ": unknown tensor " + name);
                p.get(name).copy_(t);
                t.close();
            });
        }
    }
}
