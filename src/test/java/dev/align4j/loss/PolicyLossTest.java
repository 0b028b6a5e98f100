package dev.align4j.loss;

import dev.align4j.core.Torch;
import dev.align4j.train.online.Advantages;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Advantage estimators, KL estimators and the clipped surrogate against values worked out by hand. */
class PolicyLossTest {
    @Test
    void grpoAdvantages() {
        double[] r = {1, 0, 0, 0};   // two groups of G = 2: [1, 0] and [0, 0]
        // GROUP: mean 0.5, unbiased std sqrt(0.5) = 0.707107 ⇒ ±0.5 / (0.707107 + 1e−4) = ±0.707007; flat group ⇒ 0
        assertArrayEquals(new double[]{0.707007, -0.707007, 0, 0}, grpo(r, Advantages.Scale.GROUP), 1e-6);
        // NONE (Dr. GRPO): r − mean_group
        assertArrayEquals(new double[]{0.5, -0.5, 0, 0}, grpo(r, Advantages.Scale.NONE), 1e-12);
        // BATCH: batch mean 0.25, unbiased var (0.5625 + 3·0.0625)/3 = 0.25 ⇒ std 0.5 ⇒ ±0.5 / 0.5001 = ±0.999800
        assertArrayEquals(new double[]{0.999800, -0.999800, 0, 0}, grpo(r, Advantages.Scale.BATCH), 1e-6);
        assertTrue(Advantages.zeroStd(r, 2, 2));
        assertFalse(Advantages.zeroStd(r, 0, 2));
    }

    @Test
    void rlooAndBatchNormalized() {
        // G = 3, rewards (1, 2, 3): baselines are the means of the others: 2.5, 2, 1.5 ⇒ (−1.5, 0, 1.5)
        assertArrayEquals(new double[]{-1.5, 0, 1.5}, rloo(new double[]{1, 2, 3}, 3), 1e-12);
        // G = 2: (1, 0) ⇒ (1 − 0, 0 − 1)
        assertArrayEquals(new double[]{1, -1}, rloo(new double[]{1, 0}, 2), 1e-12);
        // REINFORCE++: mean 2, std 1 ⇒ (−1, 0, 1) / 1.0001
        assertArrayEquals(new double[]{-0.99990, 0, 0.99990}, Torch.toDoubles(Advantages.batchNormalized(Torch.doubles(new double[]{1, 2, 3}, 3))), 1e-5);
    }

    @Test
    void klEstimators() {
        try (PointerScope s = new PointerScope()) {
            Tensor logp = Torch.floats(new float[]{-1f}, 1), ref = Torch.floats(new float[]{-1.5f}, 1);
            // x = log π_ref − log π = −0.5: k1 = 0.5; k2 = 0.125; k3 = e^−0.5 + 0.5 − 1 = 0.106531
            assertEquals(0.5, Torch.item(PolicyLoss.kl(logp, ref, PolicyLoss.KlEstimator.K1)), 1e-6);
            assertEquals(0.125, Torch.item(PolicyLoss.kl(logp, ref, PolicyLoss.KlEstimator.K2)), 1e-6);
            assertEquals(0.106531, Torch.item(PolicyLoss.kl(logp, ref, PolicyLoss.KlEstimator.K3)), 1e-6);
        }
    }

    @Test
    void clippedSurrogateHasZeroGradientExactlyWhereClipped() {
        try (PointerScope s = new PointerScope()) {
            // four one-token sequences: ratios (1.5, 0.5, 0.5, 1.5), advantages (+1, −1, +1, −1), ε = 0.2
            float[] ratios = {1.5f, 0.5f, 0.5f, 1.5f};
            float[] lp = new float[4];
            for (int i = 0; i < 4; i++) lp[i] = (float) Math.log(ratios[i]);
            Tensor logp = Torch.floats(lp, 4, 1).requires_grad_(true), old = Torch.floats(new float[4], 4, 1);
            Tensor adv = Torch.floats(new float[]{1, -1, 1, -1}, 4), mask = Torch.floats(new float[]{1, 1, 1, 1}, 4, 1);
            PolicyLoss.Out o = PolicyLoss.clippedSurrogate(logp, old, adv, mask, null, new PolicyLoss.Clip(0.2, 0.2, false, PolicyLoss.Aggregation.SEQUENCE_MEAN, 1));
            // per-sequence −min(ρA, clip(ρ)A): (−1.2, 0.8, −0.5, 1.5) ⇒ mean = 0.6 / 4 = 0.15
            assertEquals(0.15, Torch.item(o.loss()), 1e-5);
            o.loss().backward();
            // clipped (1: ρ > 1.2 with A > 0; 2: ρ < 0.8 with A < 0) ⇒ gradient exactly 0;
            // unclipped: dL/dlogp = −ρ·A / 4 ⇒ (3) −0.5/4 = −0.125, (4) 1.5/4 = 0.375
            assertArrayEquals(new float[]{0f, 0f, -0.125f, 0.375f}, Torch.toFloats(logp.grad()), 1e-6f);
            assertEquals(0.5, o.clipFraction(), 1e-9);
            assertEquals(0.25, o.lowClipFraction(), 1e-9);
            assertEquals(0.25, o.highClipFraction(), 1e-9);
        }
    }

    @Test
    void clipHigherLetsPositiveAdvantagesGrowFurther() {
        try (PointerScope s = new PointerScope()) {
            Tensor logp = Torch.floats(new float[]{(float) Math.log(1.25)}, 1, 1).requires_grad_(true);
            Tensor old = Torch.floats(new float[1], 1, 1), adv = Torch.floats(new float[]{1}, 1), mask = Torch.floats(new float[]{1}, 1, 1);
            // ε_high = 0.28: ρ = 1.25 < 1.28 is not clipped ⇒ gradient −ρ·A = −1.25 (with ε_high = 0.2 it would be 0)
            PolicyLoss.clippedSurrogate(logp, old, adv, mask, null, new PolicyLoss.Clip(0.2, 0.28, false, PolicyLoss.Aggregation.SEQUENCE_MEAN, 1)).loss().backward();
            assertEquals(-1.25, Torch.item(logp.grad()), 1e-5);
        }
    }

    @Test
    void aggregationsAndSequenceRatio() {
        try (PointerScope s = new PointerScope()) {
            // ρ = 1 everywhere; A = (1, 3); sequence 1 has 2 tokens, sequence 2 has 1 ⇒ per-token losses (−1, −1 | −3)
            Tensor logp = Torch.floats(new float[4], 2, 2), adv = Torch.floats(new float[]{1, 3}, 2);
            Tensor mask = Torch.floats(new float[]{1, 1, 1, 0}, 2, 2);
            double seq = Torch.item(PolicyLoss.clippedSurrogate(logp, logp, adv, mask, null, new PolicyLoss.Clip(0.2, 0.2, false, PolicyLoss.Aggregation.SEQUENCE_MEAN, 4)).loss());
            double tok = Torch.item(PolicyLoss.clippedSurrogate(logp, logp, adv, mask, null, new PolicyLoss.Clip(0.2, 0.2, false, PolicyLoss.Aggregation.TOKEN_MEAN, 4)).loss());
            double cst = Torch.item(PolicyLoss.clippedSurrogate(logp, logp, adv, mask, null, new PolicyLoss.Clip(0.2, 0.2, false, PolicyLoss.Aggregation.CONSTANT, 4)).loss());
            assertEquals(-2.0, seq, 1e-6);          // ((−1 − 1)/2 + (−3)/1) / 2
            assertEquals(-5.0 / 3, tok, 1e-6);      // (−1 − 1 − 3) / 3
            assertEquals(-0.625, cst, 1e-6);        // −5 / (2 sequences · 4 max tokens)
            // GSPO: token log-ratios (log 2, 0) ⇒ sequence ratio exp(log 2 / 2) = √2 for both tokens; ε_high = 0.5, A = 1 ⇒ −√2
            Tensor lp = Torch.floats(new float[]{(float) Math.log(2), 0}, 1, 2), zero = Torch.floats(new float[2], 1, 2);
            double gspo = Torch.item(PolicyLoss.clippedSurrogate(lp, zero, Torch.floats(new float[]{1}, 1), Torch.floats(new float[]{1, 1}, 1, 2),
                    null, new PolicyLoss.Clip(0.2, 0.5, true, PolicyLoss.Aggregation.SEQUENCE_MEAN, 2)).loss());
            assertEquals(-Math.sqrt(2), gspo, 1e-5);
        }
    }

    @Test
    void valueLossTakesTheLargerOfTheClippedAndUnclippedError() {
        try (PointerScope scope = new PointerScope()) {
            // V = (1.0, 0.2), V_old = (0.5, 0.5), R = (0.8, 0.0), ε_v = 0.2
            // token 0: (1.0 − 0.8)² = 0.04; clipped V = 0.5 + clip(0.5) = 0.7 → (0.7 − 0.8)² = 0.01; max 0.04
            // token 1: (0.2 − 0.0)² = 0.04; clipped V = 0.5 + clip(−0.3) = 0.3 → 0.09;             max 0.09
            // loss = ½ · (0.04 + 0.09) / 2 = 0.0325; clipped term larger on 1 of 2 tokens
            Tensor mask = Torch.floats(new float[]{1, 1, 0}, 1, 3);
            PolicyLoss.ValueOut o = PolicyLoss.valueLoss(Torch.floats(new float[]{1.0f, 0.2f, 7}, 1, 3), Torch.floats(new float[]{0.5f, 0.5f, 0}, 1, 3),
                    Torch.floats(new float[]{0.8f, 0.0f, 0}, 1, 3), mask, 0.2);
            assertEquals(0.0325, Torch.item(o.loss()), 1e-6);
            assertEquals(0.5, o.clipFraction(), 1e-12);
            // without clipping: ½ · (0.04 + 0.04) / 2 = 0.02
            assertEquals(0.02, Torch.item(PolicyLoss.valueLoss(Torch.floats(new float[]{1.0f, 0.2f, 7}, 1, 3), Torch.floats(new float[]{0.5f, 0.5f, 0}, 1, 3),
                    Torch.floats(new float[]{0.8f, 0.0f, 0}, 1, 3), mask, 0).loss()), 1e-6);
        }
    }

    /** The tensor estimators on Java arrays (groups of 2 for grpo). */
    static double[] grpo(double[] r, Advantages.Scale scale) {
        return Torch.toDoubles(Advantages.grpo(Torch.doubles(r, r.length), 2, scale));
    }

    static double[] rloo(double[] r, int g) {
        return Torch.toDoubles(Advantages.rloo(Torch.doubles(r, r.length), g));
    }
}
