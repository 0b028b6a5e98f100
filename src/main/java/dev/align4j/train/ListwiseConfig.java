package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.ListwiseLoss;

/**
 * Listwise preference optimization hyper-parameters.
 *
 * @param loss      LIPO_LAMBDA, LIST_MLE or PRO
 * @param beta      temperature of the implicit rewards s = β·log(π/π_ref) (LiPO-λ, ListMLE)
 * @param nllWeight PRO's weight on the NLL of the best completion
 * @param other fields as in {@link SftConfig}; batchSize counts lists
 */
public record ListwiseConfig(ListwiseLoss.Variant loss, double beta, double nllWeight, int steps, int batchSize, double lr,
                             double weightDecay, int warmupSteps, double maxGradNorm, int maxLength, int evalEvery, int saveEvery,
                             int keep, long seed, NonFinite onNonFinite) {
    public ListwiseConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(nllWeight >= 0, "nll-weight must be >= 0: %s", nllWeight);
        UserError.check(steps >= 1 && batchSize >= 1, "steps and batch-size must be >= 1");
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
    }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
