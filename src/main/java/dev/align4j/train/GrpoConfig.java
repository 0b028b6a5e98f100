package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.PolicyLoss;

/**
 * GRPO-family hyper-parameters.
 *
 * @param steps             rollout + update rounds
 * @param promptsPerStep    prompts sampled per round (B)
 * @param groupSize         completions per prompt (G)
 * @param maxNewTokens      generation budget per completion
 * @param temperature       sampling temperature of the rollouts
 * @param updatesPerRollout optimizer steps on each rollout batch (μ); above 1 the old-policy log-probs are kept for the ratio
 * @param epsLow, epsHigh   clip range [1 − ε_low, 1 + ε_high] (DAPO's clip-higher: ε_high &gt; ε_low)
 * @param beta              KL coefficient (in the loss; in the per-token reward for REINFORCE++); 0 skips the reference model entirely
 * @param kl                KL estimator (k3 in GRPO)
 * @param estimator         GRPO, RLOO, REINFORCE_PP or REINFORCE_PP_BASELINE (see {@link Estimator})
 * @param scale             GROUP, BATCH or NONE (Dr. GRPO) scaling of GRPO advantages
 * @param aggregation       SEQUENCE_MEAN (GRPO), TOKEN_MEAN (DAPO) or CONSTANT (Dr. GRPO)
 * @param sequenceRatio     GSPO's sequence-level importance ratio
 * @param dynamicSampling   drop groups whose rewards are all equal (DAPO)
 */
public record GrpoConfig(int steps, int promptsPerStep, int groupSize, int maxNewTokens, double temperature, int updatesPerRollout,
                         double lr, double weightDecay, int warmupSteps, double maxGradNorm, double epsLow, double epsHigh, double beta,
                         PolicyLoss.KlEstimator kl, Estimator estimator, Advantages.Scale scale, PolicyLoss.Aggregation aggregation,
                         boolean sequenceRatio, boolean dynamicSampling, int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite) {
    /**
     * GRPO (group-normalised outcome advantages), RLOO (leave-one-out baseline), REINFORCE_PP (REINFORCE++: KL in
     * the per-token reward, returns normalised over the global batch) or REINFORCE_PP_BASELINE (the same after
     * centring each group's rewards).
     */
    public enum Estimator { GRPO, RLOO, REINFORCE_PP, REINFORCE_PP_BASELINE;
        /** Whether β·KL goes into the per-token reward (REINFORCE++) rather than into the loss (GRPO). */
        public boolean klInReward() { return this == REINFORCE_PP || this == REINFORCE_PP_BASELINE; }
    }

    public GrpoConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(steps >= 1 && promptsPerStep >= 1, "steps and prompts-per-step must be >= 1");
        UserError.check(groupSize >= 2 || (estimator == Estimator.REINFORCE_PP && groupSize >= 1),
                "group-size must be >= 2 (advantages compare completions of one prompt; only reinforce++ works with 1): %s", groupSize);
        UserError.check(maxNewTokens >= 1, "max-new-tokens must be >= 1: %s", maxNewTokens);
        UserError.check(temperature > 0, "temperature must be > 0 for rollouts: %s", temperature);
        UserError.check(updatesPerRollout >= 1, "updates-per-rollout must be >= 1: %s", updatesPerRollout);
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
        UserError.check(epsLow >= 0 && epsLow < 1 && epsHigh >= 0, "clip epsilons must satisfy 0 <= eps-low < 1 and eps-high >= 0");
        UserError.check(beta >= 0, "beta must be >= 0: %s", beta);
    }

    /** The metrics stage and checkpoint trainer name: grpo, rloo or reinforce++. */
    public String stage() {
        return switch (estimator) {
            case GRPO -> "grpo";
            case RLOO -> "rloo";
            default -> "reinforce++";
        };
    }

    public static GrpoConfig defaults() {
        return new GrpoConfig(200, 16, 8, 16, 1.0, 1, 1e-4, 0, 10, 1.0, 0.2, 0.2, 0.0, PolicyLoss.KlEstimator.K3,
                Estimator.GRPO, Advantages.Scale.GROUP, PolicyLoss.Aggregation.SEQUENCE_MEAN, false, false, 0, 0, 2, 0, NonFinite.STOP);
    }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
