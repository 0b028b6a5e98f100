package dev.align4j.task;

import dev.align4j.core.UserError;

import java.util.*;

/**
 * A simulated annotator that turns gold rewards into every kind of feedback align4j accepts. Noise has
 * one knob, the temperature τ (0 = a perfect annotator):
 * <ul>
 * <li>pairwise: a ≻ b with probability σ((r_a − r_b)/τ) — a Bradley–Terry model (ties: a coin flip); for a task with a
 * general gold preference ({@link GoldPreference.Classes}) a draw from P*(a ≻ b) itself ({@link #prefersWith});</li>
 * <li>ranked lists: a Plackett–Luce draw with scores r/τ (Gumbel-max: sort r_i/τ + G_i);</li>
 * <li>unpaired labels: good with probability σ((r − 0.5)/τ);</li>
 * <li>ratings 1–5: round(1 + 4·clip(r + N(0, τ²))).</li>
 * </ul>
 */
public final class Annotator {
    private final double temperature;
    private final Random rng;

    public Annotator(double temperature, long seed) {
        UserError.check(temperature >= 0, "annotator temperature must be >= 0: %s", temperature);
        this.temperature = temperature;
        this.rng = new Random(seed);
    }

    public double temperature() { return temperature; }

    static double sigmoid(double x) { return 1 / (1 + Math.exp(-x)); }

    /** Probability that a is preferred over b. */
    public double preferProbability(double ra, double rb) {
        if (ra == rb) return 0.5;
        if (temperature == 0) return ra > rb ? 1 : 0;
        return sigmoid((ra - rb) / temperature);
    }

    /** True when the annotator prefers a over b. */
    public boolean prefers(double ra, double rb) { return rng.nextDouble() < preferProbability(ra, rb); }

    /**
     * True when the annotator prefers a over b under a general preference {@code p} = P*(a ≻ b): a draw from it, so the
     * label frequencies are P*; at temperature 0 (a perfect annotator) the majority direction, p &gt; ½ (½: a coin flip).
     * The preference's own noise is part of P*, so τ does not rescale it.
     */
    public boolean prefersWith(double p) {
        if (temperature == 0 && p != 0.5) return p > 0.5;
        return rng.nextDouble() < p;
    }

    /** Indices of the completions from best to worst. */
    public int[] rank(double[] rewards) {
        Integer[] idx = new Integer[rewards.length];
        double[] key = new double[rewards.length];
        for (int i = 0; i < rewards.length; i++) {
            idx[i] = i;
            double g = -Math.log(-Math.log(Math.max(1e-300, rng.nextDouble())));
            key[i] = temperature == 0 ? rewards[i] + 1e-9 * rng.nextDouble() : rewards[i] / temperature + g;
        }
        Arrays.sort(idx, (a, b) -> Double.compare(key[b], key[a]));
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    /** An unpaired thumbs-up / thumbs-down. */
    public boolean label(double reward) {
        double p = temperature == 0 ? (reward > 0.5 ? 1 : reward == 0.5 ? 0.5 : 0) : sigmoid((reward - 0.5) / temperature);
        return rng.nextDouble() < p;
    }

    /** A 1–5 rating. */
    public int rating(double reward) {
        double r = Math.min(1, Math.max(0, reward + temperature * rng.nextGaussian()));
        return (int) Math.round(1 + 4 * r);
    }
}
