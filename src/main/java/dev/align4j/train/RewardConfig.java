package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

/**
 * Reward-model training hyper-parameters.
 *
 * @param centering η of the reward-centering term η·(r_c + r_r)² (0 = off)
 * @param other fields as in {@link SftConfig}
 */
public record RewardConfig(double centering, int steps, int batchSize, double lr, double weightDecay, int warmupSteps,
                           double maxGradNorm, int maxLength, int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite) {
    public RewardConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(centering >= 0, "center-rewards must be >= 0: %s", centering);
        UserError.check(steps >= 1 && batchSize >= 1, "steps and batch-size must be >= 1");
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
        UserError.check(maxLength >= 2, "max-length must be >= 2: %s", maxLength);
    }

    public static RewardConfig defaults() { return new RewardConfig(0.0, 300, 32, 1e-4, 0.0, 20, 1.0, 256, 0, 0, 2, 0, NonFinite.STOP); }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
