package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.train.RunConfig;

/**
 * KTO settings; defaults in {@link Builder}.
 *
 * @param beta              temperature β
 * @param desirableWeight   λ_D, weight of thumbs-up examples
 * @param undesirableWeight λ_U, weight of thumbs-down examples (the paper suggests λ_D·n_D / (λ_U·n_U) ∈ [1, 4/3])
 */
public record KtoConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, double beta, double desirableWeight, double undesirableWeight) {
    public KtoConfig {
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(desirableWeight > 0 && undesirableWeight > 0, "desirable-weight and undesirable-weight must be > 0");
        UserError.check(batching.batchSize() >= 2, "batch-size must be >= 2 (the KL estimate pairs rows): %s", batching.batchSize());
    }

    public static KtoConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() { return new Builder().run(run).batching(batching).beta(beta).desirableWeight(desirableWeight).undesirableWeight(undesirableWeight); }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends Batching.Builder<Builder> {
        private double beta = 0.1, desirableWeight = 1.0, undesirableWeight = 1.0;

        private Builder() { super(300, 5e-5, 0.0, 20, 32); }

        public Builder beta(double v) { beta = v; return this; }
        public Builder desirableWeight(double v) { desirableWeight = v; return this; }
        public Builder undesirableWeight(double v) { undesirableWeight = v; return this; }

        public KtoConfig build() { return new KtoConfig(run(), batching(), beta, desirableWeight, undesirableWeight); }
    }
}
