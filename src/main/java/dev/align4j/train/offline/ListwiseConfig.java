package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.loss.ListwiseLoss;
import dev.align4j.train.RunConfig;

/**
 * Listwise preference optimization settings; defaults in {@link Builder}. {@code batchSize} counts lists.
 *
 * @param loss      LIPO_LAMBDA, LIST_MLE or PRO
 * @param beta      temperature of the implicit rewards s = β·log(π/π_ref) (LiPO-λ, ListMLE)
 * @param nllWeight PRO's weight on the NLL of the best completion
 */
public record ListwiseConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, ListwiseLoss.Variant loss, double beta, double nllWeight) {
    public ListwiseConfig {
        UserError.check(loss != null, "listwise: a loss is required");
        UserError.check(beta > 0, "beta must be > 0: %s", beta);
        UserError.check(nllWeight >= 0, "nll-weight must be >= 0: %s", nllWeight);
    }

    public static ListwiseConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() { return new Builder().run(run).batching(batching).loss(loss).beta(beta).nllWeight(nllWeight); }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends Batching.Builder<Builder> {
        private ListwiseLoss.Variant loss = ListwiseLoss.Variant.LIPO_LAMBDA;
        private double beta = 0.1, nllWeight = 1.0;

        private Builder() { super(300, 5e-5, 0.0, 20, 8); }

        public Builder loss(ListwiseLoss.Variant v) { loss = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder nllWeight(double v) { nllWeight = v; return this; }

        public ListwiseConfig build() { return new ListwiseConfig(run(), batching(), loss, beta, nllWeight); }
    }
}
