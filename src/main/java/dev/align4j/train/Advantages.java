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

    /**
     * REINFORCE++ (Hu 2025) token-level advantages. Per-token reward r_t = −β·kl_t, plus the outcome reward on a
     * sequence's last token; the return G_t = Σ_{s ≥ t} r_s (γ = 1); advantages are the returns normalised over
     * every completion token of the batch, (G − mean) / (std + ε). With {@code groupSize} > 1 the outcome rewards
     * are first centred on their group's mean (REINFORCE++-baseline).
     *
     * @param outcome one reward per sequence
     * @param kl      per-token KL estimates log π_old − log π_ref, (N)(T); may be null when β = 0
     * @param lengths completion tokens per sequence (positions past it are ignored and get advantage 0)
     */
    public static double[][] reinforcePlusPlus(double[] outcome, double[][] kl, int[] lengths, double beta, int groupSize) {
        int n = outcome.length;
        double[] r = outcome.clone();
        if (groupSize > 1) {
            check(n, groupSize);
            for (int g = 0; g < n; g += groupSize) {
                double m = mean(outcome, g, groupSize);
                for (int i = g; i < g + groupSize; i++) r[i] = outcome[i] - m;
            }
        }
        int t = 0;
        for (int len : lengths) t = Math.max(t, len);
        double[][] ret = new double[n][t];
        double sum = 0, sq = 0;
        long count = 0;
        for (int i = 0; i < n; i++) {
            double g = 0;
            for (int j = lengths[i] - 1; j >= 0; j--) {
                double rt = (kl == null ? 0 : -beta * kl[i][j]) + (j == lengths[i] - 1 ? r[i] : 0);
                g += rt;
                ret[i][j] = g;
                sum += g;
                sq += g * g;
                count++;
            }
        }
        whitenInPlace(ret, lengths, sum, sq, count);
        return ret;
    }

    /**
     * Generalised advantage estimation (Schulman et al. 2016) per sequence, γ-discounted over its completion
     * tokens: δ_t = r_t + γ·V_{t+1} − V_t with V = 0 after the last token, A_t = δ_t + γλ·A_{t+1};
     * returns R_t = A_t + V_t are the critic's targets. Returns {advantages, returns}, each (N)(T).
     */
    public static double[][][] gae(double[][] rewards, double[][] values, int[] lengths, double gamma, double lambda) {
        int n = rewards.length;
        double[][] adv = new double[n][], ret = new double[n][];
        for (int i = 0; i < n; i++) {
            int t = rewards[i].length;
            adv[i] = new double[t];
            ret[i] = new double[t];
            double next = 0, a = 0;
            for (int j = lengths[i] - 1; j >= 0; j--) {
                double delta = rewards[i][j] + gamma * next - values[i][j];
                a = delta + gamma * lambda * a;
                adv[i][j] = a;
                ret[i][j] = a + values[i][j];
                next = values[i][j];
            }
        }
        return new double[][][]{adv, ret};
    }

    /** Advantage whitening over all valid tokens of the batch: (x − mean) / (std + ε), population std (as TRL / OpenRLHF). */
    public static double[][] whiten(double[][] x, int[] lengths) {
        double sum = 0, sq = 0;
        long count = 0;
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i].clone();
            for (int j = 0; j < lengths[i]; j++) { sum += x[i][j]; sq += x[i][j] * x[i][j]; count++; }
        }
        whitenInPlace(out, lengths, sum, sq, count);
        return out;
    }

    private static void whitenInPlace(double[][] x, int[] lengths, double sum, double sq, long count) {
        if (count == 0) return;
        double mean = sum / count, sd = Math.sqrt(Math.max(0, sq / count - mean * mean));
        for (int i = 0; i < x.length; i++)
            for (int j = 0; j < x[i].length; j++) x[i][j] = j < lengths[i] ? (x[i][j] - mean) / (sd + EPS) : 0;
    }

    /**
     * The adaptive KL controller of Ziegler et al. (2019): β ← β · (1 + K_β · e · n / horizon) with the
     * proportional error e = clip(KL / target − 1, −0.2, 0.2) and K_β = 1 as in their code; n = samples this step.
     */
    public static double adaptiveKl(double beta, double observedKl, double target, long samples, long horizon) {
        double e = Math.max(-0.2, Math.min(0.2, observedKl / target - 1));
        return beta * (1 + e * samples / horizon);
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
