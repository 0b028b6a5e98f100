package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.train.RunConfig;

/**
 * Online DPO settings (Guo et al. 2024, "Direct language model alignment from online AI feedback"); defaults in
 * {@link Builder}. Each prompt gets {@code rollouts.samplesPerPrompt} completions (2 by default); the best and the
 * worst form its pair.
 *
 * @param loss           a DPO-family loss with a reference model (sigmoid, ipo, hinge, …)
 * @param beta           the loss's β
 * @param labelSmoothing cDPO / robust ε
 */
public record OnlineDpoConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, PreferenceLoss.Variant loss, double beta,
                              double labelSmoothing) {
    public OnlineDpoConfig {
        RolloutConfig.requireNoAccumulation(run);
        UserError.check(rollouts.samplesPerPrompt() >= 2, "online DPO compares samples of one prompt: samples-per-prompt must be >= 2, not %s", rollouts.samplesPerPrompt());
        UserError.check(!loss.referenceFree() && loss != PreferenceLoss.Variant.BCO_PAIR,
                "online DPO takes a loss with a reference model and no running state (not %s)", loss.name().toLowerCase());
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5)");
    }

    public static OnlineDpoConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() { return new Builder().run(run).rollouts(rollouts).loss(loss).beta(beta).labelSmoothing(labelSmoothing); }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends RolloutConfig.Builder<Builder> {
        private PreferenceLoss.Variant loss = PreferenceLoss.Variant.SIGMOID;
        private double beta = 0.1, labelSmoothing = 0;

        private Builder() { super(100, 5e-5, 5, 32, 2); }

        public Builder loss(PreferenceLoss.Variant v) { loss = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder labelSmoothing(double v) { labelSmoothing = v; return this; }

        public OnlineDpoConfig build() { return new OnlineDpoConfig(run(), rollouts(), loss, beta, labelSmoothing); }
    }
}
