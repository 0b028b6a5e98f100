package dev.align4j.eval;

/**
 * How well a judge's probabilities match how often it is right: verdict accuracy, the majority-class rate it has to beat,
 * and the expected calibration error (Guo et al. 2017, "On Calibration of Modern Neural Networks", arXiv 1706.04599):
 * <pre>  ECE = Σ_m (|B_m| / n) · |acc(B_m) − conf(B_m)|</pre>
 * over M equal-width bins of the confidence of the predicted class, conf = max(p, 1 − p) for a binary verdict with
 * P(yes) = p, acc the share of the bin whose predicted class (yes when p &gt; ½; p = ½ predicts no) is the gold one.
 * Pure arithmetic on arrays; never reads a model.
 */
public final class Calibration {
    private Calibration() {}

    /** The numbers a judge reports on held-out verdicts. */
    public record Report(double accuracy, double majorityRate, double ece, double meanProb, double yesRate, int n) {}

    public static Report of(double[] p, boolean[] gold, int bins) {
        int n = p.length, right = 0, yes = 0;
        double mean = 0;
        for (int i = 0; i < n; i++) {
            if ((p[i] > 0.5) == gold[i]) right++;
            if (gold[i]) yes++;
            mean += p[i];
        }
        double yesRate = n == 0 ? 0 : (double) yes / n;
        return new Report(n == 0 ? 0 : (double) right / n, Math.max(yesRate, 1 - yesRate), ece(p, gold, bins), n == 0 ? 0 : mean / n, yesRate, n);
    }

    /** ECE over {@code bins} equal-width bins of [0, 1] (confidence 1 falls in the last bin). */
    public static double ece(double[] p, boolean[] gold, int bins) {
        if (bins < 1) throw new IllegalArgumentException("bins must be >= 1: " + bins);
        double[] conf = new double[bins], acc = new double[bins];
        int[] count = new int[bins];
        for (int i = 0; i < p.length; i++) {
            double c = Math.max(p[i], 1 - p[i]);
            int b = Math.min(bins - 1, (int) Math.floor(c * bins));
            conf[b] += c;
            acc[b] += (p[i] > 0.5) == gold[i] ? 1 : 0;
            count[b]++;
        }
        double e = 0;
        for (int b = 0; b < bins; b++) if (count[b] > 0) e += (double) count[b] / p.length * Math.abs(acc[b] / count[b] - conf[b] / count[b]);
        return e;
    }
}
