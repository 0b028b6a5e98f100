package dev.align4j.loss;

import dev.align4j.core.Torch;
import dev.align4j.train.online.Advantages;
import dev.align4j.train.online.Score;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** SCoRe's stage II reward shaping, its per-stage advantages and KL coefficients, and its loss, against values worked out by hand. */
class ScoreLossTest {
    @Test
    void stageTwoShapingRewardsFixesAndPunishesBreaks() {
        // r1 = (1, 0, 1, 0), r2 = (1, 1, 0, 0), α = 10: r2 + α(r2 − r1)
        //   keep right: 1 + 10·0 = 1;  fix: 1 + 10·1 = 11;  break: 0 + 10·(−1) = −10;  stay wrong: 0
        assertArrayEquals(new double[]{1, 11, -10, 0}, Score.shaped(new double[]{1, 0, 1, 0}, new double[]{1, 1, 0, 0}, 10), 1e-12);
        // α = 0 is the plain second-attempt reward; partial rewards: 0.5 + 2·(0.5 − 0.25) = 1.0
        assertArrayEquals(new double[]{0.5}, Score.shaped(new double[]{0.25}, new double[]{0.5}, 0), 1e-12);
        assertArrayEquals(new double[]{1.0}, Score.shaped(new double[]{0.25}, new double[]{0.5}, 2), 1e-12);
    }

    @Test
    void advantagesPerStage() {
        try (PointerScope s = new PointerScope()) {
            // one prompt, G = 2 (Dr. GRPO scaling: r − group mean). r1 = (0, 1), r2 = (1, 1), α = 10.
            double[] r1 = {0, 1}, r2 = {1, 1};
            // stage I: attempt-1 rows 0; attempt-2 rows r2 − mean(r2) = (0, 0)
            assertArrayEquals(new double[]{0, 0, 0, 0}, Torch.toDoubles(Score.advantages(Score.Stage.ONE, r1, r2, 10, 2, Advantages.Scale.NONE)), 1e-6);
            // stage II: attempt 1: r1 − 0.5 = (−0.5, 0.5); attempt 2 shaped = (1 + 10, 1 + 0) = (11, 1) ⇒ minus 6 = (5, −5)
            assertArrayEquals(new double[]{-0.5, 0.5, 5, -5}, Torch.toDoubles(Score.advantages(Score.Stage.TWO, r1, r2, 10, 2, Advantages.Scale.NONE)), 1e-6);
            // stage I with r2 = (1, 0): (0, 0, 0.5, −0.5) — the bonus is not in stage I
            assertArrayEquals(new double[]{0, 0, 0.5, -0.5}, Torch.toDoubles(Score.advantages(Score.Stage.ONE, r1, new double[]{1, 0}, 10, 2, Advantages.Scale.NONE)), 1e-6);
            // KL coefficients (N = 2): stage I (β2, β2, β1, β1); stage II β1 everywhere
            assertArrayEquals(new double[]{1, 1, 0.01, 0.01}, Torch.toDoubles(Score.klCoefficients(Score.Stage.ONE, 2, 1.0, 0.01)), 1e-7);
            assertArrayEquals(new double[]{0.01, 0.01, 0.01, 0.01}, Torch.toDoubles(Score.klCoefficients(Score.Stage.TWO, 2, 1.0, 0.01)), 1e-7);
        }
    }

    @Test
    void lossIsSurrogatePlusPerRowKl() {
        try (PointerScope s = new PointerScope()) {
            // two rows (attempt 1, attempt 2), T = 2, row 0 has one token, row 1 two; π = π_old (ratio 1).
            Tensor logp = Torch.floats(new float[]{-1f, 0f, -1f, -2f}, 2, 2), ref = Torch.floats(new float[]{-1.5f, 0f, -1f, -1f}, 2, 2);
            Tensor mask = Torch.floats(new float[]{1, 0, 1, 1}, 2, 2);
            Tensor adv = Torch.floats(new float[]{0f, 2f}, 2), coef = Torch.floats(new float[]{1.0f, 0.1f}, 2, 1);
            // k3 with x = log π_ref − log π: row 0 token 0: x = −0.5 ⇒ e^−0.5 + 0.5 − 1 = 0.106531
            //                               row 1: token 0 x = 0 ⇒ 0; token 1 x = 1 ⇒ e − 1 − 1 = 0.718282
            // stage I row 0 (attempt 1, A = 0, β2 = 1): mean_t = 0.106531
            // row 1 (attempt 2, A = 2, β1 = 0.1): mean_t(−2 + 0.1·k3) = (−2 − 2 + 0.1·0.718282) / 2 = −1.964086
            // L = (0.106531 − 1.964086) / 2 = −0.928778
            PolicyLoss.Out o = Score.loss(logp, logp.detach(), ref, adv, coef, mask, PolicyLoss.KlEstimator.K3, 2);
            assertEquals(-0.928778, Torch.item(o.loss()), 1e-5);
            // without the KL (coefficients 0) only the surrogate: (0 + (−2)) / 2 = −1
            assertEquals(-1.0, Torch.item(Score.loss(logp, logp.detach(), ref, adv, Torch.floats(new float[]{0f, 0f}, 2, 1), mask, PolicyLoss.KlEstimator.K3, 2).loss()), 1e-6);
        }
    }
}
