package dev.align4j.eval;

import java.util.Arrays;
import java.util.DoubleSummaryStatistics;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * The statistics the field reports an evaluation with: pass@k by its unbiased estimator, majority vote, win rate with
 * ties as half, the interquartile mean, and stratified-bootstrap confidence intervals over seeds (runs) and tasks.
 * Pure functions on plain arrays.
 */
public final class Stats {
    private Stats() {}

    /**
     * pass@k from n samples of which c are correct, unbiased (Chen et al. 2021, "Evaluating Large Language Models Trained
     * on Code", eq. 1): 1 − C(n−c, k) / C(n, k), computed as 1 − ∏_{i=n−c+1}^{n} (1 − k/i) to avoid huge binomials.
     */
    public static double passAtK(int n, int c, int k) {
        if (n < 1 || c < 0 || c > n || k < 1 || k > n) throw new IllegalArgumentException("pass@k needs 0 <= c <= n and 1 <= k <= n: n=" + n + " c=" + c + " k=" + k);
        if (n - c < k) return 1.0;
        double miss = 1.0;
        for (int i = n - c + 1; i <= n; i++) miss *= 1.0 - (double) k / i;
        return 1.0 - miss;
    }

    /** maj@k: whether the most frequent answer among the samples (ties: the one seen first; null answers ignored) is the gold one. */
    public static boolean majorityCorrect(List<String> answers, String gold) {
        String best = majority(answers);
        return best != null && best.equals(gold);
    }

    /** The most frequent answer (ties: the one that reached the top count first; null answers ignored), or null when there is none. */
    public static String majority(List<String> answers) {
        Map<String, Integer> counts = new HashMap<>();
        String best = null;
        int bestCount = 0;
        for (String a : answers) {
            if (a == null) continue;
            int c = counts.merge(a, 1, Integer::sum);
            if (c > bestCount) { best = a; bestCount = c; }
        }
        return best;
    }

    /**
     * The win rate of A over B on paired items: P(a &gt; b) + ½ P(a = b). Symmetric: winRate(a, b) = 1 − winRate(b, a).
     * Scores within {@code tie} of each other are a tie.
     */
    public static double winRate(double[] a, double[] b, double tie) {
        if (a.length != b.length || a.length == 0) throw new IllegalArgumentException("win rate needs paired, non-empty scores: " + a.length + " vs " + b.length);
        double w = 0;
        for (int i = 0; i < a.length; i++) w += Math.abs(a[i] - b[i]) <= tie ? 0.5 : a[i] > b[i] ? 1 : 0;
        return w / a.length;
    }

    /**
     * The interquartile mean: the mean of the middle half of the sorted values, cutting ⌊n/4⌋ from each end (scipy's
     * {@code trim_mean(x, 0.25)}, which rliable uses; Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice").
     */
    public static double iqm(double[] x) {
        if (x.length == 0) throw new IllegalArgumentException("IQM of no values");
        double[] s = x.clone();
        Arrays.sort(s);
        int cut = (int) (0.25 * s.length);
        double sum = 0;
        for (int i = cut; i < s.length - cut; i++) sum += s[i];
        return sum / (s.length - 2 * cut);
    }

    /** The IQM of a runs × tasks score matrix, all scores pooled. */
    public static double iqm(double[][] runsByTasks) { return iqm(flatten(runsByTasks)); }

    /** A point estimate and its confidence interval. */
    public record Interval(double estimate, double low, double high) {}

    /**
     * A percentile confidence interval by the stratified bootstrap (rliable's {@code StratifiedBootstrap}): each replicate
     * resamples, with replacement, the runs (seeds) of every task independently, and computes {@code statistic} on the
     * resampled runs × tasks matrix; the interval is the (α/2, 1 − α/2) quantiles of {@code reps} replicates.
     */
    public static Interval bootstrap(double[][] runsByTasks, ToDoubleFunction<double[][]> statistic, int reps, double alpha, long seed) {
        int runs = runsByTasks.length, tasks = runsByTasks[0].length;
        double[] draws = new double[reps];
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] sample = new double[runs][tasks];
        for (int r = 0; r < reps; r++) {
            for (int t = 0; t < tasks; t++)
                for (int i = 0; i < runs; i++) sample[i][t] = runsByTasks[rng.nextInt(runs)][t];
            draws[r] = statistic.applyAsDouble(sample);
        }
        Arrays.sort(draws);
        return new Interval(statistic.applyAsDouble(runsByTasks), quantile(draws, alpha / 2), quantile(draws, 1 - alpha / 2));
    }

    /**
     * One metric over the seeds (runs) of a recipe, as Agarwal et al. 2021 report it: each seed's value, the IQM with its
     * 95% stratified-bootstrap percentile CI (runs = seeds, one task), and the plain mean, min and max.
     */
    public record Summary(double[] seeds, double iqm, double ciLow, double ciHigh, double mean, double min, double max) {}

    public static Summary summary(double[] seeds, int reps, long seed) {
        double[][] runs = new double[seeds.length][];
        for (int i = 0; i < seeds.length; i++) runs[i] = new double[]{seeds[i]};
        Interval ci = bootstrap(runs, Stats::iqm, reps, 0.05, seed);
        DoubleSummaryStatistics s = Arrays.stream(seeds).summaryStatistics();
        return new Summary(seeds.clone(), ci.estimate(), ci.low(), ci.high(), s.getAverage(), s.getMin(), s.getMax());
    }

    /** The q-quantile of sorted values, interpolating linearly between order statistics (numpy's default). */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    private static double[] flatten(double[][] m) {
        return Arrays.stream(m).flatMapToDouble(Arrays::stream).toArray();
    }
}
