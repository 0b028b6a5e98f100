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

    /** Which unpaired loss: KTO, or APO-zero's unpaired form (no reference point). */
    public enum Variant {
        /** KTO (Ethayarajh et al. 2024): as above, with the reference point z. */
        KTO,
        /**
         * APO-zero, unpaired (D'Oosterlinck et al. 2024, "Anchored Preference Optimization", eq. 7; TRL's {@code apo_zero_unpaired}):
         * desirable λ_D·(1 − σ(βℓ)), undesirable λ_U·σ(βℓ); no reference point, so no mismatched pairs are scored.
         */
        APO_ZERO_UNPAIRED;

        public static Variant parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase().replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new dev.align4j.core.UserError("--loss " + s + ": expected kto or apo_zero_unpaired");
            }
        }
    }

    /** APO-zero, unpaired: per-example losses (B), desirable λ_D·(1 − σ(βℓ)), undesirable λ_U·σ(βℓ). */
    public static Tensor apoZeroUnpaired(Tensor logratios, Tensor desirable, double beta, double desirableWeight, double undesirableWeight) {
        Tensor s = torch.sigmoid(logratios.mul(Torch.s(beta)));
        Tensor up = s.neg().add(Torch.s(1.0)).mul(Torch.s(desirableWeight)), down = s.mul(Torch.s(undesirableWeight));
        return up.mul(desirable).add(down.mul(desirable.neg().add(Torch.s(1.0))));
    }

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
