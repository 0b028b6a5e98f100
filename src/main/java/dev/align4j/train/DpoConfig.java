package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;

import java.util.List;

/**
 * Offline preference optimization (DPO family) hyper-parameters.
 *
 * @param losses         one or more variants, combined as Σ w_k · L_k
 * @param lossWeights    one weight per loss (empty = all 1)
 * @param beta           temperature β: larger keeps the policy closer to the reference
 * @param labelSmoothing ε for cDPO / robust DPO / EXO (0 = off)
 * @param rpoAlpha       weight of the NLL-on-chosen term (RPO); 0 = off
 * @param simpoGamma     SimPO's target margin γ (also ORPO's λ is {@code beta})
 * @param steps, batchSize, gradAccum, lr, weightDecay, warmupSteps, maxGradNorm, maxLength, evalEvery, saveEvery, keep, seed
 *                       as in {@link SftConfig}
 */
public record DpoConfig(List<PreferenceLoss.Variant> losses, List<Double> lossWeights, double beta, double labelSmoothing,
                        double rpoAlpha, int steps, int batchSize, int gradAccum, double lr, double weightDecay, int warmupSteps,
                        double maxGradNorm, int maxLength, int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite, double simpoGamma) {
    public DpoConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        losses = List.copyOf(losses);
        lossWeights = lossWeights == null ? List.of() : List.copyOf(lossWeights);
        UserError.check(!losses.isEmpty(), "--loss needs at least one variant");
        UserError.check(lossWeights.isEmpty() || lossWeights.size() == losses.size(),
                "--loss-weights has %s values but --loss names %s losses", lossWeights.size(), losses.size());
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5): %s", labelSmoothing);
        UserError.check(rpoAlpha >= 0, "rpo-alpha must be >= 0: %s", rpoAlpha);
        UserError.check(steps >= 1 && batchSize >= 1 && gradAccum >= 1, "steps, batch-size and grad-accum must be >= 1");
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
        UserError.check(maxLength >= 2, "max-length must be >= 2: %s", maxLength);
    }

    public double weight(int k) { return lossWeights.isEmpty() ? 1.0 : lossWeights.get(k); }

    public static DpoConfig defaults() {
        return new DpoConfig(List.of(PreferenceLoss.Variant.SIGMOID), List.of(), 0.1, 0, 0, 300, 32, 1, 5e-5, 0.0, 20, 1.0,
                256, 0, 0, 2, 0, NonFinite.STOP, 0.5);
    }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
