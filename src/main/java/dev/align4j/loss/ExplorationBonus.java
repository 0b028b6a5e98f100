package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;

/**
 * The exploration terms that online DPO adds to its pairwise loss, as one pure function over the log-probabilities of a
 * <em>reference sample</em> ỹ ∼ π_ref (one per prompt; π_ref the frozen start, or the previous iterate when the reference
 * moves). All three lower log π(ỹ) when their coefficient is positive — mass moves off what the reference already
 * produces — and differ in scale and sign. No model, config or logging here. Shapes: B reference samples, vectors.
 */
public final class ExplorationBonus {
    private ExplorationBonus() {}

    public enum Kind {
        /** None: plain online DPO. */
        NONE,
        /**
         * XPO (Xie et al. 2024, "Exploratory Preference Optimization", arXiv 2405.21046, Algorithm 1; TRL's XPOTrainer):
         * ℓ(ỹ) = α · log π(ỹ|x).
         */
        XPO,
        /**
         * SELM (Zhang et al. 2024, "Self-Exploring Language Models", arXiv 2405.19332; the authors' {@code optimistic_dpo_loss}):
         * ℓ(ỹ) = α · β · (log π(ỹ|x) − log π_ref(ỹ|x)), the optimism term on the implicit reward of a reference response.
         */
        SELM,
        /**
         * VPO (Cen et al. 2024, "Value-Incentivized Preference Optimization", arXiv 2405.19320): the reward MLE regularised by
         * sign · α · V(r); with the implicit reward calibrated to E_{ỹ∼π_cal}[r] = 0, V = −β E_{ỹ∼π_cal}[log π/π_ref], so
         * ℓ(ỹ) = sign · α · β · (log π(ỹ|x) − log π_ref(ỹ|x)), π_cal = π_ref; sign +1 optimism (online), −1 pessimism.
         */
        VPO;

        public static Kind parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new dev.align4j.core.UserError("--exploration " + s + ": unknown; expected one of none, xpo, selm, vpo");
            }
        }
    }

    /**
     * Per-sample exploration losses (B).
     *
     * @param logp  log π(ỹ|x) of the reference samples, (B), with gradients
     * @param ref   log π_ref(ỹ|x), (B)
     * @param alpha the term's coefficient α
     * @param beta  the DPO β (SELM and VPO scale the implicit reward β·log π/π_ref)
     * @param sign  VPO's sign: +1 optimistic, −1 pessimistic (ignored otherwise)
     */
    public static Tensor losses(Kind kind, Tensor logp, Tensor ref, double alpha, double beta, int sign) {
        return switch (kind) {
            case NONE -> logp.mul(Torch.s(0.0));
            case XPO -> logp.mul(Torch.s(alpha));
            case SELM -> logp.sub(ref).mul(Torch.s(alpha * beta));
            case VPO -> logp.sub(ref).mul(Torch.s(sign * alpha * beta));
        };
    }
}
