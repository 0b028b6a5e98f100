package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

/**
 * Supervised fine-tuning hyper-parameters.
 *
 * @param steps        optimizer steps
 * @param batchSize    sequences per micro-batch
 * @param gradAccum    micro-batches per optimizer step
 * @param lr           peak learning rate
 * @param weightDecay  decoupled AdamW weight decay on matrices
 * @param warmupSteps  linear warm-up steps, then cosine decay to 10% of the peak
 * @param maxGradNorm  global gradient-norm clip (0 = off)
 * @param maxLength    longest prompt + completion in tokens (prompt truncated from the left first)
 * @param evalEvery    evaluate every N steps (0 = only at the end)
 * @param saveEvery    checkpoint every N steps (0 = only at the end)
 * @param keep         checkpoints to keep
 * @param seed         data order and initialisation
 */
public record SftConfig(int steps, int batchSize, int gradAccum, double lr, double weightDecay, int warmupSteps,
                        double maxGradNorm, int maxLength, int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite) {
    public SftConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(steps >= 1, "steps must be >= 1: %s", steps);
        UserError.check(batchSize >= 1, "batch-size must be >= 1: %s", batchSize);
        UserError.check(gradAccum >= 1, "grad-accum must be >= 1: %s", gradAccum);
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
        UserError.check(weightDecay >= 0, "weight-decay must be >= 0: %s", weightDecay);
        UserError.check(warmupSteps >= 0, "warmup-steps must be >= 0: %s", warmupSteps);
        UserError.check(maxGradNorm >= 0, "max-grad-norm must be >= 0 (0 = off): %s", maxGradNorm);
        UserError.check(maxLength >= 2, "max-length must be >= 2: %s", maxLength);
        UserError.check(evalEvery >= 0 && saveEvery >= 0 && keep >= 0, "eval-every, save-every and keep must be >= 0");
    }

    public static SftConfig defaults() {
        return new SftConfig(1000, 32, 1, 1e-3, 0.01, 50, 1.0, 256, 0, 0, 2, 0, NonFinite.STOP);
    }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
