package dev.align4j.reward;

import dev.align4j.task.Task;

import java.util.List;

/**
 * Scores sampled completions: the one interface online trainers take a reward through. Implementations
 * ({@link Rewards}) cover built-in gold rewards, answer extraction with exact or numeric-tolerance matching,
 * regex format checks, length and overlong penalties, and learned reward models; {@link Rewards.Weighted}
 * combines them and reports each component.
 */
public interface RewardFunction {
    /** One completion to score. {@code example} carries the prompt and its reference answer. */
    record Sample(Task.Example example, String completion, int completionTokens, boolean truncated) {
        public String prompt() { return example.prompt(); }
    }

    /** Short name used in metrics ({@code reward/NAME}). */
    String name();

    /** One score per sample, in order. Batched so that a reward model scores many samples in one forward. */
    double[] score(List<Sample> samples);
}
