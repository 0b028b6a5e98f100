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

    /** How per-token losses become one number (TRL's loss types in brackets). */
    public enum Aggregation {
        /** mean over each sequence's tokens, then over sequences [grpo, sapo]. */
        SEQUENCE_MEAN,
        /** sum over all tokens / number of tokens [bnpo, dapo, cispo, vespo]. */
        TOKEN_MEAN,
        /** sum over all tokens / (N · max completion length) [dr_grpo]. */
        CONSTANT,
        /** Σ over tokens of the loss × its sequence's length / (N · T): with a sequence-level ratio, mean_i(L_i · |y_i|) [luspo]. */
        LENGTH_WEIGHTED
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

    /** Which importance ratio the surrogate uses. */
    public enum Ratio {
        /** ρ_t = exp(log π_t − log π_old,t) per token (PPO, GRPO). */
        TOKEN,
        /** one ρ per sequence, exp(mean_t(log π − log π_old)) (GSPO, Zheng et al. 2025). */
        SEQUENCE_MEAN,
        /** one ρ per sequence, exp(Σ_t log π − Σ_t log π_old): the ratio of sequence probabilities (TRL's RLOOTrainer). */
        SEQUENCE_SUM
    }

    /** The per-token objective. */
    public enum Objective {
        /** PPO's clipped surrogate −min(ρA, clip(ρ, 1 − ε_low, 1 + ε_high)·A) (Schulman et al. 2017) [grpo, bnpo, dr_grpo, dapo, luspo]. */
        CLIP,
        /**
         * CISPO (MiniMax-M1, arXiv 2506.13585): −sg(min(ρ, ε_high))·A·log π — the importance weight capped at the absolute value
         * ε_high (no lower cap; ScaleRL uses 5) and detached, so every token keeps a gradient [cispo].
         */
        CISPO,
        /** SAPO (Gao et al. 2025, arXiv 2511.20347): −σ(τ(ρ − 1))·(4/τ)·A, a soft gate with τ = τ_pos for A &gt; 0, τ_neg otherwise [sapo]. */
        SAPO,
        /**
         * VESPO (TRL's {@code vespo}): −sg(φ)·A·log π with φ = exp(λ + k·log w − λ·w) of the sequence's summed ratio
         * w = exp(Σ_t (log π − log π_old)) clamped to [1e−8, e^20]; (k, λ) = (2, 3) for A ≥ 0 and (3, 2) for A &lt; 0 [vespo].
         */
        VESPO
    }

    /** The loss and detached diagnostics: the share of tokens (or sequences, with one ratio per sequence) whose ratio was clipped. */
    public record Out(Tensor loss, double clipFraction, double lowClipFraction, double highClipFraction) {}

    /**
     * The surrogate's settings.
     *
     * @param epsLow      the ratio's lower clip 1 − ε_low
     * @param epsHigh     its upper clip 1 + ε_high (DAPO's clip-higher: ε_high &gt; ε_low); CISPO's absolute cap
     * @param ratio       token or sequence-level importance ratio
     * @param aggregation how per-token losses become one number
     * @param maxLength   the completion budget (CONSTANT aggregation's normaliser)
     * @param objective   the per-token objective
     * @param tauPos      SAPO's gate temperature for A &gt; 0 (TRL default 1.0)
     * @param tauNeg      SAPO's gate temperature for A ≤ 0 (TRL default 1.05)
     */
    public record Clip(double epsLow, double epsHigh, Ratio ratio, Aggregation aggregation, int maxLength, Objective objective, double tauPos, double tauNeg) {
        /** The clipped objective with a token ratio, or GSPO's sequence ratio. */
        public Clip(double epsLow, double epsHigh, boolean sequenceRatio, Aggregation aggregation, int maxLength) {
            this(epsLow, epsHigh, sequenceRatio ? Ratio.SEQUENCE_MEAN : Ratio.TOKEN, aggregation, maxLength, Objective.CLIP, 1.0, 1.05);
        }

        /** PPO's symmetric clip with the token mean. */
        public static Clip symmetric(double eps, int maxLength) { return new Clip(eps, eps, false, Aggregation.TOKEN_MEAN, maxLength); }
    }

    /**
     * Policy-gradient surrogate with importance ratio ρ (per token, or per sequence) and per-token loss ℓ_t from
     * {@link Objective}: PPO-style clipping (Schulman et al. 2017) with DAPO's asymmetric ε, CISPO, SAPO or VESPO; then
     * (+ β·KL) and the aggregation.
     *
     * @param advantages (N) one advantage per sequence (outcome reward), or (N, T) per token
     * @param klPenalty  (N, T) β·KL added to each token's loss, or null
     */
    public static Out clippedSurrogate(Tensor logp, Tensor oldLogp, Tensor advantages, Tensor mask, Tensor klPenalty, Clip c) {
        double epsLow = c.epsLow(), epsHigh = c.epsHigh();
        Tensor logRatio = logp.sub(oldLogp);
        Tensor lengths = mask.sum(new long[]{1}, true, new ScalarTypeOptional());                                      // (N, 1)
        if (c.ratio() != Ratio.TOKEN) {
            logRatio = logRatio.mul(mask).sum(new long[]{1}, true, new ScalarTypeOptional());                          // (N, 1)
            if (c.ratio() == Ratio.SEQUENCE_MEAN) logRatio = logRatio.div(lengths.clamp_min(Torch.s(1.0)));
        }
        Tensor ratio = torch.exp(logRatio);
        Tensor adv = advantages.dim() == 1 ? advantages.unsqueeze(1) : advantages;
        Tensor perToken = switch (c.objective()) {
            case CLIP -> {
                Tensor clipped = ratio.clamp(new org.bytedeco.pytorch.ScalarOptional(Torch.s(1 - epsLow)), new org.bytedeco.pytorch.ScalarOptional(Torch.s(1 + epsHigh)));
                yield torch.min(ratio.mul(adv), clipped.mul(adv)).neg();
            }
            case CISPO -> ratio.clamp_max(Torch.s(epsHigh)).detach().mul(adv).mul(logp).neg();
            case SAPO -> {
                Tensor tau = torch.where(adv.gt(Torch.s(0.0)), Torch.s(c.tauPos()), torch.full_like(adv, Torch.s(c.tauNeg())));
                yield torch.sigmoid(tau.mul(ratio.sub(Torch.s(1.0)))).mul(Torch.s(4.0)).div(tau).mul(adv).neg();
            }
            case VESPO -> {
                Tensor logW = logp.sub(oldLogp).clamp(new org.bytedeco.pytorch.ScalarOptional(Torch.s(-20.0)), new org.bytedeco.pytorch.ScalarOptional(Torch.s(20.0)))
                        .mul(mask).sum(new long[]{1}, true, new ScalarTypeOptional())
                        .clamp(new org.bytedeco.pytorch.ScalarOptional(Torch.s(Math.log(1e-8))), new org.bytedeco.pytorch.ScalarOptional(Torch.s(20.0))).detach();
                Tensor nonNeg = adv.ge(Torch.s(0.0)).to(ScalarType.Float);                                           // k, λ by the sign of A
                Tensor k = nonNeg.mul(Torch.s(2.0 - 3.0)).add(Torch.s(3.0)), lambda = nonNeg.mul(Torch.s(3.0 - 2.0)).add(Torch.s(2.0));
                Tensor phi = torch.exp(lambda.add(k.mul(logW)).sub(lambda.mul(torch.exp(logW)))).detach();
                yield torch.nan_to_num(phi).mul(adv).mul(logp).neg();
            }
        };
        boolean onePerSequence = perToken.size(1) == 1 && klPenalty == null;      // the same loss on every token of a sequence
        if (perToken.size(1) == 1) perToken = perToken.expand(mask.size(0), mask.size(1));
        if (klPenalty != null) perToken = perToken.add(klPenalty);
        Tensor loss = switch (c.aggregation()) {
            case SEQUENCE_MEAN -> perToken.mul(mask).sum(new long[]{1}, false, new ScalarTypeOptional())
                    .div(mask.sum(new long[]{1}, false, new ScalarTypeOptional()).clamp_min(Torch.s(1.0))).mean();
            case TOKEN_MEAN -> perToken.mul(mask).sum().div(mask.sum().clamp_min(Torch.s(1.0)));
            case CONSTANT -> perToken.mul(mask).sum().div(Torch.s((double) mask.size(0) * c.maxLength()));
            case LENGTH_WEIGHTED -> onePerSequence ? perToken.narrow(1, 0, 1).mul(lengths).mean()                    // mean_i(L_i · |y_i|)
                    : perToken.mul(mask).mul(lengths).mean();
        };
        // diagnostics: low clip where ρ < 1 − ε_low and A < 0; high clip where ρ > 1 + ε_high and A > 0 (CISPO: ρ > ε_high) —
        // the share of tokens, or with one ratio per sequence and outcome advantages the share of sequences, as TRL counts them
        boolean perSequence = c.ratio() != Ratio.TOKEN && adv.size(1) == 1;
        Tensor weight = perSequence ? lengths.gt(Torch.s(0.0)).to(ScalarType.Float) : mask;
        double count = Math.max(1, Torch.item(weight.sum()));
        Tensor r = ratio.detach().expand(weight.size(0), weight.size(1)), a = adv.detach().expand(weight.size(0), weight.size(1));
        double highAt = c.objective() == Objective.CISPO ? epsHigh : 1 + epsHigh;
        double low = c.objective() == Objective.CISPO ? 0
                : Torch.item(r.lt(Torch.s(1 - epsLow)).logical_and(a.lt(Torch.s(0.0))).to(ScalarType.Float).mul(weight).sum()) / count;
        double high = Torch.item(r.gt(Torch.s(highAt)).logical_and(a.gt(Torch.s(0.0))).to(ScalarType.Float).mul(weight).sum()) / count;
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
