package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.train.RunConfig;

/** Supervised fine-tuning settings: the run settings and batching; defaults in {@link Builder}. */
public record SftConfig(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching) {
    public static SftConfig defaults() { return builder().build(); }
    public static Builder builder() { return new Builder(); }
    public Builder toBuilder() { return new Builder().run(run).batching(batching); }
    public ObjectNode toJson() { return Json.MAPPER.valueToTree(this); }

    public static final class Builder extends Batching.Builder<Builder> {
        private Builder() { super(1000, 1e-3, 0.01, 50, 32); }
        public SftConfig build() { return new SftConfig(run(), batching()); }
    }
}
