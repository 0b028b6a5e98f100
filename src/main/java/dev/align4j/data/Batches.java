package dev.align4j.data;

import java.util.Random;

/**
 * Deterministic data order: epoch e is a fixed shuffle of the indices (seeded by seed and e), and batch
 * k is a fixed slice of it. The order depends only on (seed, k), so a resumed run sees exactly the
 * batches an uninterrupted one would.
 */
public final class Batches {
    private final int n, batchSize;
    private final long seed;
    private int cachedEpoch = -1;
    private int[] perm;

    public Batches(int n, int batchSize, long seed) {
        if (n <= 0) throw new IllegalArgumentException("empty dataset");
        this.n = n;
        this.batchSize = batchSize;
        this.seed = seed;
    }

    /** Indices of batch k (0-based), wrapping into later epochs. */
    public int[] batch(long k) {
        int[] out = new int[batchSize];
        for (int i = 0; i < batchSize; i++) {
            long flat = k * batchSize + i;
            int epoch = (int) (flat / n);
            out[i] = permutation(epoch)[(int) (flat % n)];
        }
        return out;
    }

    public double epoch(long k) { return (double) (k * batchSize) / n; }

    private int[] permutation(int epoch) {
        if (epoch != cachedEpoch) {
            Random r = new Random(seed * 1_000_003L + epoch);
            perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            cachedEpoch = epoch;
        }
        return perm;
    }
}
