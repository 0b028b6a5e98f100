package dev.align4j.loss;

import dev.align4j.core.Torch;
import dev.align4j.reward.RewardEnsemble;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Reward-model losses and ensembles against values worked out by hand. */
class RewardLossTest {
    static Tensor t(float... x) { return Torch.floats(x, x.length); }

    @Test
    void bradleyTerry() {
        try (PointerScope s = new PointerScope()) {
            // r_c = 1, r_r = 0: −log σ(1) = log(1 + e^−1) = 0.313262
            assertEquals(0.313262, Torch.item(RewardLoss.bradleyTerry(t(1), t(0), null, 0)), 1e-5);
            // margin 0.5: −log σ(1 − 0.5) = 0.474077
            assertEquals(0.474077, Torch.item(RewardLoss.bradleyTerry(t(1), t(0), t(0.5f), 0)), 1e-5);
            // centering η = 0.01: 0.313262 + 0.01·(1 + 0)² = 0.323262
            assertEquals(0.323262, Torch.item(RewardLoss.bradleyTerry(t(1), t(0), null, 0.01)), 1e-5);
            // two pairs, one right and one wrong: (0.313262 + 1.313262) / 2 = 0.813262
            assertEquals(0.813262, Torch.item(RewardLoss.bradleyTerry(t(1, 0), t(0, 1), null, 0)), 1e-5);
            // equal scores: log 2
            assertEquals(Math.log(2), Torch.item(RewardLoss.bradleyTerry(t(3), t(3), null, 0)), 1e-6);
        }
    }

    @Test
    void multiObjectiveOrientsEachHeadAndSkipsTies() {
        try (PointerScope s = new PointerScope()) {
            // one head, every s = +1: the plain Bradley–Terry values above
            assertEquals(0.813262, Torch.item(RewardLoss.multiObjective(Torch.floats(new float[]{1, 0}, 2, 1), Torch.floats(new float[]{0, 1}, 2, 1),
                    Torch.floats(new float[]{1, 1}, 2, 1), 0)), 1e-5);
            // one pair, two heads: r_c = (1, 1), r_r = (0, 0), s = (+1, −1)
            //   head 0: −log σ(1) = 0.313262; head 1 prefers rejected: −log σ(−1) = 1.313262 → mean 0.813262
            Tensor c = Torch.floats(new float[]{1, 1}, 1, 2), r = Torch.floats(new float[]{0, 0}, 1, 2);
            assertEquals(0.813262, Torch.item(RewardLoss.multiObjective(c, r, Torch.floats(new float[]{1, -1}, 1, 2), 0)), 1e-5);
            // s = (+1, 0): the tie on head 1 is left out, not counted as log 2 → 0.313262 / 1
            assertEquals(0.313262, Torch.item(RewardLoss.multiObjective(c, r, Torch.floats(new float[]{1, 0}, 1, 2), 0)), 1e-5);
            // centering η = 0.01 over all 2 entries: 0.313262 + 0.01·((1+0)² + (1+0)²)/2 = 0.323262
            assertEquals(0.323262, Torch.item(RewardLoss.multiObjective(c, r, Torch.floats(new float[]{1, 0}, 1, 2), 0.01)), 1e-5);
            // all ties: nothing to learn, loss 0 (not NaN)
            assertEquals(0.0, Torch.item(RewardLoss.multiObjective(c, r, Torch.floats(new float[]{0, 0}, 1, 2), 0)), 0);
        }
    }

    @Test
    void plackettLuce() {
        try (PointerScope s = new PointerScope()) {
            Tensor all = Torch.floats(new float[]{1, 1, 1}, 1, 3);
            // s = (2, 1, 0) best first: −[(2 − log(e²+e+1)) + (1 − log(e+1)) + (0 − log 1)]
            //   = −[(2 − 2.407606) + (1 − 1.313262) + 0] = 0.720868
            assertEquals(0.720868, Torch.item(RewardLoss.plackettLuce(Torch.floats(new float[]{2, 1, 0}, 1, 3), all)), 1e-5);
            // padded third slot: −[(2 − log(e²+e)) + (1 − log e)] = −[(2 − 2.313262) + 0] = 0.313262 — the BT loss of (2 vs 1)
            Tensor two = Torch.bools(new boolean[]{true, true, false}, 1, 3);
            assertEquals(0.313262, Torch.item(RewardLoss.plackettLuce(Torch.floats(new float[]{2, 1, 99}, 1, 3), two)), 1e-5);
            // a tie of two: −[(0 − log 2) + 0] = log 2, whichever order the tie was listed in
            assertEquals(Math.log(2), Torch.item(RewardLoss.plackettLuce(Torch.floats(new float[]{0, 0}, 1, 2),
                    Torch.floats(new float[]{1, 1}, 1, 2).to(org.bytedeco.pytorch.global.torch.ScalarType.Bool))), 1e-6);
        }
    }

    @Test
    void ensembleAggregations() {
        double[][] scores = {{1, 0}, {3, 0}};   // two models, two samples
        assertArrayEquals(new double[]{2, 0}, RewardEnsemble.aggregate(scores, RewardEnsemble.Aggregation.MEAN, 0), 1e-12);
        assertArrayEquals(new double[]{1, 0}, RewardEnsemble.aggregate(scores, RewardEnsemble.Aggregation.MIN, 0), 1e-12);
        // mean 2, population std 1 ⇒ 2 − 0.5·1 = 1.5; second sample: no disagreement ⇒ 0
        assertArrayEquals(new double[]{1.5, 0}, RewardEnsemble.aggregate(scores, RewardEnsemble.Aggregation.MEAN_MINUS_STD, 0.5), 1e-12);
    }
}
