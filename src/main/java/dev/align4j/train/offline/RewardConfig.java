package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.train.RunConfig;

/**
 * Reward-model training settings; defaults in {@link Builder}.
 *
 * @param centering η of the reward-centering term η·(r_c + r_r)² (0 = off)
 */
public record RewardConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, double centering) {
    public RewardConfig {
        UserError.check(centering >= 0, "center-rewards must be >= 0: %s", centering);
    }

    public static RewardConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() { return new Builder().run(run).batching(batching).centering(centering); }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends Batching.Builder<Builder> {
        private double centering = 0;

        private Builder() { super(300, 1e-4, 0.0, 20, 32); }

        public Builder centering(double v) { centering = v; return this; }

        public RewardConfig build() { return new RewardConfig(run(), batching(), centering); }
    }
}
