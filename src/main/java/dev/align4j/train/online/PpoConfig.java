package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.train.RunConfig;

/**
 * PPO settings (Schulman et al. 2017; the RLHF recipe of Ziegler et al. 2019 / Ouyang et al. 2022); defaults in {@link Builder}.
 *
 * @param epochs      passes over each rollout batch
 * @param miniBatches minibatches per epoch (each an optimizer step for policy and critic)
 * @param criticLr    peak learning rate of a separate critic (the builder's default: 2 × lr, at most 0.5)
 * @param clip        policy ratio clip ε
 * @param valueClip   value clip ε_v (0 = off)
 * @param gamma       GAE discount γ
 * @param lambda      GAE trace decay λ
 * @param whiten      whiten advantages over the batch
 * @param beta        initial KL coefficient (per-token −β·KL in the reward); 0 skips the reference model
 * @param klTarget    adaptive KL controller target (0 = fixed β)
 * @param klHorizon   adaptive KL controller horizon in samples
 * @param sharedTrunk the value head sits on the policy's own trunk (one model, one optimizer, loss = policy + vfCoef · value)
 *                    instead of a separate critic model
 * @param vfCoef      value-loss coefficient when the trunk is shared (TRL's {@code vf_coef})
 */
public record PpoConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, int epochs, int miniBatches, double criticLr,
                        double clip, double valueClip, double gamma, double lambda, boolean whiten, double beta, double klTarget,
                        long klHorizon, boolean sharedTrunk, double vfCoef) {
    public PpoConfig {
        RolloutConfig.requireNoAccumulation(run);
        UserError.check(epochs >= 1 && miniBatches >= 1 && miniBatches <= rollouts.size(),
                "ppo-epochs >= 1 and 1 <= mini-batches <= rollout size (%s)", rollouts.size());
        UserError.check(criticLr > 0 && criticLr < 1, "critic-lr must be in (0, 1): %s", criticLr);
        UserError.check(clip > 0 && clip < 1 && valueClip >= 0, "clip must be in (0, 1), value-clip >= 0");
        UserError.check(gamma > 0 && gamma <= 1 && lambda >= 0 && lambda <= 1, "gamma in (0, 1], lambda in [0, 1]");
        UserError.check(beta >= 0 && klTarget >= 0 && klHorizon > 0, "beta >= 0, kl-target >= 0, kl-horizon > 0");
        UserError.check(vfCoef > 0, "vf-coef must be > 0: %s", vfCoef);
        UserError.check(klTarget == 0 || beta > 0, "an adaptive KL controller (--kl-target) needs an initial --beta > 0");
    }

    public static PpoConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() {
        return new Builder().run(run).rollouts(rollouts).epochs(epochs).miniBatches(miniBatches).criticLr(criticLr).clip(clip).valueClip(valueClip)
                .gamma(gamma).lambda(lambda).whiten(whiten).beta(beta).klTarget(klTarget).klHorizon(klHorizon).sharedTrunk(sharedTrunk).vfCoef(vfCoef);
    }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends RolloutConfig.Builder<Builder> {
        private int epochs = 2, miniBatches = 2;
        private double criticLr = 0, clip = 0.2, valueClip = 0.2, gamma = 1.0, lambda = 0.95, beta = 0.02, klTarget = 0, vfCoef = 0.1;
        private boolean whiten = true, sharedTrunk;
        private long klHorizon = 10_000;

        private Builder() { super(100, 1e-4, 5, 32, 4); }

        public Builder epochs(int v) { epochs = v; return this; }
        public Builder miniBatches(int v) { miniBatches = v; return this; }
        /** 0 = twice the policy's lr (at most 0.5). */
        public Builder criticLr(double v) { criticLr = v; return this; }
        public Builder clip(double v) { clip = v; return this; }
        public Builder valueClip(double v) { valueClip = v; return this; }
        public Builder gamma(double v) { gamma = v; return this; }
        public Builder lambda(double v) { lambda = v; return this; }
        public Builder whiten(boolean v) { whiten = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder klTarget(double v) { klTarget = v; return this; }
        public Builder klHorizon(long v) { klHorizon = v; return this; }
        public Builder sharedTrunk(boolean v) { sharedTrunk = v; return this; }
        public Builder vfCoef(double v) { vfCoef = v; return this; }

        public PpoConfig build() {
            RunConfig run = run();
            return new PpoConfig(run, rollouts(), epochs, miniBatches, criticLr > 0 ? criticLr : Math.min(0.5, 2 * run.lr()), clip, valueClip,
                    gamma, lambda, whiten, beta, klTarget, klHorizon, sharedTrunk, vfCoef);
        }
    }
}
