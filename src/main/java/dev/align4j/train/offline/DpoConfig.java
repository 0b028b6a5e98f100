package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.train.RunConfig;

import java.util.List;

/**
 * Offline preference optimization (DPO family) settings; defaults in {@link Builder}.
 *
 * @param losses         one or more variants, combined as Σ w_k · L_k
 * @param lossWeights    one weight per loss (empty = all 1)
 * @param beta           temperature β: larger keeps the policy closer to the reference (ORPO's λ)
 * @param labelSmoothing ε for cDPO / robust DPO / EXO (0 = off)
 * @param rpoAlpha       weight of the NLL-on-chosen term (RPO); 0 = off
 * @param simpoGamma     SimPO's target margin γ
 */
public record DpoConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, List<PreferenceLoss.Variant> losses,
                        List<Double> lossWeights, double beta, double labelSmoothing, double rpoAlpha, double simpoGamma) {
    public DpoConfig {
        losses = List.copyOf(losses);
        lossWeights = lossWeights == null ? List.of() : List.copyOf(lossWeights);
        UserError.check(!losses.isEmpty(), "--loss needs at least one variant");
        UserError.check(lossWeights.isEmpty() || lossWeights.size() == losses.size(),
                "--loss-weights has %s values but --loss names %s losses", lossWeights.size(), losses.size());
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5): %s", labelSmoothing);
        UserError.check(rpoAlpha >= 0, "rpo-alpha must be >= 0: %s", rpoAlpha);
    }

    public double weight(int k) { return lossWeights.isEmpty() ? 1.0 : lossWeights.get(k); }

    /** True when no loss needs reference log-probs (SimPO, CPO, ORPO only). */
    public boolean referenceFree() { return losses.stream().allMatch(PreferenceLoss.Variant::referenceFree); }

    public static DpoConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() {
        return new Builder().run(run).batching(batching).losses(losses).lossWeights(lossWeights).beta(beta).labelSmoothing(labelSmoothing)
                .rpoAlpha(rpoAlpha).simpoGamma(simpoGamma);
    }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends Batching.Builder<Builder> {
        private List<PreferenceLoss.Variant> losses = List.of(PreferenceLoss.Variant.SIGMOID);
        private List<Double> lossWeights = List.of();
        private double beta = 0.1, labelSmoothing = 0, rpoAlpha = 0, simpoGamma = 0.5;

        private Builder() { super(300, 5e-5, 0.0, 20, 32); }

        public Builder losses(List<PreferenceLoss.Variant> v) { losses = v; return this; }
        public Builder loss(PreferenceLoss.Variant v) { return losses(List.of(v)); }
        public Builder lossWeights(List<Double> v) { lossWeights = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder labelSmoothing(double v) { labelSmoothing = v; return this; }
        public Builder rpoAlpha(double v) { rpoAlpha = v; return this; }
        public Builder simpoGamma(double v) { simpoGamma = v; return this; }

        public DpoConfig build() { return new DpoConfig(run(), batching(), losses, lossWeights, beta, labelSmoothing, rpoAlpha, simpoGamma); }
    }
}
