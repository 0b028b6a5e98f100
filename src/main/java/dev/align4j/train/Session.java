package dev.align4j.train;

import dev.align4j.core.Metrics;
import dev.align4j.model.Tokenizer;

import java.nio.file.Path;

/**
 * Where a training run reads and writes, apart from its config: the tokenizer, the output directory (null =
 * no checkpoints, as in tests), the metrics sink, the held-out evaluation (may be null) and what to resume
 * from (null = fresh; an empty path = the newest checkpoint in {@code output}).
 */
public record Session(Tokenizer tok, Path output, Metrics metrics, EvalHook eval, Path resume) {
    /** No output directory, quiet in-memory metrics, no evaluation: for tests and pipelines that save themselves. */
    public static Session inMemory(Tokenizer tok) {
        return new Session(tok, null, Metrics.inMemory().quiet(true), null, null);
    }

    public Session withMetrics(Metrics v) { return new Session(tok, output, v, eval, resume); }
    public Session withEval(EvalHook v) { return new Session(tok, output, metrics, v, resume); }
}
