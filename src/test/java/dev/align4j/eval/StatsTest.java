package dev.align4j.eval;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class StatsTest {
    /** C(n, k) as a double, the slow way. */
    static double choose(int n, int k) {
        if (k < 0 || k > n) return 0;
        double r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    @Test
    void passAtKByTheUnbiasedEstimator() {
        // n = 5 samples, c = 2 correct: pass@1 = c/n = 0.4; pass@2 = 1 − C(3,2)/C(5,2) = 1 − 3/10 = 0.7;
        // pass@3 = 1 − C(3,3)/C(5,3) = 1 − 1/10 = 0.9; pass@4 = 1 (n − c = 3 < 4: every 4-subset holds a correct one)
        assertEquals(0.4, Stats.passAtK(5, 2, 1), 1e-12);
        assertEquals(0.7, Stats.passAtK(5, 2, 2), 1e-12);
        assertEquals(0.9, Stats.passAtK(5, 2, 3), 1e-12);
        assertEquals(1.0, Stats.passAtK(5, 2, 4), 1e-12);
        assertEquals(0.0, Stats.passAtK(5, 0, 3), 1e-12);
        // the product form against the binomial form on many (n, c, k)
        Random r = new Random(7);
        for (int t = 0; t < 500; t++) {
            int n = 1 + r.nextInt(40), c = r.nextInt(n + 1), k = 1 + r.nextInt(n);
            assertEquals(1 - choose(n - c, k) / choose(n, k), Stats.passAtK(n, c, k), 1e-9, n + " " + c + " " + k);
        }
        assertThrows(IllegalArgumentException.class, () -> Stats.passAtK(5, 6, 1));
        assertThrows(IllegalArgumentException.class, () -> Stats.passAtK(5, 2, 6));
    }

    @Test
    void majorityVote() {
        assertTrue(Stats.majorityCorrect(Arrays.asList("4", "5", "4", null), "4"));
        assertFalse(Stats.majorityCorrect(List.of("5", "5", "4"), "4"));
        assertTrue(Stats.majorityCorrect(List.of("4", "5"), "4"), "a tie goes to the answer seen first");
        assertFalse(Stats.majorityCorrect(Arrays.asList(null, null), "4"));
        assertEquals("5", Stats.majority(List.of("4", "5", "5")));
        assertNull(Stats.majority(Arrays.asList(null, null)));
    }

    @Test
    void summaryOverSeeds() {
        // seeds 0.9, 0.1, 0.5: IQM cuts ⌊3/4⌋ = 0 → the mean (0.9 + 0.1 + 0.5) / 3 = 0.5; min 0.1, max 0.9
        Stats.Summary s = Stats.summary(new double[]{0.9, 0.1, 0.5}, 1000, 1);
        assertEquals(0.5, s.iqm(), 1e-12);
        assertEquals(0.5, s.mean(), 1e-12);
        assertEquals(0.1, s.min());
        assertEquals(0.9, s.max());
        assertArrayEquals(new double[]{0.9, 0.1, 0.5}, s.seeds());
        // resampled means of three values lie in [0.1, 0.9]; with 1000 replicates both tails are reached, so the 95% CI is strictly inside
        assertTrue(s.ciLow() >= 0.1 && s.ciLow() < 0.5 && s.ciHigh() > 0.5 && s.ciHigh() <= 0.9, s.toString());
    }

    @Test
    void winRateIsSymmetricWithTiesAsHalf() {
        double[] a = {1, 0, 0.5, 0.2}, b = {0, 1, 0.5, 0.1};
        // a wins items 1 and 4, loses item 2, ties item 3: (1 + 0 + ½ + 1) / 4 = 0.625
        assertEquals(0.625, Stats.winRate(a, b, 0), 1e-12);
        assertEquals(1 - 0.625, Stats.winRate(b, a, 0), 1e-12);
        assertEquals(0.5, Stats.winRate(a, a, 0), 1e-12);
        // within the tie tolerance 0.15 item 4 (0.2 vs 0.1) is a tie: (1 + 0 + ½ + ½) / 4 = 0.5
        assertEquals(0.5, Stats.winRate(a, b, 0.15), 1e-12);
        Random r = new Random(3);
        for (int t = 0; t < 100; t++) {
            double[] x = new double[10], y = new double[10];
            for (int i = 0; i < 10; i++) { x[i] = r.nextInt(3); y[i] = r.nextInt(3); }
            assertEquals(1.0, Stats.winRate(x, y, 0) + Stats.winRate(y, x, 0), 1e-12);
        }
    }

    @Test
    void interquartileMean() {
        // 8 values: cut ⌊8/4⌋ = 2 from each end of 1..8 → mean(3, 4, 5, 6) = 4.5; an outlier in the tails changes nothing
        assertEquals(4.5, Stats.iqm(new double[]{8, 1, 7, 2, 6, 3, 5, 4}), 1e-12);
        assertEquals(4.5, Stats.iqm(new double[]{800, -100, 7, 2, 6, 3, 5, 4}), 1e-12);
        // 5 values: cut 1 from each end → mean(2, 3, 4) = 3; 3 values: cut 0 → the mean
        assertEquals(3.0, Stats.iqm(new double[]{5, 1, 4, 2, 3}), 1e-12);
        assertEquals(2.0, Stats.iqm(new double[]{1, 2, 3}), 1e-12);
        // a runs × tasks matrix pools its scores
        assertEquals(4.5, Stats.iqm(new double[][]{{1, 2}, {3, 4}, {5, 6}, {7, 8}}), 1e-12);
    }

    @Test
    void stratifiedBootstrapAgainstASlowReference() {
        double[][] m = {{0.1, 0.5}, {0.4, 0.9}, {0.2, 0.6}, {0.8, 0.7}, {0.3, 0.4}};
        Stats.Interval ci = Stats.bootstrap(m, Stats::iqm, 2000, 0.05, 11);
        // the slow reference: the same draws (one SplittableRandom, per replicate task by task, run by run), each
        // replicate's matrix built as a fresh copy, its IQM by sorting the pooled list, quantiles by their definition
        java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
        double[] draws = new double[2000];
        for (int rep = 0; rep < 2000; rep++) {
            double[][] s = new double[5][2];
            for (int t = 0; t < 2; t++) for (int i = 0; i < 5; i++) s[i][t] = m[rng.nextInt(5)][t];
            List<Double> pooled = new java.util.ArrayList<>();
            for (double[] row : s) for (double v : row) pooled.add(v);
            java.util.Collections.sort(pooled);
            draws[rep] = pooled.subList(2, 8).stream().mapToDouble(Double::doubleValue).average().orElseThrow();   // 10 values: cut 2 each end
        }
        Arrays.sort(draws);
        double lo = draws[(int) Math.floor(0.025 * 1999)] + (0.025 * 1999 - Math.floor(0.025 * 1999)) * (draws[(int) Math.floor(0.025 * 1999) + 1] - draws[(int) Math.floor(0.025 * 1999)]);
        double hi = draws[(int) Math.floor(0.975 * 1999)] + (0.975 * 1999 - Math.floor(0.975 * 1999)) * (draws[(int) Math.floor(0.975 * 1999) + 1] - draws[(int) Math.floor(0.975 * 1999)]);
        assertEquals(lo, ci.low(), 1e-12);
        assertEquals(hi, ci.high(), 1e-12);
        assertEquals(Stats.iqm(m), ci.estimate(), 1e-12);
        assertTrue(ci.low() < ci.estimate() && ci.estimate() < ci.high(), ci.toString());
        // constant scores: a zero-width interval; the mean of many normal draws: close to mean ± 1.96 σ/√n
        Stats.Interval flat = Stats.bootstrap(new double[][]{{1}, {1}, {1}}, Stats::iqm, 200, 0.05, 1);
        assertEquals(0, flat.high() - flat.low(), 1e-12);
        Random r = new Random(5);
        double[][] normal = new double[400][1];
        for (double[] row : normal) row[0] = r.nextGaussian();
        Stats.Interval mean = Stats.bootstrap(normal, x -> Arrays.stream(x).mapToDouble(row -> row[0]).average().orElseThrow(), 4000, 0.05, 2);
        assertEquals(2 * 1.96 / Math.sqrt(400), mean.high() - mean.low(), 0.02);
    }
}
