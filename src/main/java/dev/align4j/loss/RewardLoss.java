package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Reward-model losses. Pure functions over scores; no model, no config. */
public final class RewardLoss {
    private RewardLoss() {}

    /**
     * Bradley–Terry (Ouyang et al. 2022; margin as in Llama 2, Touvron et al. 2023; centering as in
     * Eisenstein et al. 2023): mean over pairs of −log σ(r_c − r_r − m) + η·(r_c + r_r)².
     *
     * @param margin (B) per-pair margin m, or null for 0
     * @param eta    centering coefficient η (0 = off)
     */
    public static Tensor bradleyTerry(Tensor chosen, Tensor rejected, Tensor margin, double eta) {
        Tensor d = chosen.sub(rejected);
        if (margin != null) d = d.sub(margin);
        Tensor loss = torch.log_sigmoid(d).neg().mean();
        if (eta > 0) loss = loss.add(chosen.add(rejected).pow(Torch.s(2.0)).mean().mul(Torch.s(eta)));
        return loss;
    }

    /**
     * Multi-objective Bradley–Terry: one score head per objective k, each trained on the pair as that
     * objective orders it. With s_bk = sign(score_c,bk − score_r,bk) ∈ {−1, 0, +1} from the data's score vectors:
     * <pre>  L = Σ_{b,k: s_bk ≠ 0} −log σ(s_bk · (r_c,bk − r_r,bk)) / #{s_bk ≠ 0}  +  η · mean_{b,k} (r_c,bk + r_r,bk)²</pre>
     * A tie on an objective says nothing about it and is left out of that head's loss. With one head
     * and every s = +1 this is {@link #bradleyTerry} without margin.
     *
     * @param chosen, rejected (B, K) head outputs
     * @param prefer (B, K) float s_bk
     */
    public static Tensor multiObjective(Tensor chosen, Tensor rejected, Tensor prefer, double eta) {
        Tensor decided = prefer.abs();
        Tensor terms = torch.log_sigmoid(chosen.sub(rejected).mul(prefer)).neg().mul(decided);   // 0 where s = 0
        Tensor loss = terms.sum().div(decided.sum().clamp_min(Torch.s(1.0)));
        if (eta > 0) loss = loss.add(chosen.add(rejected).pow(Torch.s(2.0)).mean().mul(Torch.s(eta)));
        return loss;
    }

    /**
     * Plackett–Luce / ListMLE (Xia et al. 2008): for scores s (B, K) already ordered best first,
     * −Σ_k [s_k − log Σ_{j ≥ k} exp s_j], averaged over lists. {@code valid} (B, K) masks padded slots (1 = real).
     */
    public static Tensor plackettLuce(Tensor scores, Tensor valid) {
        Tensor pad = valid.logical_not();
        // padded slots get a large finite negative score (not −∞, whose 0·∞ would give NaN values and gradients)
        Tensor masked = scores.masked_fill(pad, Torch.s(-1e9));
        // log Σ_{j ≥ k} exp s_j as a reverse cumulative logsumexp: flip, logcumsumexp, flip
        Tensor tail = masked.flip(new long[]{1}).logcumsumexp(1).flip(new long[]{1});
        Tensor terms = masked.sub(tail).masked_fill(pad, Torch.s(0.0));          // (B, K), 0 at padding
        return terms.sum(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).neg().mean();
    }
}
