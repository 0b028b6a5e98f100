package dev.align4j.train;

import dev.align4j.core.UserError;

import java.util.Map;

/**
 * The settings every training method shares, nested in each method's config (and flattened into its saved
 * {@code *_config.json}). Each method's {@code DEFAULTS} names its own values; this record only validates.
 *
 * @param steps       optimizer steps (offline) or rollout + update rounds (online)
 * @param lr          peak learning rate (linear warm-up, then cosine decay to 10% of it)
 * @param weightDecay decoupled AdamW weight decay on matrices
 * @param warmupSteps linear warm-up, counted in optimizer updates
 * @param maxGradNorm global gradient-norm clip (0 = off)
 * @param gradAccum   micro-batches per optimizer update
 * @param evalEvery   evaluate every N steps (0 = at the end only)
 * @param saveEvery   checkpoint every N steps (0 = at the end only)
 * @param keep        checkpoints kept (0 = all)
 * @param seed        data order, sampling and initialisation
 * @param onNonFinite  stop or skip on a NaN/Inf loss or gradient norm
 * @param loggingSteps log every N steps, and the first and last (0 = the method's default: 10 offline, 1 online)
 * @param dtype        compute precision: fp32, bf16 mixed precision (fp32 master weights), or auto (probe; {@link Precision})
 * @param gradientCheckpointing recompute the trained model's block activations in backward instead of keeping them
 *                     ({@code dev.align4j.model.Recompute}): less memory, one more forward of the blocks, the same gradients
 */
public record RunConfig(int steps, double lr, double weightDecay, int warmupSteps, double maxGradNorm, int gradAccum,
                        int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite, int loggingSteps, Precision dtype,
                        boolean gradientCheckpointing) {
    public RunConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        dtype = dtype == null ? Precision.AUTO : dtype;
        UserError.check(steps >= 1, "steps must be >= 1: %s", steps);
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
        UserError.check(weightDecay >= 0, "weight-decay must be >= 0: %s", weightDecay);
        UserError.check(warmupSteps >= 0, "warmup-steps must be >= 0: %s", warmupSteps);
        UserError.check(maxGradNorm >= 0, "max-grad-norm must be >= 0 (0 = off): %s", maxGradNorm);
        UserError.check(gradAccum >= 1, "grad-accum must be >= 1: %s", gradAccum);
        UserError.check(evalEvery >= 0 && saveEvery >= 0 && keep >= 0 && loggingSteps >= 0, "eval-every, save-every, keep and logging-steps must be >= 0");
    }

    /** The run settings in fp32 ({@code dtype} float32), without gradient checkpointing. */
    public RunConfig(int steps, double lr, double weightDecay, int warmupSteps, double maxGradNorm, int gradAccum,
                     int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite, int loggingSteps) {
        this(steps, lr, weightDecay, warmupSteps, maxGradNorm, gradAccum, evalEvery, saveEvery, keep, seed, onNonFinite, loggingSteps, Precision.FLOAT32, false);
    }

    /** Defaults of the run settings most methods share; each method names its own steps, lr, weight decay and warm-up. */
    public static final Map<String, Object> COMMON = Map.ofEntries(Map.entry("weightDecay", 0.0), Map.entry("maxGradNorm", 1.0), Map.entry("gradAccum", 1),
            Map.entry("evalEvery", 0), Map.entry("saveEvery", 0), Map.entry("keep", 2), Map.entry("seed", 0L), Map.entry("onNonFinite", NonFinite.STOP),
            Map.entry("loggingSteps", 0), Map.entry("dtype", Precision.AUTO), Map.entry("gradientCheckpointing", false));
}
