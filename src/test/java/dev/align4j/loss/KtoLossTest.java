package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** KTO against values worked out by hand: β = 0.5, reference point z = 0.1. */
class KtoLossTest {
    @Test
    void desirableAndUndesirableTerms() {
        try (PointerScope s = new PointerScope()) {
            var lr = Torch.floats(new float[]{0.5f, -0.5f}, 2);
            var label = Torch.floats(new float[]{1, 0}, 2);
            float[] l = Torch.toFloats(KtoLoss.losses(lr, label, 0.1, 0.5, 1.0, 1.33));
            // desirable, ℓ = 0.5: 1 − σ(0.5·(0.5 − 0.1)) = 1 − σ(0.2) = 1 − 0.549834 = 0.450166
            assertEquals(0.450166, l[0], 1e-5);
            // undesirable, ℓ = −0.5: 1.33·(1 − σ(0.5·(0.1 + 0.5))) = 1.33·(1 − σ(0.3)) = 1.33·0.425557 = 0.565991
            assertEquals(0.565991, l[1], 1e-5);
        }
    }

    @Test
    void referencePointIsClampedAtZero() {
        try (PointerScope s = new PointerScope()) {
            // mean(π − π_ref) = mean(−1 − (−0.5), −2 − (−2.5)) = mean(−0.5, 0.5) = 0 ; all below ⇒ clamp to 0
            assertEquals(0.0, KtoLoss.referencePoint(Torch.floats(new float[]{-1, -2}, 2), Torch.floats(new float[]{-0.5f, -2.5f}, 2)), 1e-7);
            assertEquals(0.0, KtoLoss.referencePoint(Torch.floats(new float[]{-3}, 1), Torch.floats(new float[]{-1}, 1)), 1e-7);
            // mean(0.3, 0.1) = 0.2
            assertEquals(0.2, KtoLoss.referencePoint(Torch.floats(new float[]{-0.7f, -1.9f}, 2), Torch.floats(new float[]{-1, -2}, 2)), 1e-6);
        }
    }

    @Test
    void atTheReferenceEveryExampleCostsHalfItsWeight() {
        try (PointerScope s = new PointerScope()) {
            // ℓ = z = 0 ⇒ 1 − σ(0) = 0.5 for both kinds
            float[] l = Torch.toFloats(KtoLoss.losses(Torch.floats(new float[]{0, 0}, 2), Torch.floats(new float[]{1, 0}, 2), 0, 0.1, 2.0, 1.0));
            assertArrayEquals(new float[]{1.0f, 0.5f}, l, 1e-6f);
        }
    }

    @Test
    void apoZeroUnpairedNeedsNoReferencePoint() {
        try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
            // ℓ = (1, −1), desirable (1, 0), β = 0.5, λ_D = 1, λ_U = 2:
            //   desirable 1·(1 − σ(0.5)) = 0.377541; undesirable 2·σ(0.5·(−1)) = 2·0.377541 = 0.755081; mean 0.566311
            var l = KtoLoss.apoZeroUnpaired(dev.align4j.core.Torch.floats(new float[]{1, -1}, 2), dev.align4j.core.Torch.floats(new float[]{1, 0}, 2), 0.5, 1, 2);
            assertEquals(0.566311, dev.align4j.core.Torch.item(l.mean()), 1e-5);
        }
    }
}
