package dev.align4j.task;

import java.util.List;

/**
 * A gold pairwise preference P*(a ≻ b | x): the probability that the simulated annotator prefers completion a over b
 * for the prompt of {@code ex}, with P*(a ≻ b) + P*(b ≻ a) = 1. For a transitive task it is the Bradley–Terry
 * preference of the gold reward, σ((r(a) − r(b))/τ); a task whose preference is general (possibly intransitive, as
 * {@link CycleTask}'s) implements {@link Classes} and supplies its own. Judges and the simulated annotator read it;
 * it never trains anything.
 */
@FunctionalInterface
public interface GoldPreference {
    /** P*(a ≻ b | ex.prompt), in [0, 1]. */
    double prob(Task.Example ex, String a, String b);

    /**
     * A gold preference that sees a completion only through one of a few classes (for {@link CycleTask}: its style and
     * whether its content is correct): P*(a ≻ b) = payoff[class(a)][class(b)], the same for every prompt. A policy's
     * behaviour then reduces to a distribution over the classes, and game quantities (win rates, exploitability:
     * {@code eval.Game}) are exact sums over the payoff matrix.
     */
    interface Classes extends GoldPreference {
        /** One name per class, in index order. */
        List<String> classNames();

        /** The class of {@code completion} for the prompt of {@code ex}. */
        int classOf(Task.Example ex, String completion);

        /** payoff[i][j] = P*(class i ≻ class j); payoff[i][j] + payoff[j][i] = 1, ½ on the diagonal. A fresh copy. */
        double[][] payoff();

        @Override
        default double prob(Task.Example ex, String a, String b) { return payoff()[classOf(ex, a)][classOf(ex, b)]; }
    }

    /**
     * The gold preference of a built-in task: the task's own for a {@link Classes} task (its noise is part of it, so
     * {@code temperature} is not used), otherwise the simulated annotator's Bradley–Terry preference of the gold reward at
     * {@code temperature} (0: 1 for the higher reward, ½ on a tie).
     */
    static GoldPreference of(Task t, double temperature) {
        if (t instanceof Classes c) return c;
        Annotator a = new Annotator(temperature, 0);
        return (ex, x, y) -> a.preferProbability(t.reward(ex, x), t.reward(ex, y));
    }
}
