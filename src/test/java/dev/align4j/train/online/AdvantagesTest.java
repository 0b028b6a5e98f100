package dev.align4j.train.online;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The token-level estimators (REINFORCE++, GAE, whitening) and the adaptive KL controller against hand-computed values. */
class AdvantagesTest {
    @Test
    void reinforcePlusPlusPutsKlInTheRewardAndNormalisesOverTheBatch() {
        // seq 0: outcome 1, kl (0.5, 0.1); seq 1: outcome 0, kl (0.2); β = 0.1
        // token rewards: seq 0: r0 = −0.05, r1 = −0.01 + 1 = 0.99 → returns G1 = 0.99, G0 = 0.94
        //                seq 1: r0 = −0.02 + 0 → G0 = −0.02
        // mean of {0.94, 0.99, −0.02} = 0.636667; population std = 0.464782
        // advantages = (G − mean) / (std + 1e-4) = 0.652495, 0.760050, −1.412545
        double[][] a = reinforcePlusPlus(new double[]{1, 0}, new double[][]{{0.5, 0.1}, {0.2, 0}}, new int[]{2, 1}, 0.1, 1);
        assertArrayEquals(new double[]{0.652495, 0.760050}, a[0], 1e-5);
        assertEquals(-1.412545, a[1][0], 1e-5);
        assertEquals(0.0, a[1][1], "positions past a sequence's end get no advantage");
    }

    @Test
    void reinforcePlusPlusBaselineCentresEachGroupFirst() {
        // groups {1, 0} and {0, 0}: centred 0.5, −0.5, 0, 0; one token each, no KL
        // mean 0, population std √((0.25 + 0.25) / 4) = 0.353553 → 0.5 / 0.353653 = 1.413814
        double[][] a = reinforcePlusPlus(new double[]{1, 0, 0, 0}, null, new int[]{1, 1, 1, 1}, 0.1, 2);
        assertEquals(1.413814, a[0][0], 1e-5);
        assertEquals(-1.413814, a[1][0], 1e-5);
        assertEquals(0.0, a[2][0], 1e-12);
        assertEquals(0.0, a[3][0], 1e-12);
    }

    @Test
    void gaeMatchesTheRecursionByHand() {
        // r = (0, 0, 1), V = (0.5, 0.6, 0.7), γ = 1, λ = 0.9
        // t=2: δ = 1 + 0 − 0.7 = 0.3;  A = 0.3;              R = 0.3 + 0.7 = 1.0
        // t=1: δ = 0 + 0.7 − 0.6 = 0.1; A = 0.1 + 0.9·0.3 = 0.37; R = 0.97
        // t=0: δ = 0 + 0.6 − 0.5 = 0.1; A = 0.1 + 0.9·0.37 = 0.433; R = 0.933
        double[][][] ar = gae(new double[][]{{0, 0, 1}}, new double[][]{{0.5, 0.6, 0.7}}, new int[]{3}, 1.0, 0.9);
        assertArrayEquals(new double[]{0.433, 0.37, 0.3}, ar[0][0], 1e-12);
        assertArrayEquals(new double[]{0.933, 0.97, 1.0}, ar[1][0], 1e-12);
        // λ = 0: A_t = δ_t (one-step TD); γ = 0.5 discounts the next value: t=1 (last of length 2): δ = 2 − 1 = 1;
        // t=0: δ = 0 + 0.5·1 − 1 = −0.5; position 2 is padding and stays 0
        double[][][] td = gae(new double[][]{{0, 2, 9}}, new double[][]{{1, 1, 9}}, new int[]{2}, 0.5, 0.0);
        assertArrayEquals(new double[]{-0.5, 1.0, 0.0}, td[0][0], 1e-12);
        // λ = 1, γ = 1: A_t = (Σ_{s≥t} r_s) − V_t, the Monte Carlo advantage: (1 − 0.5, 1 − 0.6, 1 − 0.7)
        double[][][] mc = gae(new double[][]{{0, 0, 1}}, new double[][]{{0.5, 0.6, 0.7}}, new int[]{3}, 1.0, 1.0);
        assertArrayEquals(new double[]{0.5, 0.4, 0.3}, mc[0][0], 1e-12);
    }

    @Test
    void whiteningUsesOnlyValidTokens() {
        // valid tokens {1, 3} and {5}: mean 3, population std √(8/3) = 1.632993; the padded 100 is ignored and zeroed
        double[][] w = whiten(new double[][]{{1, 3}, {5, 100}}, new int[]{2, 1});
        assertEquals(-2 / (1.632993 + 1e-4), w[0][0], 1e-5);
        assertEquals(0.0, w[0][1], 1e-12);
        assertEquals(2 / (1.632993 + 1e-4), w[1][0], 1e-5);
        assertEquals(0.0, w[1][1], 1e-12);
    }

    @Test
    void adaptiveKlControllerFollowsZieglerEtAl() {
        // KL 12 vs target 6: error clip(12/6 − 1, ±0.2) = 0.2; β = 0.1 · (1 + 0.2 · 64 / 10000) = 0.100128
        assertEquals(0.100128, Advantages.adaptiveKl(0.1, 12, 6, 64, 10_000), 1e-12);
        // KL 3 vs target 6: error −0.5 clipped to −0.2; β = 0.1 · (1 − 0.2 · 64 / 10000) = 0.099872
        assertEquals(0.099872, Advantages.adaptiveKl(0.1, 3, 6, 64, 10_000), 1e-12);
        // on target: unchanged
        assertEquals(0.1, Advantages.adaptiveKl(0.1, 6, 6, 64, 10_000), 1e-15);
    }

    @Test
    void rlooAsTrlFoldsTheSummedK1KlIntoTheRewardBeforeTheLeaveOneOutBaseline() {
        // one group of G = 2: rewards (1, 0); k1 KL log π_old − log π_ref per token (0.5, 0.1) and (0.2); β = 0.1
        // r' = (1 − 0.1·0.6, 0 − 0.1·0.2) = (0.94, −0.02); baselines are the other's r' ⇒ A = (0.96, −0.96)
        Tensor mask = mask(new int[]{2, 1}, 2), kl = dense(new double[][]{{0.5, 0.1}, {0.2, 0}}, 2);
        Tensor a = Advantages.Estimator.RLOO.advantages(new Advantages.Input(Torch.doubles(new double[]{1, 0}, 2), 2, Advantages.Scale.GROUP,
                Torch.longs(new long[]{0, 1}, 2), mask, kl, 0.1));
        assertArrayEquals(new float[]{0.96f, -0.96f}, Torch.toFloats(a), 1e-6f);
        // the token-level variant ignores the KL (it goes into the loss) ⇒ A = (1, −1)
        Tensor t = Advantages.Estimator.RLOO_TOKEN.advantages(new Advantages.Input(Torch.doubles(new double[]{1, 0}, 2), 2, Advantages.Scale.GROUP,
                Torch.longs(new long[]{0, 1}, 2), mask, null, 0.1));
        assertArrayEquals(new float[]{1f, -1f}, Torch.toFloats(t), 1e-6f);
    }

    // The estimators run on (N, T) tensors; these helpers feed them ragged Java rows (row i's tokens at 0 … lengths[i] − 1)
    // and read the result back as rows of width T.

    static Tensor mask(int[] lengths, int t) {
        double[] m = new double[lengths.length * t];
        for (int i = 0; i < lengths.length; i++) for (int j = 0; j < lengths[i]; j++) m[i * t + j] = 1;
        return Torch.doubles(m, lengths.length, t);
    }

    static int width(double[][] x, int[] lengths) {
        int t = 0;
        for (int len : lengths) t = Math.max(t, len);
        for (double[] r : x) if (r != null) t = Math.max(t, r.length);
        return t;
    }

    static Tensor dense(double[][] x, int t) {
        double[] d = new double[x.length * t];
        for (int i = 0; i < x.length; i++) System.arraycopy(x[i], 0, d, i * t, x[i].length);
        return Torch.doubles(d, x.length, t);
    }

    static double[][] rows(Tensor x) {
        int n = (int) x.size(0), t = (int) x.size(1);
        double[] d = Torch.toDoubles(x);
        double[][] out = new double[n][t];
        for (int i = 0; i < n; i++) System.arraycopy(d, i * t, out[i], 0, t);
        return out;
    }

    static double[][] reinforcePlusPlus(double[] outcome, double[][] kl, int[] lengths, double beta, int groupSize) {
        int t = kl == null ? width(new double[0][], lengths) : width(kl, lengths);
        return rows(Advantages.reinforcePlusPlus(Torch.doubles(outcome, outcome.length), kl == null ? null : dense(kl, t), mask(lengths, t), beta, groupSize));
    }

    static double[][][] gae(double[][] rewards, double[][] values, int[] lengths, double gamma, double lambda) {
        int t = width(rewards, lengths);
        Tensor[] ar = Advantages.gae(dense(rewards, t), dense(values, t), mask(lengths, t), gamma, lambda);
        return new double[][][]{rows(ar[0]), rows(ar[1])};
    }

    static double[][] whiten(double[][] x, int[] lengths) {
        int t = width(x, lengths);
        return rows(Advantages.whiten(dense(x, t), mask(lengths, t)));
    }
}
