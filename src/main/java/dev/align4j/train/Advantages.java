package dev.align4j.train;

/**
 * Advantage estimators for outcome rewards, as pure functions over arrays. Rewards of one prompt's G
 * completions are contiguous: group g holds indices g·G … g·G + G − 1.
 */
public final class Advantages {
    private Advantages() {}

    /** How GRPO scales the group-centred rewards. */
    public enum Scale {
        /** (r − mean_group) / (std_group + ε): GRPO (Shao et al. 2024). */
        GROUP,
        /** (r − mean_group) / (std_batch + ε): batch-level scaling (Liu et al. 2025 recommend against per-group std). */
        BATCH,
        /** r − mean_group: Dr. GRPO (Liu et al. 2025). */
        NONE
    }

    static final double EPS = 1e-4;

    /** GRPO advantages; std is the unbiased sample standard deviation, as torch.std (TRL). */
    public static double[] grpo(double[] rewards, int groupSize, Scale scale) {
        int n = rewards.length;
        check(n, groupSize);
        double[] a = new double[n];
        double batchStd = std(rewards, 0, n);
        for (int g = 0; g < n; g += groupSize) {
            double mean = mean(rewards, g, groupSize);
            double sd = scale == Scale.GROUP ? std(rewards, g, groupSize) : batchStd;
            for (int i = g; i < g + groupSize; i++)
                a[i] = scale == Scale.NONE ? rewards[i] - mean : (rewards[i] - mean) / (sd + EPS);
        }
        return a;
    }

    /** RLOO (Ahmadian et al. 2024): r_i − mean of the other G − 1 rewards of its group = G/(G−1)·(r_i − mean_group). */
    public static double[] rloo(double[] rewards, int groupSize) {
        check(rewards.length, groupSize);
        if (groupSize < 2) throw new IllegalArgumentException("RLOO needs at least 2 samples per prompt");
        double[] a = new double[rewards.length];
        for (int g = 0; g < rewards.length; g += groupSize) {
            double sum = 0;
            for (int i = g; i < g + groupSize; i++) sum += rewards[i];
            for (int i = g; i < g + groupSize; i++) a[i] = rewards[i] - (sum - rewards[i]) / (groupSize - 1);
        }
        return a;
    }

    /** REINFORCE++ (Hu 2025): rewards normalised over the whole batch, (r − mean_batch) / (std_batch + ε). */
    public static double[] batchNormalized(double[] values) {
        double mean = mean(values, 0, values.length), sd = std(values, 0, values.length);
        double[] a = new double[values.length];
        for (int i = 0; i < a.length; i++) a[i] = (values[i] - mean) / (sd + EPS);
        return a;
    }

    /** Whether every reward in the group is equal (the group then carries no GRPO signal). */
    public static boolean zeroStd(double[] rewards, int start, int groupSize) {
        for (int i = start + 1; i < start + groupSize; i++) if (rewards[i] != rewards[start]) return false;
        return true;
    }

    static double mean(double[] x, int from, int n) {
        double s = 0;
        for (int i = from; i < from + n; i++) s += x[i];
        return s / n;
    }

    static double std(double[] x, int from, int n) {
        if (n < 2) return 0;
        double m = mean(x, from, n), s = 0;
        for (int i = from; i < from + n; i++) s += (x[i] - m) * (x[i] - m);
        return Math.sqrt(s / (n - 1));
    }

    private static void check(int n, int g) {
        if (g < 1 || n % g != 0) throw new IllegalArgumentException(n + " rewards do not split into groups of " + g);
    }
}
