package dev.align4j.train.online;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Safetensors;
import dev.align4j.core.Torch;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The previous iterate π_t of an iterative self-play method (SPPO, INPO): the run's steps are split into
 * {@code iterations} equal rounds, and at the first step of each round the frozen {@code iterate} model is overwritten with
 * the policy's current weights ("the reference moved"). Its weights go through checkpoints, so a resumed run continues
 * against the same π_t. Never takes gradients.
 *
 * <p>With an extrapolation coefficient α &gt; 0 (APO, He, Yuan, Gu 2024, "Accelerated Preference Optimization for Large
 * Language Model Alignment", arXiv 2410.06293: iterative preference optimisation as a proximal-point method with Nesterov
 * momentum) each round after the first starts from the extrapolated iterate θ̂_t = θ_t + α(θ_t − θ_{t−1}), θ_t the
 * policy's weights at the end of round t: both the policy and π_t are set to θ̂_t. The paper's step is in log-probability
 * space, log π̂ = log π_t + α(log π_t − log π_{t−1}) renormalised, which no parameterised model can hold exactly; the
 * extrapolation here is its parameter-space version. θ_{t−1} is kept in a third model and checkpointed too.
 */
final class Iterates {
    static final String FILE = "iterate.safetensors", PREVIOUS = "previous-round.safetensors";
    private final LlamaModel policy, iterate, previous;
    private final long stepsPerIteration;
    private final double alpha;

    Iterates(LlamaModel policy, LlamaModel iterate, long steps, int iterations) { this(policy, iterate, null, steps, iterations, 0); }

    /**
     * @param previous a third model of the policy's config for θ_{t−1} (APO's extrapolation), or null when {@code alpha} is 0
     * @param alpha    APO's extrapolation coefficient α ≥ 0
     */
    Iterates(LlamaModel policy, LlamaModel iterate, LlamaModel previous, long steps, int iterations, double alpha) {
        if (alpha > 0 && previous == null) throw new IllegalArgumentException("extrapolation needs a model for the previous round's weights");
        this.policy = policy;
        this.iterate = iterate;
        this.previous = alpha > 0 ? previous : null;
        this.alpha = alpha;
        this.stepsPerIteration = Math.max(1, steps / iterations);
    }

    /** The model holding π_t. */
    LlamaModel model() { return iterate; }

    /** The iteration that step {@code step} (from 1) belongs to, from 1. */
    long iteration(long step) { return (step - 1) / stepsPerIteration + 1; }

    /** Moves π_t to the policy when {@code step} starts a round; returns whether it did. */
    boolean begin(long step) {
        if ((step - 1) % stepsPerIteration != 0) return false;
        if (previous != null) {
            if (step > 1) extrapolate(policy.parameters(), previous.parameters(), alpha);
            else previous.loadFrom(policy);
        }
        iterate.loadFrom(policy);
        return true;
    }

    /**
     * APO's step in parameter space, in place: θ ← θ + α(θ − θ_prev) and θ_prev ← θ (the value before the step), for every
     * tensor of {@code theta}.
     */
    static void extrapolate(Map<String, Tensor> theta, Map<String, Tensor> prev, double alpha) {
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : theta.entrySet()) {
                Tensor p = e.getValue(), q = prev.get(e.getKey());
                Tensor before = p.clone();
                p.add_(p.sub(q).mul(Torch.s(alpha)));
                q.copy_(before);
                before.close();
            }
        }
    }

    void save(ObjectNode state, Path dir) {
        state.put("steps_per_iteration", stepsPerIteration);
        Safetensors.write(dir.resolve(FILE), iterate.parameters(), iterate.dtype, Map.of());
        if (previous != null) Safetensors.write(dir.resolve(PREVIOUS), previous.parameters(), previous.dtype, Map.of());
    }

    void restore(JsonNode state, Path checkpoint) {
        long saved = state.path("steps_per_iteration").asLong(stepsPerIteration);
        if (saved != stepsPerIteration)
            throw new UserError(checkpoint + ": was trained with " + saved + " steps per iteration, this run has " + stepsPerIteration + " (keep --steps and --iterations)");
        read(checkpoint, FILE, iterate, "the previous iterate");
        if (previous != null) read(checkpoint, PREVIOUS, previous, "the previous round's weights for --extrapolation");
    }

    private static void read(Path checkpoint, String file, LlamaModel into, String what) {
        Path f = checkpoint.resolve(file);
        if (!Files.exists(f)) throw new UserError(checkpoint + ": no " + file + " (" + what + "); was it written by this trainer with these settings?");
        Map<String, Tensor> p = into.parameters();
        try (NoGradGuard g = new NoGradGuard()) {
            Safetensors.read(f, into.dtype, (name, t) -> {
                if (!p.containsKey(name)) throw new UserError(f + ": unknown tensor " + name);
                p.get(name).copy_(t);
                t.close();
            });
        }
    }
}
