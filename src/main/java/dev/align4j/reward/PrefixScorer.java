package dev.align4j.reward;

import java.util.List;

/**
 * Scores partial solutions: a prompt and the text written so far (possibly unfinished, possibly a whole completion).
 * Search and guided decoding rank candidates through it: a process reward model scores the steps written so far, a
 * value model estimates the expected outcome reward from here. Higher is better; one score per row, in order.
 */
public interface PrefixScorer extends AutoCloseable {
    /** Short name for metrics and logs ({@code prm}, {@code value}). */
    String name();

    /** One score per (prompt, partial completion) row; batched so that a model scores many rows in one forward. */
    double[] score(List<String> prompts, List<String> partials);

    @Override default void close() {}
}
