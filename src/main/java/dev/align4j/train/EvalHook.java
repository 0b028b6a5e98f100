package dev.align4j.train;

import java.util.Map;

/** Called by the loop at evaluation steps; returns metrics to log under stage {@code eval/STAGE}. */
@FunctionalInterface
public interface EvalHook {
    Map<String, Double> evaluate(long step);
}
