package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Listwise preference losses over K completions per prompt, as pure functions. Shapes: B lists, K
 * completions; {@code valid} (B, K) bool marks real slots. "Ordered" inputs are sorted best first.
 */
public final class ListwiseLoss {
    private ListwiseLoss() {}

    public enum Variant {
        /** LiPO-λ (Liu et al. 2024): Σ_{ψ_i &gt; ψ_j} Δ_ij·log(1 + exp(−(s_i − s_j))), s = β·log(π/π_ref), Lambda weights Δ. */
        LIPO_LAMBDA,
        /** ListMLE / Plackett–Luce on implicit rewards s = β·log(π/π_ref) (LiPO's list-MLE baseline). */
        LIST_MLE,
        /** PRO (Song et al. 2024): Plackett–Luce on length-normalized policy log-probs, plus NLL on the best completion. */
        PRO;

        public static Variant parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase().replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new dev.align4j.core.UserError("--loss " + s + ": expected lipo_lambda, list_mle or pro");
            }
        }
    }

    /**
     * LiPO-λ. Δ_ij = |G_i − G_j|·|1/D(τ_i) − 1/D(τ_j)| with gain G = 2^ψ − 1, discount D(τ) = log2(1 + τ),
     * τ_i the 1-based rank of completion i by the current s (detached; ties broken by position). Summed over ordered pairs with
     * ψ_i &gt; ψ_j (ties contribute nothing), averaged over lists.
     *
     * @param s     (B, K) implicit rewards
     * @param psi   (B, K) graded labels (higher = better)
     */
    public static Tensor lipoLambda(Tensor s, Tensor psi, Tensor valid) {
        Tensor vf = valid.to(ScalarType.Float);
        // τ: 1-based position in a stable descending sort of the detached s (padding last). Ties are broken by
        // position, as TF-Ranking's LambdaWeight does: with 1 + #(strictly greater), a list of equal scores
        // (policy = reference at step 1) would get equal ranks, Δ = 0 and no gradient at all.
        Tensor sd = s.detach().masked_fill(valid.logical_not(), Torch.s(-1e9));
        Tensor rank = sd.argsort(true, 1, true).argsort(true, 1, false).to(ScalarType.Float).add(Torch.s(1.0));  // (B, K)
        Tensor invD = torch.log2(rank.add(Torch.s(1.0))).reciprocal();                // 1 / log2(1 + τ)
        Tensor gain = torch.pow(Torch.s(2.0), psi).sub(Torch.s(1.0));                  // 2^ψ − 1
        Tensor delta = gain.unsqueeze(2).sub(gain.unsqueeze(1)).abs()
                .mul(invD.unsqueeze(2).sub(invD.unsqueeze(1)).abs());                  // (B, K, K)
        Tensor better = psi.unsqueeze(2).gt(psi.unsqueeze(1)).to(ScalarType.Float)
                .mul(vf.unsqueeze(2)).mul(vf.unsqueeze(1));                            // ψ_i > ψ_j, both real
        Tensor pairLoss = torch.softplus(s.unsqueeze(2).sub(s.unsqueeze(1)).neg());    // log(1 + e^−(s_i − s_j))
        return pairLoss.mul(delta).mul(better).sum(new long[]{1, 2}, false, new ScalarTypeOptional()).mean();
    }

    /** ListMLE on ordered scores: the Plackett–Luce negative log-likelihood of the given order. */
    public static Tensor listMle(Tensor orderedScores, Tensor valid) {
        return RewardLoss.plackettLuce(orderedScores, valid);
    }

    /** PRO: Plackett–Luce on ordered length-normalized log-probs, plus {@code nllWeight} × NLL of the best (column 0). */
    public static Tensor pro(Tensor orderedMeanLogps, Tensor valid, double nllWeight) {
        Tensor nllBest = orderedMeanLogps.select(1, 0).neg().mean();
        return RewardLoss.plackettLuce(orderedMeanLogps, valid).add(nllBest.mul(Torch.s(nllWeight)));
    }
}
