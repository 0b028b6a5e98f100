package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

/**
 * PPO hyper-parameters (Schulman et al. 2017; the RLHF recipe of Ziegler et al. 2019 / Ouyang et al. 2022).
 *
 * @param steps             rollout + update rounds
 * @param promptsPerStep    prompts per rollout
 * @param samplesPerPrompt  completions per prompt
 * @param maxNewTokens      generation budget
 * @param temperature       rollout temperature
 * @param epochs            passes over each rollout batch
 * @param miniBatches       minibatches per epoch (each an optimizer step for policy and critic)
 * @param lr, criticLr      peak learning rates of the policy and the critic
 * @param clip              policy ratio clip ε
 * @param valueClip         value clip ε_v (0 = off)
 * @param gamma, lambda     GAE discount and trace decay
 * @param whiten            whiten advantages over the batch
 * @param beta              initial KL coefficient (per-token −β·KL in the reward); 0 skips the reference model
 * @param klTarget          adaptive KL controller target (0 = fixed β)
 * @param klHorizon         adaptive KL controller horizon in samples
 * @param sharedTrunk       the value head sits on the policy's own trunk (one model, one optimizer, loss = policy + vfCoef · value)
 *                          instead of a separate critic model
 * @param vfCoef            value-loss coefficient when the trunk is shared (TRL's {@code vf_coef})
 */
public record PpoConfig(int steps, int promptsPerStep, int samplesPerPrompt, int maxNewTokens, double temperature, int epochs, int miniBatches,
                        double lr, double criticLr, double weightDecay, int warmupSteps, double maxGradNorm, double clip, double valueClip,
                        double gamma, double lambda, boolean whiten, double beta, double klTarget, long klHorizon,
                        boolean sharedTrunk, double vfCoef, int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite) {
    public PpoConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(steps >= 1 && promptsPerStep >= 1 && samplesPerPrompt >= 1, "steps, prompts-per-step and samples-per-prompt must be >= 1");
        UserError.check(maxNewTokens >= 1 && temperature > 0, "max-new-tokens must be >= 1 and temperature > 0");
        UserError.check(epochs >= 1 && miniBatches >= 1 && miniBatches <= promptsPerStep * samplesPerPrompt,
                "ppo-epochs >= 1 and 1 <= mini-batches <= rollout size (%s)", promptsPerStep * samplesPerPrompt);
        UserError.check(lr > 0 && lr < 1 && criticLr > 0 && criticLr < 1, "lr and critic-lr must be in (0, 1)");
        UserError.check(clip > 0 && clip < 1 && valueClip >= 0, "clip must be in (0, 1), value-clip >= 0");
        UserError.check(gamma > 0 && gamma <= 1 && lambda >= 0 && lambda <= 1, "gamma in (0, 1], lambda in [0, 1]");
        UserError.check(beta >= 0 && klTarget >= 0 && klHorizon > 0, "beta >= 0, kl-target >= 0, kl-horizon > 0");
        UserError.check(vfCoef > 0, "vf-coef must be > 0: %s", vfCoef);
        UserError.check(klTarget == 0 || beta > 0, "an adaptive KL controller (--kl-target) needs an initial --beta > 0");
    }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
