package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.train.RunConfig;

/**
 * GRPO-family settings (GRPO, Dr. GRPO, DAPO, GSPO, RLOO, REINFORCE++); defaults in {@link Builder}. The group size G
 * is {@code rollouts.samplesPerPrompt}.
 *
 * @param updatesPerRollout optimizer steps on each rollout batch (μ); above 1 the old-policy log-probs are kept for the ratio
 * @param epsLow            lower clip ε: the ratio is clipped to [1 − ε_low, 1 + ε_high]
 * @param epsHigh           upper clip ε (DAPO's clip-higher: ε_high &gt; ε_low)
 * @param beta              KL coefficient (in the loss; in the per-token reward for REINFORCE++); 0 skips the reference model
 * @param kl                KL estimator (k3 in GRPO)
 * @param estimator         GRPO, RLOO, REINFORCE_PP or REINFORCE_PP_BASELINE (see {@link Advantages.Estimator})
 * @param scale             GROUP, BATCH or NONE (Dr. GRPO) scaling of GRPO advantages
 * @param aggregation       SEQUENCE_MEAN (GRPO), TOKEN_MEAN (DAPO) or CONSTANT (Dr. GRPO)
 * @param sequenceRatio     GSPO's sequence-level importance ratio
 * @param dynamicSampling   drop groups whose rewards are all equal (DAPO)
 */
public record GrpoConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, int updatesPerRollout, double epsLow, double epsHigh,
                         double beta, PolicyLoss.KlEstimator kl, Advantages.Estimator estimator, Advantages.Scale scale,
                         PolicyLoss.Aggregation aggregation, boolean sequenceRatio, boolean dynamicSampling) {
    public GrpoConfig {
        RolloutConfig.requireNoAccumulation(run);
        UserError.check(rollouts.samplesPerPrompt() >= 2 || (estimator == Advantages.Estimator.REINFORCE_PP && rollouts.samplesPerPrompt() >= 1),
                "group-size must be >= 2 (advantages compare completions of one prompt; only reinforce++ works with 1): %s", rollouts.samplesPerPrompt());
        UserError.check(updatesPerRollout >= 1, "updates-per-rollout must be >= 1: %s", updatesPerRollout);
        UserError.check(epsLow >= 0 && epsLow < 1 && epsHigh >= 0, "clip epsilons must satisfy 0 <= eps-low < 1 and eps-high >= 0");
        UserError.check(beta >= 0, "beta must be >= 0: %s", beta);
    }

    /** The metrics stage and checkpoint trainer name: grpo, rloo or reinforce++. */
    public String stage() { return estimator.stage; }

    /** The clipped surrogate's settings. */
    public PolicyLoss.Clip clip() { return new PolicyLoss.Clip(epsLow, epsHigh, sequenceRatio, aggregation, rollouts.maxNewTokens()); }

    public static GrpoConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() {
        return new Builder().run(run).rollouts(rollouts).updatesPerRollout(updatesPerRollout).epsLow(epsLow).epsHigh(epsHigh).beta(beta).kl(kl)
                .estimator(estimator).scale(scale).aggregation(aggregation).sequenceRatio(sequenceRatio).dynamicSampling(dynamicSampling);
    }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends RolloutConfig.Builder<Builder> {
        private int updatesPerRollout = 1;
        private double epsLow = 0.2, epsHigh = 0.2, beta = 0.0;
        private PolicyLoss.KlEstimator kl = PolicyLoss.KlEstimator.K3;
        private Advantages.Estimator estimator = Advantages.Estimator.GRPO;
        private Advantages.Scale scale = Advantages.Scale.GROUP;
        private PolicyLoss.Aggregation aggregation = PolicyLoss.Aggregation.SEQUENCE_MEAN;
        private boolean sequenceRatio, dynamicSampling;

        private Builder() { super(100, 1e-4, 5, 16, 8); }

        public Builder groupSize(int v) { return samplesPerPrompt(v); }
        public Builder updatesPerRollout(int v) { updatesPerRollout = v; return this; }
        public Builder epsLow(double v) { epsLow = v; return this; }
        public Builder epsHigh(double v) { epsHigh = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder kl(PolicyLoss.KlEstimator v) { kl = v; return this; }
        public Builder estimator(Advantages.Estimator v) { estimator = v; return this; }
        public Builder scale(Advantages.Scale v) { scale = v; return this; }
        public Builder aggregation(PolicyLoss.Aggregation v) { aggregation = v; return this; }
        public Builder sequenceRatio(boolean v) { sequenceRatio = v; return this; }
        public Builder dynamicSampling(boolean v) { dynamicSampling = v; return this; }

        public GrpoConfig build() {
            return new GrpoConfig(run(), rollouts(), updatesPerRollout, epsLow, epsHigh, beta, kl, estimator, scale, aggregation, sequenceRatio, dynamicSampling);
        }
    }
}
