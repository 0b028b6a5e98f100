package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The pairwise DPO family as pure functions over per-sequence log-probabilities. Each variant is one
 * case of one exhaustive switch, with its formula and paper in a comment (docs/papers.md lists them).
 *
 * <p>Notation, per pair b: π_c, π_r policy log-probs of chosen / rejected (summed over tokens, or their
 * length-normalized means where the variant says so); ρ_c, ρ_r the reference's; a = π_c − ρ_c,
 * r = π_r − ρ_r (log-ratios); h = a − r; β the temperature; ε label smoothing; σ the logistic function.
 * Implicit rewards are β·a (chosen) and β·r (rejected).
 */
public final class PreferenceLoss {
    private PreferenceLoss() {}

    public enum Variant {
        /** DPO (Rafailov et al. 2023): −log σ(βh); with ε > 0 the conservative cDPO: −(1−ε) log σ(βh) − ε log σ(−βh). */
        SIGMOID,
        /** SLiC-HF hinge (Zhao et al. 2023): max(0, 1 − βh). */
        HINGE,
        /** IPO (Azar et al. 2023): (h − 1/(2β))², on length-normalized log-probs. */
        IPO,
        /** Robust DPO (Chowdhury et al. 2024): [−(1−ε) log σ(βh) + ε log σ(−βh)] / (1 − 2ε). */
        ROBUST,
        /** EXO, pairwise (Ji et al. 2024): σ(βh)(log σ(βh) − log(1−ε)) + σ(−βh)(log σ(−βh) − log ε), ε defaults to 1e−3. */
        EXO_PAIR,
        /** NCA, pairwise (Chen et al. 2024): −log σ(βa) − ½ log σ(−βa) − ½ log σ(−βr). */
        NCA_PAIR,
        /**
         * BCO, pairwise (Jung et al. 2024): −log σ(βa − δ) − log σ(−(βr − δ)), δ the running mean of the batches' mean
         * implicit reward, the current batch folded in before it is used (as TRL v0.28's {@code RunningMoments}).
         */
        BCO_PAIR,
        /** SPPO, hard labels (Wu et al. 2024): (a − 1/(2β))² + (r + 1/(2β))². */
        SPPO_HARD,
        /** APO-zero (D'Oosterlinck et al. 2024): (1 − σ(βa)) + σ(βr). */
        APO_ZERO,
        /** APO-down (D'Oosterlinck et al. 2024): σ(βa) + (1 − σ(β(a − r))). */
        APO_DOWN,
        /** DiscoPOP (Chris Lu et al. 2024): (1 − m)·(−log σ(βh)) + m·exp(−βh), m = σ(βh / τ), τ = 0.05. */
        DISCOPOP,
        /** Length-normalized DPO (LN-DPO): the SIGMOID loss on length-normalized log-probs. */
        SIGMOID_NORM,
        /**
         * AOT (Melnyk et al. 2024, "Distributional Preference Alignment of LLMs via Optimal Transport", arXiv 2406.05882), paired:
         * the policy's margins π_c − π_r and the reference's ρ_c − ρ_r are each sorted over the batch and compared k-th smallest
         * to k-th smallest, δ_k = sort(π_c − π_r)_k − sort(ρ_c − ρ_r)_k; loss −(1−ε) log σ(βδ_k) − ε log σ(−βδ_k) (TRL's {@code aot}).
         */
        AOT,
        /**
         * AOT, unpaired: the chosen log-ratios and the rejected log-ratios are each sorted, δ_k = sort(a)_k − sort(r)_k, then the
         * same loss (TRL's {@code aot_unpaired}, called {@code aot_pair} up to TRL 0.28; both names are accepted).
         */
        AOT_UNPAIRED,
        /**
         * Step-APO (Wang, Chen, Han, Bai 2024, "CPL: Critical Plan Step Learning", arXiv 2409.08642): DPO on step pairs whose
         * margin must exceed the MCTS advantage gap, see {@link #stepApo}; needs per-pair advantages (pairs from {@code ./align4j mcts}).
         */
        STEP_APO,
        /** SFT: the NLL of the chosen completions, one cross-entropy over all their tokens in the batch (TRL's {@code sft}; with sigmoid = RPO). */
        SFT,
        /** SimPO, reference-free: see {@link #simpo}. */
        SIMPO,
        /** CPO, reference-free: see {@link #cpo}. */
        CPO,
        /** ORPO, reference-free: see {@link #orpo}. */
        ORPO;

        public static Variant parse(String s) {
            try {
                String name = s.trim().toUpperCase().replace('-', '_');
                return valueOf(name.equals("AOT_PAIR") ? "AOT_UNPAIRED" : name);
            } catch (IllegalArgumentException e) {
                throw new dev.align4j.core.UserError("--loss " + s + ": unknown; expected one of "
                        + java.util.Arrays.stream(values()).map(v -> v.name().toLowerCase()).toList() + " (rpo = sigmoid + --rpo-alpha)");
            }
        }

        /** Whether the variant reads length-normalized (mean) log-probs instead of sums. */
        public boolean lengthNormalized() { return this == IPO || this == SIGMOID_NORM; }

        /** Step-APO needs each pair's advantages from a search, besides the log-probs. */
        public boolean needsAdvantages() { return this == STEP_APO; }

        /** SimPO, CPO, ORPO and SFT need no reference model. */
        public boolean referenceFree() { return this == SIMPO || this == CPO || this == ORPO || this == SFT; }
    }

    /** Loss per pair (B) and the detached implicit rewards. */
    public record Out(Tensor losses, Tensor chosenRewards, Tensor rejectedRewards) {}

    /**
     * @param policyChosen, policyRejected, refChosen, refRejected (B) sequence log-probs
     * @param beta   temperature β &gt; 0
     * @param eps    label smoothing ε (SIGMOID, ROBUST, EXO_PAIR)
     * @param delta  BCO_PAIR's reward shift δ (ignored otherwise)
     */
    public static Out compute(Variant v, Tensor policyChosen, Tensor policyRejected, Tensor refChosen, Tensor refRejected,
                              double beta, double eps, double delta) {
        Tensor a = policyChosen.sub(refChosen), r = policyRejected.sub(refRejected);
        Tensor h = a.sub(r);
        Tensor bh = h.mul(Torch.s(beta));
        Tensor losses = switch (v) {
            case SIGMOID, SIGMOID_NORM -> logsig(bh).mul(Torch.s(-(1 - eps))).sub(logsig(bh.neg()).mul(Torch.s(eps)));
            case HINGE -> torch.relu(bh.neg().add(Torch.s(1.0)));
            case IPO -> h.sub(Torch.s(1 / (2 * beta))).pow(Torch.s(2.0));
            case ROBUST -> logsig(bh).mul(Torch.s(-(1 - eps))).add(logsig(bh.neg()).mul(Torch.s(eps))).div(Torch.s(1 - 2 * eps));
            case EXO_PAIR -> {
                double e = eps == 0 ? 1e-3 : eps;
                yield torch.sigmoid(bh).mul(logsig(bh).sub(Torch.s(Math.log(1 - e))))
                        .add(torch.sigmoid(bh.neg()).mul(logsig(bh.neg()).sub(Torch.s(Math.log(e)))));
            }
            case NCA_PAIR -> {
                Tensor ca = a.mul(Torch.s(beta)), cr = r.mul(Torch.s(beta));
                yield logsig(ca).neg().sub(logsig(ca.neg()).mul(Torch.s(0.5))).sub(logsig(cr.neg()).mul(Torch.s(0.5)));
            }
            case BCO_PAIR -> {
                Tensor ca = a.mul(Torch.s(beta)).sub(Torch.s(delta)), cr = r.mul(Torch.s(beta)).sub(Torch.s(delta));
                yield logsig(ca).neg().sub(logsig(cr.neg()));
            }
            case SPPO_HARD -> a.sub(Torch.s(1 / (2 * beta))).pow(Torch.s(2.0)).add(r.add(Torch.s(1 / (2 * beta))).pow(Torch.s(2.0)));
            case APO_ZERO -> torch.sigmoid(a.mul(Torch.s(beta))).neg().add(Torch.s(1.0)).add(torch.sigmoid(r.mul(Torch.s(beta))));
            case APO_DOWN -> torch.sigmoid(a.mul(Torch.s(beta))).add(torch.sigmoid(bh).neg().add(Torch.s(1.0)));
            case SIMPO, CPO, ORPO, SFT -> throw new IllegalArgumentException(v + " is reference-free: use simpo(), cpo(), orpo() or SftLoss");
            case STEP_APO -> throw new IllegalArgumentException("step_apo needs each pair's advantages: use stepApo()");
            case AOT, AOT_UNPAIRED -> {
                Tensor x = v == Variant.AOT_UNPAIRED ? a : policyChosen.sub(policyRejected), y = v == Variant.AOT_UNPAIRED ? r : refChosen.sub(refRejected);
                Tensor bd = sorted(x).sub(sorted(y)).mul(Torch.s(beta));                  // (B) k-th smallest against k-th smallest
                yield logsig(bd).mul(Torch.s(-(1 - eps))).sub(logsig(bd.neg()).mul(Torch.s(eps)));
            }
            case DISCOPOP -> {
                Tensor m = torch.sigmoid(bh.div(Torch.s(0.05)));
                yield logsig(bh).neg().mul(m.neg().add(Torch.s(1.0))).add(torch.exp(bh.neg()).mul(m));
            }
        };
        return new Out(losses, a.detach().mul(Torch.s(beta)), r.detach().mul(Torch.s(beta)));
    }

    static Tensor logsig(Tensor x) { return torch.log_sigmoid(x); }

    /** Ascending sort over the batch (differentiable: the gradient follows each value to its place). */
    static Tensor sorted(Tensor x) { return torch.sort(x, 0, false).get0(); }

    /**
     * MODPO (Zhou et al. 2024, "Beyond One-Preference-Fits-All", the authors' {@code modpo_loss}): the pair is
     * labelled for objective k; the other objectives enter as a margin from their rewards:
     * −log σ( (1/w_k)·[β·h − w_{−k}ᵀ(r_{−k}(x, y_c) − r_{−k}(x, y_r))] ), with h = a − r as above.
     *
     * @param marginDiff (B) w_{−k}ᵀ(r_{−k}(chosen) − r_{−k}(rejected)), already weighted
     * @param wk         weight of the labelled objective, in (0, 1]
     */
    public static Out modpo(Tensor policyChosen, Tensor policyRejected, Tensor refChosen, Tensor refRejected,
                            Tensor marginDiff, double beta, double wk) {
        Tensor a = policyChosen.sub(refChosen), r = policyRejected.sub(refRejected);
        Tensor logits = a.sub(r).mul(Torch.s(beta)).sub(marginDiff).div(Torch.s(wk));
        return new Out(logsig(logits).neg(), a.detach().mul(Torch.s(beta)), r.detach().mul(Torch.s(beta)));
    }

    /**
     * Step-APO (Wang, Chen, Han, Bai 2024, "CPL: Critical Plan Step Learning Boosts LLM Generalization in Reasoning Tasks",
     * arXiv 2409.08642, §3.2; the authors' released loss {@code sigmoid_a_α}): the step-level DPO logit is shifted by the MCTS
     * advantage gap of the two steps, so a pair whose steps differ more in value must be separated by a wider margin:
     * <pre>  −(1−ε)·log σ(βh − α·ΔA) − ε·log σ(−(βh − α·ΔA)),   ΔA = A(s, a_c) − A(s, a_r) = Q(s, a_c) − Q(s, a_r)</pre>
     * (the two steps share the state s, so V(s) cancels). h = a − r as above; α = 0 is DPO (cDPO with ε &gt; 0).
     *
     * @param advantageGap (B) A(s, a_c) − A(s, a_r) per pair, from the search
     * @param alpha        weight α of the advantage gap (the authors' runs: 1.0)
     */
    public static Out stepApo(Tensor policyChosen, Tensor policyRejected, Tensor refChosen, Tensor refRejected,
                              Tensor advantageGap, double beta, double alpha, double eps) {
        Tensor a = policyChosen.sub(refChosen), r = policyRejected.sub(refRejected);
        Tensor z = a.sub(r).mul(Torch.s(beta)).sub(advantageGap.mul(Torch.s(alpha)));
        Tensor losses = logsig(z).mul(Torch.s(-(1 - eps))).sub(logsig(z.neg()).mul(Torch.s(eps)));
        return new Out(losses, a.detach().mul(Torch.s(beta)), r.detach().mul(Torch.s(beta)));
    }

    /** SimPO (Meng et al. 2024), reference-free: −log σ(β(π̄_c − π̄_r) − γ) on length-normalized log-probs. */
    public static Tensor simpo(Tensor meanChosen, Tensor meanRejected, double beta, double gamma) {
        return logsig(meanChosen.sub(meanRejected).mul(Torch.s(beta)).sub(Torch.s(gamma))).neg();
    }

    /**
     * CPO (Xu et al. 2024): −log σ(β(π_c − π_r)) + NLL(chosen), π summed log-probs. As TRL's CPOTrainer, the NLL is one
     * cross-entropy over every chosen completion token of the batch (pass it as a scalar), so long completions weigh more.
     */
    public static Tensor cpo(Tensor chosen, Tensor rejected, Tensor nllChosen, double beta) {
        return logsig(chosen.sub(rejected).mul(Torch.s(beta))).neg().add(nllChosen);
    }

    /**
     * ORPO (Hong et al. 2024): NLL(chosen) − λ·log σ(log odds(y_c) − log odds(y_r)), with
     * log odds(y) = π̄ − log(1 − exp(π̄)) on mean token log-probs π̄. As TRL's ORPOTrainer, the NLL is one cross-entropy
     * over every token of the chosen sequences, prompt included (pass it as a scalar). Returns (loss, log-odds ratio).
     */
    public static Tensor[] orpo(Tensor meanChosen, Tensor meanRejected, Tensor nllChosen, double lambda) {
        Tensor oddsC = meanChosen.sub(log1mexp(meanChosen));
        Tensor oddsR = meanRejected.sub(log1mexp(meanRejected));
        Tensor ratio = oddsC.sub(oddsR);
        return new Tensor[]{nllChosen.sub(logsig(ratio).mul(Torch.s(lambda))), ratio.detach()};
    }

    /**
     * log(1 − exp(x)) for x &lt; 0, accurate at both ends (Mächler 2012): log(−expm1(x)) for x &gt; −ln 2, log1p(−exp(x))
     * below. The naive log1p(−exp(x)) is +∞ in float32 at x = −1e−8 (exp rounds to 1); this is −18.42 there. Each
     * branch sees only inputs where it is finite, so neither leaks a NaN gradient through the other.
     */
    static Tensor log1mexp(Tensor x) {
        double ln2 = Math.log(2);
        x = x.clamp_max(Torch.s(-1e-30));            // a mean log-prob of exactly 0 (certainty) would give −∞ and a NaN gradient
        Tensor near = x.clamp_min(Torch.s(-ln2)), far = x.clamp_max(Torch.s(-ln2));
        return torch.where(x.gt(Torch.s(-ln2)), near.expm1().neg().log(), far.exp().neg().log1p());
    }
}
