package dev.align4j.train.online;

import dev.align4j.core.UserError;
import dev.align4j.train.RunConfig;

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

    /** The builder half shared by online configs: run settings plus rollout settings. */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<B extends Builder<B>> extends RunConfig.Builder<B> {
        private int promptsPerStep, samplesPerPrompt, maxNewTokens = 16;
        private double temperature = 1.0;

        protected Builder(int steps, double lr, int warmupSteps, int promptsPerStep, int samplesPerPrompt) {
            super(steps, lr, 0.0, warmupSteps);
            this.promptsPerStep = promptsPerStep;
            this.samplesPerPrompt = samplesPerPrompt;
        }

        public B promptsPerStep(int v) { promptsPerStep = v; return (B) this; }
        public B samplesPerPrompt(int v) { samplesPerPrompt = v; return (B) this; }
        public B maxNewTokens(int v) { maxNewTokens = v; return (B) this; }
        public B temperature(double v) { temperature = v; return (B) this; }

        protected RolloutConfig rollouts() { return new RolloutConfig(promptsPerStep, samplesPerPrompt, maxNewTokens, temperature); }
    }
}
