package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * KTO (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization", eq. 8), a
 * pure function. With log-ratio ℓ = log π(y|x) − log π_ref(y|x) and reference point z (the batch KL
 * estimate, clamped ≥ 0 and detached):
 * desirable: λ_D·(1 − σ(β(ℓ − z))); undesirable: λ_U·(1 − σ(β(z − ℓ))).
 */
public final class KtoLoss {
    private KtoLoss() {}

    /**
     * @param logratios (B) ℓ per example
     * @param desirable (B) 1 for thumbs-up, 0 for thumbs-down
     * @param z         reference point (a detached scalar, ≥ 0)
     * @return per-example losses (B)
     */
    public static Tensor losses(Tensor logratios, Tensor desirable, double z, double beta, double desirableWeight, double undesirableWeight) {
        Tensor up = torch.sigmoid(logratios.sub(Torch.s(z)).mul(Torch.s(beta))).neg().add(Torch.s(1.0)).mul(Torch.s(desirableWeight));
        Tensor down = torch.sigmoid(logratios.neg().add(Torch.s(z)).mul(Torch.s(beta))).neg().add(Torch.s(1.0)).mul(Torch.s(undesirableWeight));
        return up.mul(desirable).add(down.mul(desirable.neg().add(Torch.s(1.0))));
    }

    /** The reference point z = max(0, mean(log π(y'|x) − log π_ref(y'|x))) over mismatched pairs (x, y'). */
    public static double referencePoint(Tensor mismatchedPolicy, Tensor mismatchedRef) {
        return Math.max(0, Torch.item(mismatchedPolicy.detach().sub(mismatchedRef).mean()));
    }
}
