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

    @Test
    void gspoCountsClippedSequencesNotTokens() {
        try (PointerScope s = new PointerScope()) {
            // sequence 0: one token, log π − log π_old = 0 ⇒ ρ = 1; sequence 1: three tokens, each log 2 ⇒ ρ = exp(mean) = 2 > 1.2
            // with A = +1 ⇒ clipped high. By tokens 3 of 4 (0.75, the old count); by sequences 1 of 2 (TRL): 0.5
            Tensor lp = Torch.floats(new float[]{0, 0, 0, (float) Math.log(2), (float) Math.log(2), (float) Math.log(2)}, 2, 3);
            Tensor old = Torch.floats(new float[6], 2, 3), mask = Torch.floats(new float[]{1, 0, 0, 1, 1, 1}, 2, 3);
            PolicyLoss.Out o = PolicyLoss.clippedSurrogate(lp, old, Torch.floats(new float[]{1, 1}, 2), mask, null,
                    new PolicyLoss.Clip(0.2, 0.2, true, PolicyLoss.Aggregation.SEQUENCE_MEAN, 3));
            assertEquals(0.5, o.clipFraction(), 1e-6);
            assertEquals(0.5, o.highClipFraction(), 1e-6);
        }
    }

    @Test
    void cispoSapoVespoAndLuspoMatchTrlsFormulas() {
        try (PointerScope s = new PointerScope()) {
            Tensor one = Torch.floats(new float[]{1}, 1, 1);
            // CISPO: ρ = exp(log ½ − log ¼) = 2, capped at ε_high = 1.5 and detached; A = 1:
            //   ℓ = −1.5 · 1 · log ½ = 1.039721, and ∂ℓ/∂log π = −1.5 (the weight carries no gradient)
            Tensor lp = Torch.floats(new float[]{(float) Math.log(0.5)}, 1, 1).requires_grad_(true);
            PolicyLoss.Clip cispo = new PolicyLoss.Clip(0.2, 1.5, PolicyLoss.Ratio.TOKEN, PolicyLoss.Aggregation.TOKEN_MEAN, 1, PolicyLoss.Objective.CISPO, 1, 1.05);
            PolicyLoss.Out o = PolicyLoss.clippedSurrogate(lp, Torch.floats(new float[]{(float) Math.log(0.25)}, 1, 1), Torch.floats(new float[]{1}, 1), one, null, cispo);
            assertEquals(1.039721, Torch.item(o.loss()), 1e-5);
            o.loss().backward();
            assertEquals(-1.5, Torch.item(lp.grad()), 1e-5);
            assertEquals(1.0, o.highClipFraction(), 1e-9, "ρ = 2 > ε_high = 1.5 with A > 0");
            // SAPO: ρ = 2; A = +1 (τ = 1): −σ(1·(2 − 1))·4/1 = −2.924234; A = −1 (τ = 1.05): +σ(1.05)·4/1.05 = 2.822000
            PolicyLoss.Clip sapo = new PolicyLoss.Clip(0.2, 0.2, PolicyLoss.Ratio.TOKEN, PolicyLoss.Aggregation.SEQUENCE_MEAN, 1, PolicyLoss.Objective.SAPO, 1.0, 1.05);
            Tensor two = Torch.floats(new float[]{(float) Math.log(2)}, 1, 1), zero = Torch.floats(new float[]{0}, 1, 1);
            assertEquals(-2.924234, Torch.item(PolicyLoss.clippedSurrogate(two, zero, Torch.floats(new float[]{1}, 1), one, null, sapo).loss()), 1e-5);
            assertEquals(2.822000, Torch.item(PolicyLoss.clippedSurrogate(two, zero, Torch.floats(new float[]{-1}, 1), one, null, sapo).loss()), 1e-5);
            // VESPO: one sequence, log π − log π_old = (0.1, 0.2) ⇒ log w = 0.3; A = 1 ⇒ (k, λ) = (2, 3):
            //   log φ = 3 + 2·0.3 − 3·e^0.3 = −0.449576, φ = 0.637898; ℓ_t = −φ·A·log π_t with log π = (−1, −2) ⇒ (0.637898, 1.275797),
            //   token mean 0.956847
            PolicyLoss.Clip vespo = new PolicyLoss.Clip(0.2, 0.2, PolicyLoss.Ratio.TOKEN, PolicyLoss.Aggregation.TOKEN_MEAN, 2, PolicyLoss.Objective.VESPO, 1, 1.05);
            Tensor vlp = Torch.floats(new float[]{-1, -2}, 1, 2), vold = Torch.floats(new float[]{-1.1f, -2.2f}, 1, 2);
            assertEquals(0.956847, Torch.item(PolicyLoss.clippedSurrogate(vlp, vold, Torch.floats(new float[]{1}, 1), Torch.floats(new float[]{1, 1}, 1, 2),
                    null, vespo).loss()), 1e-4);
            // LUSPO (length-weighted, with GSPO's ratio): sequences of 1 and 3 tokens, ρ = 1, A = (1, 2) ⇒ L = (−1, −2);
            //   mean_i(L_i·|y_i|) = (−1·1 − 2·3) / 2 = −3.5
            PolicyLoss.Clip luspo = new PolicyLoss.Clip(0.2, 0.2, PolicyLoss.Ratio.SEQUENCE_MEAN, PolicyLoss.Aggregation.LENGTH_WEIGHTED, 3, PolicyLoss.Objective.CLIP, 1, 1.05);
            Tensor m = Torch.floats(new float[]{1, 0, 0, 1, 1, 1}, 2, 3), z = Torch.floats(new float[6], 2, 3);
            assertEquals(-3.5, Torch.item(PolicyLoss.clippedSurrogate(z, z, Torch.floats(new float[]{1, 2}, 2), m, null, luspo).loss()), 1e-6);
        }
    }

    @Test
    void rlooTakesOneRatioOfSummedSequenceLogProbs() {
        try (PointerScope s = new PointerScope()) {
            // two tokens with log π − log π_old = (ln 2, 0): ρ = exp(ln 2 + 0) = 2 (GSPO's mean ratio would be √2 = 1.414214);
            // A = 1, ε = 0.2 ⇒ −min(2·1, 1.2·1) = −1.2 for the sequence
            PolicyLoss.Clip rloo = new PolicyLoss.Clip(0.2, 0.2, PolicyLoss.Ratio.SEQUENCE_SUM, PolicyLoss.Aggregation.SEQUENCE_MEAN, 2, PolicyLoss.Objective.CLIP, 1, 1.05);
            Tensor lp = Torch.floats(new float[]{(float) Math.log(2), 0}, 1, 2), old = Torch.floats(new float[2], 1, 2);
            PolicyLoss.Out o = PolicyLoss.clippedSurrogate(lp, old, Torch.floats(new float[]{1}, 1), Torch.floats(new float[]{1, 1}, 1, 2), null, rloo);
            assertEquals(-1.2, Torch.item(o.loss()), 1e-5);
            assertEquals(1.0, o.clipFraction(), 1e-9, "one sequence, clipped");
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
