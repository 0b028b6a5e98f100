package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

/**
 * KTO hyper-parameters.
 *
 * @param beta              temperature β
 * @param desirableWeight   λ_D, weight of thumbs-up examples
 * @param undesirableWeight λ_U, weight of thumbs-down examples (the paper suggests λ_D·n_D / (λ_U·n_U) ∈ [1, 4/3])
 * @param other fields as in {@link SftConfig}
 */
public record KtoConfig(double beta, double desirableWeight, double undesirableWeight, int steps, int batchSize, double lr,
                        double weightDecay, int warmupSteps, double maxGradNorm, int maxLength, int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite) {
    public KtoConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(desirableWeight > 0 && undesirableWeight > 0, "desirable-weight and undesirable-weight must be > 0");
        UserError.check(steps >= 1 && batchSize >= 2, "steps must be >= 1 and batch-size >= 2 (the KL estimate pairs rows)");
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
    }

    public static KtoConfig defaults() { return new KtoConfig(0.1, 1.0, 1.0, 300, 32, 5e-5, 0, 20, 1.0, 256, 0, 0, 2, 0, NonFinite.STOP); }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
