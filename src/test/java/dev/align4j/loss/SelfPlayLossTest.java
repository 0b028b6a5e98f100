package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** SPPO, INPO and Nash-MD losses against values and gradients worked out by hand. */
class SelfPlayLossTest {
    static Tensor v(double... x) { return Torch.doubles(x, x.length); }

    static Tensor leaf(double... x) { return v(x).requires_grad_(true); }

    @Test
    void sppoRegressesTheLogRatioOntoTheCentredWinRate() {
        try (PointerScope s = new PointerScope()) {
            Tensor logp = leaf(-1.0, -2.0);
            // η = 2: log π/π_t = (−1 + 1.5, −2 + 1) = (0.5, −1); targets 2·(0.75 − ½) = 0.5, 2·(0.25 − ½) = −0.5
            // ⇒ d = (0, −0.5), losses d² = (0, 0.25); ∂ℓ/∂log π = 2d = (0, −1)
            SelfPlayLoss.Out o = SelfPlayLoss.sppo(logp, v(-1.5, -1.0), v(0.75, 0.25), 2.0);
            assertArrayEquals(new double[]{0, 0.25}, Torch.toDoubles(o.losses()), 1e-12);
            assertArrayEquals(new double[]{0.5, -1.0}, Torch.toDoubles(o.prediction()), 1e-12);
            assertArrayEquals(new double[]{0.5, -0.5}, Torch.toDoubles(o.target()), 1e-12);
            o.losses().sum().backward();
            assertArrayEquals(new double[]{0, -1}, Torch.toDoubles(logp.grad()), 1e-12);
        }
    }

    @Test
    void inpoMixesTheReferenceAndThePreviousIterate() {
        try (PointerScope s = new PointerScope()) {
            // η = 2, τ = 0.25 ⇒ ητ = 0.5: h = (−1 + 2) − 0.5·(−1 + 3) − 0.5·(−1.5 + 1.5) = 1 − 1 − 0 = 0;
            // target η/2 = 1 ⇒ ℓ = (0 − 1)² = 1; ∂ℓ/∂log π(y_w) = 2(h − 1) = −2, ∂ℓ/∂log π(y_l) = +2
            Tensor w = leaf(-1.0), l = leaf(-2.0);
            SelfPlayLoss.Out o = SelfPlayLoss.inpo(w, l, v(-1.5), v(-1.5), v(-1.0), v(-3.0), 2.0, 0.25);
            assertEquals(1.0, Torch.item(o.losses()), 1e-12);
            assertEquals(0.0, Torch.item(o.prediction()), 1e-12);
            o.losses().sum().backward();
            assertEquals(-2.0, Torch.item(w.grad()), 1e-12);
            assertEquals(2.0, Torch.item(l.grad()), 1e-12);
            // τ = 0, η = 1: only π_t: h = 0 − 0 − 1·(−2 + 1) = 1; target ½ ⇒ ℓ = 0.25 (the reference's log-probs do not enter)
            SelfPlayLoss.Out o2 = SelfPlayLoss.inpo(v(-1.0), v(-1.0), v(-2.0), v(-1.0), v(5.0), v(-7.0), 1.0, 0.0);
            assertEquals(0.25, Torch.item(o2.losses()), 1e-12);
            // ητ = 1: only π_ref: h = 0 − 1·(−1 − 0) − 0 = 1; target ½ ⇒ ℓ = 0.25 (π_t does not enter)
            SelfPlayLoss.Out o3 = SelfPlayLoss.inpo(v(-1.0), v(-1.0), v(9.0), v(-4.0), v(-1.0), v(0.0), 1.0, 1.0);
            assertEquals(0.25, Torch.item(o3.losses()), 1e-12);
        }
    }

    @Test
    void inpoExpectedAveragesTheLabelDraw() {
        try (PointerScope s = new PointerScope()) {
            // η = 2, τ = 0.25 (ητ = 0.5), log π = (a −1, b −2), π_t (−1.5, −1.5), π_ref (−1, −3): h_ab = 1 − 0.5·2 − 0 = 0 as above.
            // p = 0.8 ⇒ target η(p − ½) = 0.6 ⇒ ℓ = (0 − 0.6)² = 0.36; ∂ℓ/∂log π(a) = 2(h − 0.6) = −1.2, ∂ℓ/∂log π(b) = +1.2.
            // The sampled loss: a wins (p = 0.8): gradient (−2, +2) (the test above); b wins (0.2): h_ba = −h_ab = 0, ℓ = (0 − 1)²,
            // ∂/∂log π(b) = −2, ∂/∂log π(a) = +2. Average: a 0.8·(−2) + 0.2·2 = −1.2, b 0.8·2 + 0.2·(−2) = 1.2: the same gradient.
            Tensor a = leaf(-1.0), b = leaf(-2.0);
            SelfPlayLoss.Out o = SelfPlayLoss.inpoExpected(a, b, v(-1.5), v(-1.5), v(-1.0), v(-3.0), v(0.8), 2.0, 0.25);
            assertEquals(0.36, Torch.item(o.losses()), 1e-12);
            assertEquals(0.6, Torch.item(o.target()), 1e-12);
            o.losses().sum().backward();
            assertEquals(-1.2, Torch.item(a.grad()), 1e-12);
            assertEquals(1.2, Torch.item(b.grad()), 1e-12);
            // a tie (p = ½) regresses h onto 0: h = 0 ⇒ no loss, no gradient (the sampled loss pushes ±2 by a coin flip)
            Tensor a2 = leaf(-1.0), b2 = leaf(-2.0);
            SelfPlayLoss.Out tie = SelfPlayLoss.inpoExpected(a2, b2, v(-1.5), v(-1.5), v(-1.0), v(-3.0), v(0.5), 2.0, 0.25);
            assertEquals(0.0, Torch.item(tie.losses()), 1e-12);
            tie.losses().sum().backward();
            assertEquals(0.0, Torch.item(a2.grad()), 1e-12);
        }
    }

    @Test
    void nashMdIsReinforceWithAHalfBaselineAndAKlPenalty() {
        try (PointerScope s = new PointerScope()) {
            Tensor logp = leaf(-1.0, -2.0);
            // τ = 0.1, P = (0.9, 0.2): scores P − ½ = (0.4, −0.3); KL terms log π − log π_ref = (0.5, 0)
            // coefficient τ·kl − score = (0.05 − 0.4, 0 + 0.3) = (−0.35, 0.3); losses coefficient·log π = (0.35, −0.6)
            SelfPlayLoss.Out o = SelfPlayLoss.nashMd(logp, v(-1.5, -2.0), v(0.9, 0.2), 0.1);
            assertArrayEquals(new double[]{0.35, -0.6}, Torch.toDoubles(o.losses()), 1e-12);
            o.losses().sum().backward();
            // the gradient is the coefficient: the winner's log-prob goes up, the loser's down; the KL term is not differentiated through
            assertArrayEquals(new double[]{-0.35, 0.3}, Torch.toDoubles(logp.grad()), 1e-12);
        }
    }
}
