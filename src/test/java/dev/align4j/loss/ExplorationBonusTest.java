package dev.align4j.loss;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.ExplorationBonus.Kind;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** XPO, SELM and VPO exploration terms against values and gradients worked out by hand. */
class ExplorationBonusTest {
    static Tensor v(double... x) { return Torch.doubles(x, x.length); }

    @Test
    void eachTermByHand() {
        try (PointerScope s = new PointerScope()) {
            // reference samples ỹ: log π = (−2, −4), log π_ref = (−3, −1) ⇒ log-ratios (1, −3); α = 0.5, β = 0.1
            Tensor ref = v(-3.0, -1.0);
            // XPO: α·log π = (0.5·−2, 0.5·−4) = (−1, −2); ∂/∂log π = α = 0.5 each
            Tensor lp = v(-2.0, -4.0).requires_grad_(true);
            Tensor xpo = ExplorationBonus.losses(Kind.XPO, lp, ref, 0.5, 0.1, 1);
            assertArrayEquals(new double[]{-1, -2}, Torch.toDoubles(xpo), 1e-12);
            xpo.sum().backward();
            assertArrayEquals(new double[]{0.5, 0.5}, Torch.toDoubles(lp.grad()), 1e-12);
            // SELM: α·β·(log π − log π_ref) = 0.05·(1, −3) = (0.05, −0.15); ∂/∂log π = αβ = 0.05
            Tensor lp2 = v(-2.0, -4.0).requires_grad_(true);
            Tensor selm = ExplorationBonus.losses(Kind.SELM, lp2, ref, 0.5, 0.1, 1);
            assertArrayEquals(new double[]{0.05, -0.15}, Torch.toDoubles(selm), 1e-12);
            selm.sum().backward();
            assertArrayEquals(new double[]{0.05, 0.05}, Torch.toDoubles(lp2.grad()), 1e-12);
            // VPO, sign +1 (optimism): the same as SELM, (0.05, −0.15); sign −1 (pessimism): (−0.05, 0.15), gradient −0.05
            assertArrayEquals(new double[]{0.05, -0.15}, Torch.toDoubles(ExplorationBonus.losses(Kind.VPO, v(-2.0, -4.0), ref, 0.5, 0.1, 1)), 1e-12);
            Tensor lp3 = v(-2.0, -4.0).requires_grad_(true);
            Tensor pess = ExplorationBonus.losses(Kind.VPO, lp3, ref, 0.5, 0.1, -1);
            assertArrayEquals(new double[]{-0.05, 0.15}, Torch.toDoubles(pess), 1e-12);
            pess.sum().backward();
            assertArrayEquals(new double[]{-0.05, -0.05}, Torch.toDoubles(lp3.grad()), 1e-12);
            // NONE: zero, whatever α
            assertArrayEquals(new double[]{0, 0}, Torch.toDoubles(ExplorationBonus.losses(Kind.NONE, v(-2.0, -4.0), ref, 0.5, 0.1, 1)), 0);
        }
    }

    @Test
    void parseNamesTheChoices() {
        assertEquals(Kind.XPO, Kind.parse("xpo"));
        assertEquals(Kind.VPO, Kind.parse(" VPO "));
        UserError e = assertThrows(UserError.class, () -> Kind.parse("ucb"));
        assertTrue(e.getMessage().contains("none, xpo, selm, vpo"), e.getMessage());
    }
}
