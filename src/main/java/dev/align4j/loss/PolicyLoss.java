package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Policy-gradient losses for online RL, as pure functions over token log-probs. Shapes: N sequences,
 * T completion positions; {@code mask} (N, T) is 1 at completion tokens.
 */
public final class PolicyLoss {
    private PolicyLoss() {}

    /** How per-token losses become one number. */
    public enum Aggregation {
        /** mean over each sequence's tokens, then over sequences (GRPO). */
        SEQUENCE_MEAN,
        /** sum over all tokens / number of tokens (DAPO's token-level loss; TRL "bnpo"). */
        TOKEN_MEAN,
        /** sum over all tokens / (N · max completion length) (Dr. GRPO's constant normaliser). */
        CONSTANT
    }

    /** KL estimators of KL(π ‖ π_ref) per token, from x = log π_ref − log π (Schulman 2020). */
    public enum KlEstimator {
        /** k1 = −x = log π − log π_ref (unbiased, high variance, can be negative). */
        K1,
        /** k2 = x² / 2. */
        K2,
        /** k3 = exp(x) − x − 1 (unbiased, non-negative; GRPO's choice). */
        K3
    }

    public static Tensor kl(Tensor logp, Tensor refLogp, KlEstimator k) {
        Tensor x = refLogp.sub(logp);
        return switch (k) {
            case K1 -> x.neg();
            case K2 -> x.pow(Torch.s(2.0)).mul(Torch.s(0.5));
            case K3 -> torch.exp(x).sub(x).sub(Torch.s(1.0));
        };
    }

    /** The loss and detached diagnostics: the share of tokens whose ratio was clipped. */
    public record Out(Tensor loss, double clipFraction, double lowClipFraction, double highClipFraction) {}

    /**
     * The clipped surrogate's settings.
     *
     * @param epsLow        the ratio's lower clip 1 − ε_low
     * @param epsHigh       its upper clip 1 + ε_high (DAPO's clip-higher: ε_high &gt; ε_low)
     * @param sequenceRatio GSPO's sequence-level ratio instead of per-token ratios
     * @param aggregation   how per-token losses become one number
     * @param maxLength     the completion budget (CONSTANT aggregation's normaliser)
     */
    public record Clip(double epsLow, double epsHigh, boolean sequenceRatio, Aggregation aggregation, int maxLength) {
        /** PPO's symmetric clip with the token mean. */
        public static Clip symmetric(double eps, int maxLength) { return new Clip(eps, eps, false, Aggregation.TOKEN_MEAN, maxLength); }
    }

    /**
     * PPO-style clipped surrogate (Schulman et al. 2017) with asymmetric clipping (DAPO's clip-higher):
     * per token −min(ρ·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A) (+ β·KL), ρ = exp(log π − log π_old).
     * With {@code sequenceRatio} the ratio is GSPO's (Zheng et al. 2025): exp(mean_t(log π − log π_old)) per sequence.
     *
     * @param advantages (N) one advantage per sequence (outcome reward), or (N, T) per token
     * @param klPenalty  (N, T) β·KL added to each token's loss, or null
     */
    public static Out clippedSurrogate(Tensor logp, Tensor oldLogp, Tensor advantages, Tensor mask, Tensor klPenalty, Clip c) {
        double epsLow = c.epsLow(), epsHigh = c.epsHigh();
        Tensor logRatio = logp.sub(oldLogp);
        if (c.sequenceRatio()) {
            Tensor count = mask.sum(new long[]{1}, true, new ScalarTypeOptional()).clamp_min(Torch.s(1.0));
            logRatio = logRatio.mul(mask).sum(new long[]{1}, true, new ScalarTypeOptional()).div(count);   // (N, 1)
        }
        Tensor ratio = torch.exp(logRatio);
        Tensor adv = advantages.dim() == 1 ? advantages.unsqueeze(1) : advantages;
        Tensor clipped = ratio.clamp(new org.bytedeco.pytorch.ScalarOptional(Torch.s(1 - epsLow)), new org.bytedeco.pytorch.ScalarOptional(Torch.s(1 + epsHigh)));
        Tensor perToken = torch.min(ratio.mul(adv), clipped.mul(adv)).neg();
        if (perToken.size(1) == 1) perToken = perToken.expand(mask.size(0), mask.size(1));
        if (klPenalty != null) perToken = perToken.add(klPenalty);
        Tensor loss = switch (c.aggregation()) {
            case SEQUENCE_MEAN -> perToken.mul(mask).sum(new long[]{1}, false, new ScalarTypeOptional())
                    .div(mask.sum(new long[]{1}, false, new ScalarTypeOptional()).clamp_min(Torch.s(1.0))).mean();
            case TOKEN_MEAN -> perToken.mul(mask).sum().div(mask.sum().clamp_min(Torch.s(1.0)));
            case CONSTANT -> perToken.mul(mask).sum().div(Torch.s((double) mask.size(0) * c.maxLength()));
        };
        // diagnostics: low clip where ρ < 1 − ε_low and A < 0; high clip where ρ > 1 + ε_high and A > 0
        double tokens = Math.max(1, Torch.item(mask.sum()));
        Tensor r = ratio.detach().expand(mask.size(0), mask.size(1)), a = adv.detach().expand(mask.size(0), mask.size(1));
        double low = Torch.item(r.lt(Torch.s(1 - epsLow)).logical_and(a.lt(Torch.s(0.0))).to(ScalarType.Float).mul(mask).sum()) / tokens;
        double high = Torch.item(r.gt(Torch.s(1 + epsHigh)).logical_and(a.gt(Torch.s(0.0))).to(ScalarType.Float).mul(mask).sum()) / tokens;
        return new Out(loss, low + high, low, high);
    }

    /** The critic's loss and the share of tokens where the clipped term was the larger one. */
    public record ValueOut(Tensor loss, double clipFraction) {}

    /**
     * PPO's clipped value loss (as in OpenAI baselines / TRL): per token
     * ½·max((V − R)², (V_old + clip(V − V_old, −ε_v, ε_v) − R)²), averaged over completion tokens.
     * {@code clip} ≤ 0 turns clipping off (½·(V − R)²).
     */
    public static ValueOut valueLoss(Tensor values, Tensor oldValues, Tensor returns, Tensor mask, double clip) {
        Tensor err = values.sub(returns).pow(Torch.s(2.0));
        Tensor perToken = err;
        double frac = 0;
        double tokens = Math.max(1, Torch.item(mask.sum()));
        if (clip > 0) {
            Tensor vc = oldValues.add(values.sub(oldValues).clamp(new org.bytedeco.pytorch.ScalarOptional(Torch.s(-clip)),
                    new org.bytedeco.pytorch.ScalarOptional(Torch.s(clip))));
            Tensor errC = vc.sub(returns).pow(Torch.s(2.0));
            perToken = torch.max(err, errC);
            frac = Torch.item(errC.gt(err).to(ScalarType.Float).mul(mask).sum()) / tokens;
        }
        Tensor loss = perToken.mul(mask).sum().div(Torch.s(tokens)).mul(Torch.s(0.5));
        return new ValueOut(loss, frac);
    }
}
