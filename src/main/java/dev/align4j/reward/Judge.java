package dev.align4j.reward;

import dev.align4j.task.Task;

import java.util.List;

/**
 * A pairwise judge: the probability that completion a is preferred to completion b for a prompt, P(a ≻ b | x), with
 * P(a ≻ b) + P(b ≻ a) = 1. The general-preference trainers (SPPO, Nash-MD, INPO, DNO, SPO) take their feedback through
 * it, as reward-maximising trainers take theirs through {@link RewardFunction}. Implementations ({@link Judges}): a
 * trained pairwise preference model ({@code pm:DIR}), a Bradley–Terry reward model ({@code rm:DIR}: σ(r(a) − r(b))) and
 * a built-in task's gold preference ({@code gold}). Batched, so that a model judges many pairs in one forward.
 */
public interface Judge extends AutoCloseable {
    /** Short name for metrics and logs ({@code pm}, {@code rm}, {@code gold}). */
    String name();

    /**
     * P(a_i ≻ b_i | x_i) for each row. {@code examples} carry the prompt and, for built-in tasks, the reference answer the
     * gold preference needs (a model judge reads only the prompt).
     */
    double[] prob(List<Task.Example> examples, List<String> a, List<String> b);

    /** Releases a model judge's weights. */
    @Override default void close() {}
}
