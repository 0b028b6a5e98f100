package dev.align4j.reward;

import dev.align4j.core.UserError;

/**
 * Combines the scores of several reward models for the same samples: {@code mean}, {@code min}
 * (pessimistic, against over-optimization of any one model; Coste et al. 2024), or
 * {@code mean − λ·std} (uncertainty-weighted optimization).
 */
public final class RewardEnsemble {
    private RewardEnsemble() {}

    public enum Aggregation { MEAN, MIN, MEAN_MINUS_STD }

    /** @param scores [model][sample] → one score per sample */
    public static double[] aggregate(double[][] scores, Aggregation how, double lambda) {
        if (scores.length == 0) throw new UserError("a reward ensemble needs at least one model");
        int n = scores[0].length, k = scores.length;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double sum = 0, min = Double.POSITIVE_INFINITY;
            for (double[] s : scores) { sum += s[i]; min = Math.min(min, s[i]); }
            double mean = sum / k;
            out[i] = switch (how) {
                case MEAN -> mean;
                case MIN -> min;
                case MEAN_MINUS_STD -> {
                    double var = 0;
                    for (double[] s : scores) var += (s[i] - mean) * (s[i] - mean);
                    yield mean - lambda * Math.sqrt(var / k);   // population std over the k models
                }
            };
        }
        return out;
    }
}
