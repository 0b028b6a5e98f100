package dev.align4j.train.online;

import dev.align4j.core.Configs;
import dev.align4j.core.UserError;
import dev.align4j.train.RunConfig;

import java.util.Map;

/**
 * How an online method samples each step: B prompts, G completions of each, at a temperature, within a token budget.
 *
 * @param promptsPerStep   B
 * @param samplesPerPrompt G (GRPO's group size)
 * @param maxNewTokens     generation budget per completion
 * @param temperature      sampling temperature of the rollouts (&gt; 0)
 */
public record RolloutConfig(int promptsPerStep, int samplesPerPrompt, int maxNewTokens, double temperature) {
    public RolloutConfig {
        UserError.check(promptsPerStep >= 1 && samplesPerPrompt >= 1, "prompts-per-step and samples-per-prompt must be >= 1");
        UserError.check(maxNewTokens >= 1, "max-new-tokens must be >= 1: %s", maxNewTokens);
        UserError.check(temperature > 0, "temperature must be > 0 for rollouts: %s", temperature);
    }

    /** Sequences per rollout, B·G. */
    public int size() { return promptsPerStep * samplesPerPrompt; }

    /** Online methods take one micro-batch per update (they split a rollout with their own minibatches). */
    static void requireNoAccumulation(RunConfig run) {
        UserError.check(run.gradAccum() == 1, "online methods update on whole rollouts or their own minibatches: grad-accum must be 1, not %s", run.gradAccum());
    }

    /** Defaults shared by online configs: the run settings' and the rollouts'. */
    public static final Map<String, Object> COMMON = Configs.plus(RunConfig.COMMON, "maxNewTokens", 16, "temperature", 1.0);
}
