package dev.align4j.loss;

import dev.align4j.core.Torch;
import dev.align4j.loss.PreferenceLoss.Variant;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every preference loss against values worked out by hand. Shared inputs (one pair):
 * π_c = −1, π_r = −2, ρ_c = ρ_r = −1.5 ⇒ a = π_c − ρ_c = 0.5, r = π_r − ρ_r = −0.5, h = a − r = 1.
 * With β = 0.5: βh = 0.5, βa = 0.25, βr = −0.25.
 * Constants: log σ(0.5) = −0.474077, log σ(−0.5) = −0.974077, σ(0.5) = 0.622459, σ(0.25) = 0.562177.
 */
class PreferenceLossTest {
    static final double TOL = 1e-5;

    static double loss(Variant v, double beta, double eps, double delta) {
        return loss(v, -1, -2, -1.5, -1.5, beta, eps, delta);
    }

    static double loss(Variant v, double pc, double pr, double rc, double rr, double beta, double eps, double delta) {
        try (PointerScope s = new PointerScope()) {
            PreferenceLoss.Out o = PreferenceLoss.compute(v, t(pc), t(pr), t(rc), t(rr), beta, eps, delta);
            return Torch.item(o.losses());
        }
    }

    static Tensor t(double x) { return Torch.floats(new float[]{(float) x}, 1); }

    @Test
    void sigmoidDpo() {
        // −log σ(βh) = −log σ(0.5) = 0.474077
        assertEquals(0.474077, loss(Variant.SIGMOID, 0.5, 0, 0), TOL);
        // cDPO, ε = 0.1: −0.9·log σ(0.5) − 0.1·log σ(−0.5) = 0.426669 + 0.097408 = 0.524077
        assertEquals(0.524077, loss(Variant.SIGMOID, 0.5, 0.1, 0), TOL);
        // ε = 0.5: 0.5·0.474077 + 0.5·0.974077 = 0.724077 (the pair no longer has a preferred side)
        assertEquals(0.724077, loss(Variant.SIGMOID, 0.5, 0.5, 0), TOL);
    }

    @Test
    void equalLogProbsAndTinyBetaGiveLog2() {
        // h = 0 ⇒ −log σ(0) = log 2 = 0.693147, whatever β
        assertEquals(Math.log(2), loss(Variant.SIGMOID, -1, -1, -1, -1, 0.1, 0, 0), TOL);
        // β → 0: βh → 0 ⇒ log 2 even for h = 1
        assertEquals(Math.log(2), loss(Variant.SIGMOID, 1e-6, 0, 0), TOL);
        // hinge at h = 0: max(0, 1 − 0) = 1
        assertEquals(1.0, loss(Variant.HINGE, -1, -1, -1, -1, 0.1, 0, 0), TOL);
    }

    @Test
    void hingeIpoRobust() {
        // SLiC: max(0, 1 − βh) = 1 − 0.5 = 0.5
        assertEquals(0.5, loss(Variant.HINGE, 0.5, 0, 0), TOL);
        // IPO, β = 0.25: (h − 1/(2β))² = (1 − 2)² = 1; β = 0.5: (1 − 1)² = 0
        assertEquals(1.0, loss(Variant.IPO, 0.25, 0, 0), TOL);
        assertEquals(0.0, loss(Variant.IPO, 0.5, 0, 0), TOL);
        // rDPO, ε = 0.1: (0.9·0.474077 + 0.1·(−0.974077)) / 0.8 = (0.426669 − 0.097408) / 0.8 = 0.411577
        assertEquals(0.411577, loss(Variant.ROBUST, 0.5, 0.1, 0), TOL);
        // rDPO with ε = 0 is DPO
        assertEquals(0.474077, loss(Variant.ROBUST, 0.5, 0, 0), TOL);
    }

    @Test
    void exoNcaBco() {
        // EXO, ε = 1e−3: σ(.5)(log σ(.5) − log .999) + σ(−.5)(log σ(−.5) − log .001)
        //   = 0.622459·(−0.473077) + 0.377541·(5.933678) = −0.294472 + 2.240206 = 1.945734
        assertEquals(1.945734, loss(Variant.EXO_PAIR, 0.5, 0, 0), 1e-4);
        // NCA: −log σ(0.25) − ½ log σ(−0.25) − ½ log σ(0.25) = 0.576101 + 0.5·0.826101 + 0.5·0.576101 = 1.276879
        assertEquals(1.276879, loss(Variant.NCA_PAIR, 0.5, 0, 0), TOL);
        // BCO, δ = 0.1: −log σ(0.25 − 0.1) − log σ(−(−0.25 − 0.1)) = −log σ(0.15) − log σ(0.35) = 0.620957 + 0.533382 = 1.154339
        assertEquals(1.154339, loss(Variant.BCO_PAIR, 0.5, 0, 0.1), TOL);
    }

    @Test
    void sppoApoDiscopop() {
        // SPPO-hard: (a − 1/(2β))² + (r + 1/(2β))² = (0.5 − 1)² + (−0.5 + 1)² = 0.25 + 0.25
        assertEquals(0.5, loss(Variant.SPPO_HARD, 0.5, 0, 0), TOL);
        // APO-zero: 1 − σ(0.25) + σ(−0.25) = 1 − 0.562177 + 0.437823 = 0.875647
        assertEquals(0.875647, loss(Variant.APO_ZERO, 0.5, 0, 0), TOL);
        // APO-down: σ(0.25) + 1 − σ(0.5) = 0.562177 + 0.377541 = 0.939717
        assertEquals(0.939717, loss(Variant.APO_DOWN, 0.5, 0, 0), TOL);
        // DiscoPOP: m = σ(0.5/0.05) = σ(10) = 0.9999546; (1 − m)·0.474077 + m·e^{−0.5} = 0.0000215 + 0.606503 = 0.606525
        assertEquals(0.606525, loss(Variant.DISCOPOP, 0.5, 0, 0), TOL);
    }

    @Test
    void modpoFoldsTheOtherObjectivesIntoAMargin() {
        try (PointerScope s = new PointerScope()) {
            // a = 0.5, r = −0.5 (h = 1), β = 0.5, weighted margin 0.2, w_k = 0.5:
            //   logits = (0.5·1 − 0.2) / 0.5 = 0.6 ⇒ −log σ(0.6) = log(1 + e^−0.6) = log 1.548812 = 0.437488
            PreferenceLoss.Out o = PreferenceLoss.modpo(t(-1), t(-2), t(-1.5), t(-1.5), t(0.2), 0.5, 0.5);
            assertEquals(0.437488, Torch.item(o.losses()), 1e-5);
            // w_k = 1 and no margin: plain DPO, 0.474077
            assertEquals(0.474077, Torch.item(PreferenceLoss.modpo(t(-1), t(-2), t(-1.5), t(-1.5), t(0), 0.5, 1.0).losses()), 1e-5);
        }
    }

    @Test
    void referenceFreeLosses() {
        try (PointerScope s = new PointerScope()) {
            // SimPO: −log σ(β(π̄_c − π̄_r) − γ) = −log σ(2·(−0.5 + 1) − 0.5) = −log σ(0.5) = 0.474077
            assertEquals(0.474077, Torch.item(PreferenceLoss.simpo(t(-0.5), t(-1.0), 2.0, 0.5)), TOL);
            // CPO: −log σ(β(π_c − π_r)) + NLL = −log σ(0.5·1) + 0.3 = 0.774077
            assertEquals(0.774077, Torch.item(PreferenceLoss.cpo(t(-1), t(-2), t(0.3), 0.5)), TOL);
            // ORPO: π̄_c = log ½ ⇒ log odds = log ½ − log ½ = 0; π̄_r = log ¼ ⇒ log ¼ − log ¾ = −log 3;
            //   ratio = log 3; loss = NLL − λ log σ(log 3) = 0.5 + 0.1·log(4/3) = 0.5 + 0.028768 = 0.528768
            Tensor[] o = PreferenceLoss.orpo(t(Math.log(0.5)), t(Math.log(0.25)), t(0.5), 0.1);
            assertEquals(0.528768, Torch.item(o[0]), TOL);
            assertEquals(Math.log(3), Torch.item(o[1]), TOL);
        }
    }

    @Test
    void dpoGradientRaisesChosenAndLowersRejected() {
        try (PointerScope s = new PointerScope()) {
            Tensor pc = t(-1).requires_grad_(true), pr = t(-2).requires_grad_(true);
            PreferenceLoss.compute(Variant.SIGMOID, pc, pr, t(-1.5), t(-1.5), 0.5, 0, 0).losses().sum().backward();
            // dL/dπ_c = −β·σ(−βh) = −0.5·0.377541 = −0.188771; dL/dπ_r = +0.188771
            assertEquals(-0.188771, Torch.item(pc.grad()), TOL);
            assertEquals(0.188771, Torch.item(pr.grad()), TOL);
        }
    }

    @Test
    void implicitRewardsAreBetaTimesLogRatios() {
        try (PointerScope s = new PointerScope()) {
            PreferenceLoss.Out o = PreferenceLoss.compute(Variant.SIGMOID, t(-1), t(-2), t(-1.5), t(-1.5), 0.5, 0, 0);
            assertEquals(0.25, Torch.item(o.chosenRewards()), TOL);   // 0.5 · 0.5
            assertEquals(-0.25, Torch.item(o.rejectedRewards()), TOL); // 0.5 · (−0.5)
        }
    }

    @Test
    void sftLossIsTokenMeanNll() {
        try (PointerScope s = new PointerScope()) {
            // log-probs [−1, −2, 0(masked)], [−3, 0, 0] with mask [1,1,0],[1,0,0]: (1 + 2 + 3) / 3 = 2
            Tensor lp = Torch.floats(new float[]{-1, -2, 0, -3, 0, 0}, 2, 3);
            Tensor m = Torch.floats(new float[]{1, 1, 0, 1, 0, 0}, 2, 3);
            assertEquals(2.0, Torch.item(SftLoss.nll(lp, m)), TOL);
        }
    }

    @Test
    void aotSortsTheBatchBeforeComparing() {
        try (PointerScope s = new PointerScope()) {
            // AOT_UNPAIRED (aot_pair up to TRL 0.28), β = 1, ε = 0: chosen log-ratios a = (1, −1) sort to (−1, 1); rejected r = (0, 2) to (0, 2);
            //   δ = (−1, −1) ⇒ −log σ(−1) = 1.313262 for both; unsorted DPO would give (0.313262 + 3.048587) / 2 = 1.680924
            Tensor ac = Torch.floats(new float[]{1, -1}, 2).requires_grad_(true), zero = Torch.floats(new float[]{0, 0}, 2);
            PreferenceLoss.Out o = PreferenceLoss.compute(Variant.AOT_UNPAIRED, ac, Torch.floats(new float[]{0, 2}, 2), zero, zero, 1.0, 0, 0);
            assertEquals(1.313262, Torch.item(o.losses().mean()), TOL);
            // each a_i is the sorted partner of one δ: dL/da_i = −σ(−δ)/B = −σ(1)/2 = −0.365529
            o.losses().mean().backward();
            assertArrayEquals(new float[]{-0.365529f, -0.365529f}, Torch.toFloats(ac.grad()), 1e-5f);
            // AOT: policy margins π_c − π_r = (1, −1) → (−1, 1); reference margins (−0.5, 0.5) → (−0.5, 0.5);
            //   δ = (−0.5, 0.5) ⇒ (−log σ(−0.5) − log σ(0.5)) / 2 = (0.974077 + 0.474077) / 2 = 0.724077
            PreferenceLoss.Out u = PreferenceLoss.compute(Variant.AOT, Torch.floats(new float[]{-1, -2}, 2), Torch.floats(new float[]{-2, -1}, 2),
                    Torch.floats(new float[]{-1.5f, -1.5f}, 2), Torch.floats(new float[]{-1, -2}, 2), 1.0, 0, 0);
            assertEquals(0.724077, Torch.item(u.losses().mean()), TOL);
        }
    }

    @Test
    void orpoStaysFiniteWhenTheModelIsSureOfEveryChosenToken() {
        try (PointerScope s = new PointerScope()) {
            // mean chosen log-prob −1e−8 in float32: exp rounds to 1, so log1p(−exp(m)) was +∞ and the gradient NaN.
            // log odds(−1e−8) = −1e−8 − log(1 − e^{−1e−8}) = 18.420681; against a rejected mean of log ½ (log odds 0)
            // the ratio is 18.420681 and the loss NLL − λ log σ(18.42) = 0 + 0.1·1.0e−8 ≈ 1e−9
            Tensor mc = Torch.floats(new float[]{-1e-8f}, 1).requires_grad_(true);
            Tensor[] o = PreferenceLoss.orpo(mc, Torch.floats(new float[]{(float) Math.log(0.5)}, 1), Torch.floats(new float[]{0}, 1), 0.1);
            assertEquals(18.420681, Torch.item(o[1]), 1e-3);
            assertTrue(Double.isFinite(Torch.item(o[0])) && Torch.item(o[0]) >= 0 && Torch.item(o[0]) < 1e-6, "loss " + Torch.item(o[0]));
            o[0].sum().backward();
            assertTrue(Double.isFinite(Torch.item(mc.grad())), "gradient " + Torch.item(mc.grad()));
            // at −1e−7 the naive form was 1% off: log odds = 16.118096
            assertEquals(16.118096, Torch.item(PreferenceLoss.orpo(Torch.floats(new float[]{-1e-7f}, 1), Torch.floats(new float[]{(float) Math.log(0.5)}, 1),
                    Torch.floats(new float[]{0}, 1), 0.1)[1]), 1e-3);
            // a mean of exactly 0 (every chosen token certain) is clamped to −1e−30: log odds = 1e−30 ... − log(1e−30) = 69.0776, finite loss and gradient
            Tensor zero = Torch.floats(new float[]{0f}, 1).requires_grad_(true);
            Tensor[] z = PreferenceLoss.orpo(zero, Torch.floats(new float[]{(float) Math.log(0.5)}, 1), Torch.floats(new float[]{0}, 1), 0.1);
            assertEquals(69.0776, Torch.item(z[1]), 1e-2);
            z[0].sum().backward();
            assertTrue(Double.isFinite(Torch.item(zero.grad())), "gradient at 0: " + Torch.item(zero.grad()));
        }
    }

    @Test
    void stepApoShiftsTheLogitByTheAdvantageGap() {
        // Step-APO: −(1−ε) log σ(βh − α·ΔA) − ε log σ(−(βh − α·ΔA)); shared inputs βh = 0.5 (β = 0.5, h = 1), α = 1
        try (PointerScope s = new PointerScope()) {
            Tensor pc = Torch.floats(new float[]{-1, -1}, 2), pr = Torch.floats(new float[]{-2, -2}, 2), ref = Torch.floats(new float[]{-1.5f, -1.5f}, 2);
            Tensor gap = Torch.floats(new float[]{0.8f, 0f}, 2);
            float[] l = Torch.toFloats(PreferenceLoss.stepApo(pc, pr, ref, ref, gap, 0.5, 1.0, 0).losses());
            // ΔA = 0.8: z = 0.5 − 0.8 = −0.3, −log σ(−0.3) = log(1 + e^0.3) = log 2.349859 = 0.854355: a wider value gap asks a wider margin
            assertEquals(0.854355, l[0], TOL);
            // ΔA = 0: z = 0.5, −log σ(0.5) = 0.474077 = DPO's sigmoid loss
            assertEquals(0.474077, l[1], TOL);
            // ε = 0.1 at ΔA = 0.8: 0.9·0.854355 + 0.1·(−log σ(0.3) = 0.554355) = 0.768920 + 0.055436 = 0.824355
            assertEquals(0.824355, Torch.toFloats(PreferenceLoss.stepApo(pc, pr, ref, ref, gap, 0.5, 1.0, 0.1).losses())[0], TOL);
            // α = 0 is DPO whatever the gap
            assertEquals(0.474077, Torch.toFloats(PreferenceLoss.stepApo(pc, pr, ref, ref, gap, 0.5, 0.0, 0).losses())[0], TOL);
            // implicit rewards as DPO's: β·a = 0.25, β·r = −0.25
            PreferenceLoss.Out o = PreferenceLoss.stepApo(pc, pr, ref, ref, gap, 0.5, 1.0, 0);
            assertEquals(0.25, Torch.toFloats(o.chosenRewards())[0], TOL);
            assertEquals(-0.25, Torch.toFloats(o.rejectedRewards())[0], TOL);
        }
        assertThrows(IllegalArgumentException.class, () -> loss(Variant.STEP_APO, 0.5, 0, 0), "compute() has no advantages to give it");
    }
}
