package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;

/**
 * Online DPO hyper-parameters (Guo et al. 2024, "Direct language model alignment from online AI feedback").
 *
 * @param steps          sample + update rounds
 * @param promptsPerStep prompts per round; each gets two completions
 * @param loss           a DPO-family loss with a reference model (sigmoid, ipo, hinge, …)
 * @param beta           the loss's β
 * @param labelSmoothing cDPO / robust ε
 */
public record OnlineDpoConfig(int steps, int promptsPerStep, int maxNewTokens, double temperature, PreferenceLoss.Variant loss, double beta,
                              double labelSmoothing, double lr, double weightDecay, int warmupSteps, double maxGradNorm,
                              int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite) {
    public OnlineDpoConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(steps >= 1 && promptsPerStep >= 1, "steps and prompts-per-step must be >= 1");
        UserError.check(maxNewTokens >= 1 && temperature > 0, "max-new-tokens must be >= 1 and temperature > 0 (two samples must differ)");
        UserError.check(!loss.referenceFree() && loss != PreferenceLoss.Variant.BCO_PAIR,
                "online DPO takes a loss with a reference model and no running state (not %s)", loss.name().toLowerCase());
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5)");
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
    }

    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }
}
