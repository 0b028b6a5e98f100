package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The process reward model's step loss and its accuracies, against values worked out by hand. */
class ProcessRewardLossTest {
    @Test
    void stepLossIsTheMeanBinaryCrossEntropyAtLabelledTokensOnly() {
        try (PointerScope s = new PointerScope()) {
            // three trajectories, three token columns; labelled (mask 1) entries:
            //   row 0: (z = 2, y = 1)  (z = −1, y = 1)          [col 0 unlabelled: z = 0.5 must not count]
            //   row 1: (z = 0, y = 0)  (z = 1, y = 0.25 soft)   [col 2 unlabelled: z = 3]
            //   row 2: (z = −3, y = 0)
            float[] z = {0.5f, 2f, -1f, 0f, 1f, 3f, -3f, 0f, 0f};
            float[] y = {1f, 1f, 1f, 0f, 0.25f, 1f, 0f, 0f, 0f};
            float[] m = {0, 1, 1, 1, 1, 0, 1, 0, 0};
            ProcessRewardLoss.Result r = ProcessRewardLoss.stepwise(Torch.floats(z, 3, 3), Torch.floats(y, 3, 3), Torch.floats(m, 3, 3));
            // terms −y·log σ(z) − (1 − y)·log σ(−z), with −log σ(z) = log(1 + e^−z):
            //   (2, 1):     log(1 + e^−2) = 0.126928
            //   (−1, 1):    log(1 + e^1)  = 1.313262
            //   (0, 0):     log 2         = 0.693147
            //   (1, 0.25):  0.25·log(1 + e^−1) + 0.75·log(1 + e^1) = 0.25·0.313262 + 0.75·1.313262 = 1.063262
            //   (−3, 0):    log(1 + e^−3) = 0.048587
            //   mean over the 5 labelled steps = 3.245186 / 5 = 0.649037
            assertEquals(0.649037, Torch.item(r.loss()), 1e-5);
            // right when (z > 0) = (y > ½): (2,1) yes, (−1,1) no, (0,0) yes, (1,0.25) no, (−3,0) yes → 3/5
            assertEquals(0.6, r.stepAccuracy(), 1e-12);
            // rows 0 and 1 each have a wrong step; row 2 is all right → 1/3
            assertEquals(1.0 / 3, r.trajectoryAccuracy(), 1e-12);
            assertEquals(5, r.steps(), 0);
        }
    }

    @Test
    void gradientFlowsOnlyThroughLabelledTokens() {
        try (PointerScope s = new PointerScope()) {
            var z = Torch.floats(new float[]{0.3f, -0.7f, 1.1f}, 1, 3).requires_grad_(true);
            ProcessRewardLoss.Result r = ProcessRewardLoss.stepwise(z, Torch.floats(new float[]{1, 0, 1}, 1, 3), Torch.floats(new float[]{0, 1, 0}, 1, 3));
            r.loss().backward();
            float[] g = Torch.toFloats(z.grad());
            // d/dz of (1 − y)·log(1 + e^z) at y = 0, z = −0.7: σ(−0.7) = 0.331812, over 1 labelled step
            assertArrayEquals(new float[]{0f, 0.331812f, 0f}, g, 1e-5f);
        }
    }
}
