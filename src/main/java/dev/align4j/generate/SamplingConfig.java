package dev.align4j.generate;

import dev.align4j.core.UserError;

import java.util.List;

/**
 * How to sample. Validated on construction.
 *
 * @param maxNewTokens most tokens generated per row (≥ 1)
 * @param temperature  0 = greedy; otherwise logits are divided by it (> 0)
 * @param topK         keep the k most likely tokens (0 = off)
 * @param topP         nucleus: keep the smallest set with probability ≥ p (1 = off)
 * @param seed         every sampling choice follows it
 * @param stopStrings  a row stops once its text contains one; the text is cut before it
 */
public record SamplingConfig(int maxNewTokens, double temperature, int topK, double topP, long seed, List<String> stopStrings) {
    public SamplingConfig {
        UserError.check(maxNewTokens >= 1, "max-new-tokens must be >= 1: %s", maxNewTokens);
        UserError.check(temperature >= 0, "temperature must be >= 0 (0 = greedy): %s", temperature);
        UserError.check(topK >= 0, "top-k must be >= 0 (0 = off): %s", topK);
        UserError.check(topP > 0 && topP <= 1, "top-p must be in (0, 1]: %s", topP);
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
    }

    public static SamplingConfig greedy(int maxNewTokens) {
        return new SamplingConfig(maxNewTokens, 0, 0, 1, 0, List.of());
    }

    public SamplingConfig withSeed(long s) {
        return new SamplingConfig(maxNewTokens, temperature, topK, topP, s, stopStrings);
    }
}
