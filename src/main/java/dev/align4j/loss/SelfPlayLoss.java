package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;

/**
 * The losses of the self-play / Nash trainers (issue 21) as pure functions over per-sequence log-probabilities (summed over
 * completion tokens). No model, config or logging here; the trainers in {@code train.online} supply the tensors.
 *
 * <p>Notation: π the policy being trained, π_t the previous iterate (the iteration's frozen reference), π_ref the starting
 * policy, P̂(y ≻ π_t) a sample's estimated win rate against π_t, η the mirror-descent step size, τ the KL-regularisation to
 * π_ref. Shapes: N sequences (SPPO) or P pairs (INPO), all vectors.
 */
public final class SelfPlayLoss {
    private SelfPlayLoss() {}

    /** Per-row losses and the detached regression quantities (for metrics). */
    public record Out(Tensor losses, Tensor prediction, Tensor target) {}

    /**
     * SPPO (Wu et al. 2024, "Self-Play Preference Optimization for Language Model Alignment", arXiv 2405.00675,
     * the update of Algorithm 1): per sample y of prompt x,
     * <pre>  ℓ(y) = ( log π(y|x)/π_t(y|x) − η (P̂(y ≻ π_t | x) − ½) )²</pre>
     * the regression of the log-ratio onto the centred win rate; η/2 replaces the log-partition log Z_{π_t}(x) (the paper's
     * approximation, from E_{y∼π_t} P(y ≻ π_t) = ½). Its minimiser is π_{t+1} ∝ π_t exp(η P(y ≻ π_t)), multiplicative weights.
     *
     * @param logp    log π(y|x), (N), with gradients
     * @param iterate log π_t(y|x), (N)
     * @param winRate P̂(y ≻ π_t | x), (N)
     */
    public static Out sppo(Tensor logp, Tensor iterate, Tensor winRate, double eta) {
        Tensor ratio = logp.sub(iterate);                                                   // (N)
        Tensor target = winRate.to(ratio.scalar_type()).sub(Torch.s(0.5)).mul(Torch.s(eta)); // (N)
        Tensor d = ratio.sub(target);
        return new Out(d.mul(d), ratio.detach(), target);
    }

    /**
     * INPO (Zhang et al. 2024, "Iterative Nash Policy Optimization: Aligning LLMs with General Preferences via No-Regret
     * Learning", arXiv 2407.00617, the loss L_t of Algorithm 1): on a pair y_w ≻ y_l labelled by the preference oracle,
     * <pre>  h = log π(y_w)/π(y_l) − ητ · log π_ref(y_w)/π_ref(y_l) − (1 − ητ) · log π_t(y_w)/π_t(y_l)
     *  ℓ = ( h − η/2 )²</pre>
     * whose minimiser over label draws is the online-mirror-descent step of the KL-regularised game,
     * π_{t+1} ∝ π_ref^{ητ} π_t^{1−ητ} exp(η P(y ≻ π_t)); no win-rate estimate is needed, only labelled pairs.
     *
     * @param w  log π(y_w), (P), with gradients
     * @param l  log π(y_l), (P), with gradients
     * @param tw log π_t(y_w), (P)
     * @param tl log π_t(y_l), (P)
     * @param rw log π_ref(y_w), (P)
     * @param rl log π_ref(y_l), (P)
     */
    public static Out inpo(Tensor w, Tensor l, Tensor tw, Tensor tl, Tensor rw, Tensor rl, double eta, double tau) {
        Tensor h = inpoMargin(w, l, tw, tl, rw, rl, eta, tau);                             // (P)
        Tensor d = h.sub(Torch.s(eta / 2));
        return new Out(d.mul(d), h.detach(), Torch.doubles(new double[]{eta / 2}, 1));
    }

    /**
     * INPO with the label averaged out (Rao–Blackwellised): on an unordered pair (a, b) whose judge probability is
     * p = P(a ≻ b), the Bernoulli label of {@link #inpo} has expected loss
     * <pre>  E ℓ = p (h_ab − η/2)² + (1 − p)(−h_ab − η/2)² = (h_ab − η (p − ½))² + η²/4 − η²(p − ½)²</pre>
     * so this loss, ℓ = (h_ab − η (p − ½))², has the same expected gradient with no label noise: a tie (p = ½) regresses
     * h_ab onto 0 instead of onto ±η/2 by a coin flip. h_ab is {@link #inpo}'s h with a in the winner's place.
     *
     * @param a    log π(a), (P), with gradients
     * @param b    log π(b), (P), with gradients
     * @param prob P(a ≻ b), (P)
     */
    public static Out inpoExpected(Tensor a, Tensor b, Tensor ta, Tensor tb, Tensor ra, Tensor rb, Tensor prob, double eta, double tau) {
        Tensor h = inpoMargin(a, b, ta, tb, ra, rb, eta, tau);                             // (P)
        Tensor target = prob.to(h.scalar_type()).sub(Torch.s(0.5)).mul(Torch.s(eta));     // (P)
        Tensor d = h.sub(target);
        return new Out(d.mul(d), h.detach(), target);
    }

    /** h = log π(w)/π(l) − ητ·log π_ref(w)/π_ref(l) − (1 − ητ)·log π_t(w)/π_t(l). */
    private static Tensor inpoMargin(Tensor w, Tensor l, Tensor tw, Tensor tl, Tensor rw, Tensor rl, double eta, double tau) {
        double a = eta * tau;
        return w.sub(l).sub(rw.sub(rl).mul(Torch.s(a))).sub(tw.sub(tl).mul(Torch.s(1 - a)));
    }

    /**
     * Nash-MD's policy gradient (Munos et al. 2023, "Nash Learning from Human Feedback", arXiv 2312.00886, §7 Nash-MD-PG;
     * as TRL's {@code NashMDTrainer}): y ∼ π, y' ∼ the geometric mixture π^β ∝ π^{1−β} π_ref^β, and
     * <pre>  ℓ(y) = −(P(y ≻ y') − ½) · log π(y|x) + τ · sg(log π(y|x)/π_ref(y|x)) · log π(y|x)</pre>
     * a REINFORCE estimate of −∇[P(π ≻ π^β) − τ KL(π ‖ π_ref)] with ½ as the control variate (sg: stop-gradient; the
     * KL's score-function gradient is E[log(π/π_ref) ∇ log π]).
     *
     * @param logp  log π(y|x), (N), with gradients
     * @param ref   log π_ref(y|x), (N)
     * @param prob  P(y ≻ y'), (N)
     */
    public static Out nashMd(Tensor logp, Tensor ref, Tensor prob, double tau) {
        Tensor score = prob.to(logp.scalar_type()).sub(Torch.s(0.5));                     // (N)
        Tensor kl = logp.detach().sub(ref);                                                // (N)
        Tensor losses = kl.mul(Torch.s(tau)).sub(score).mul(logp);
        return new Out(losses, kl, score);
    }
}
