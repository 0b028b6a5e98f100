package dev.align4j.model;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Sequence scoring, the primitive under every trainer: per-token log-probabilities of the completion
 * tokens, their per-sequence sums and means, and per-token entropy. Gradients flow when autograd is on
 * (the caller decides with a NoGradGuard). The logits at position t score token t + 1.
 *
 * <p>Shapes: B batch, T tokens, V vocab. Token-level outputs have T − 1 columns: column j scores token j + 1.
 */
public final class Scoring {
    private Scoring() {}

    /**
     * @param tokenLogps (B, T−1) log π(x_{j+1} | x_{≤j}), zero where {@code mask} is 0
     * @param mask       (B, T−1) float, 1 at completion tokens
     * @param sum        (B) Σ_j tokenLogps
     * @param mean       (B) sum / number of completion tokens
     * @param entropy    (B, T−1) H(π(·| x_{≤j})) masked, or null when not asked for
     * @param logits     (B, T, V) fp32, or null when not kept
     * @param allLogps   (B, T−1) log-probs of every real token after the first, prompt included (ORPO's NLL)
     * @param allMask    (B, T−1) float, 1 at those tokens
     */
    public record Scores(Tensor tokenLogps, Tensor mask, Tensor sum, Tensor mean, Tensor entropy, Tensor logits, Tensor allLogps, Tensor allMask) {}

    public static Scores score(LlamaModel model, SeqBatch batch, boolean entropy) {
        return score(model, batch, entropy, false);
    }

    public static Scores score(LlamaModel model, SeqBatch batch, boolean entropy, boolean keepLogits) {
        PointerScope caller = PointerScope.getInnerScope();
        if (keepLogits || caller == null) return fromLogits(model.logits(batch.ids(), null), batch, entropy, keepLogits);   // right padding: causal is exact
        // The (B, T, V) logits and their temporaries end with this scope (autograd keeps what backward needs); only the
        // per-token results reach the caller's.
        try (PointerScope scope = new PointerScope()) {
            Scores s = fromLogits(model.logits(batch.ids(), null), batch, entropy, false);
            for (Tensor t : new Tensor[]{s.tokenLogps(), s.mask(), s.sum(), s.mean(), s.entropy(), s.allLogps(), s.allMask()})
                if (t != null) caller.attach(t);
            return s;
        }
    }

    /** (B, T−1) float, 1 at completion tokens, aligned with {@link Scores#tokenLogps}. */
    public static Tensor mask(SeqBatch batch) {
        return batch.completion().narrow(1, 1, batch.length() - 1).to(ScalarType.Float);
    }

    /** {@link #score} from logits (B, T, V) already computed, e.g. from a trunk that also feeds a value head. */
    public static Scores fromLogits(Tensor logits, SeqBatch batch, boolean entropy, boolean keepLogits) {
        long t = logits.size(1);
        Tensor shifted = logits.narrow(1, 0, t - 1);                             // (B, T−1, V) predicts tokens 1..T−1
        Tensor targets = batch.ids().narrow(1, 1, t - 1);                        // (B, T−1)
        Tensor mask = mask(batch);
        Tensor lse = shifted.logsumexp(new long[]{-1}, false);                   // (B, T−1)
        Tensor raw = shifted.gather(-1, targets.unsqueeze(-1)).squeeze(-1).sub(lse);      // (B, T−1)
        Tensor tok = raw.mul(mask);
        Tensor allMask = batch.attention().narrow(1, 1, t - 1).to(ScalarType.Float);
        Tensor sum = tok.sum(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
        Tensor count = mask.sum(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).clamp_min(Torch.s(1.0));
        Tensor ent = null;
        if (entropy) {
            // H = logsumexp(l) − Σ softmax(l)·l
            Tensor p = torch.softmax(shifted, -1);
            ent = lse.sub(p.mul(shifted).sum(new long[]{-1}, false, new org.bytedeco.pytorch.ScalarTypeOptional())).mul(mask);
        }
        return new Scores(tok, mask, sum, sum.div(count), ent, keepLogits ? logits : null, raw.mul(allMask), allMask);
    }

    /**
     * A critic's per-token values (B, T−1), aligned with {@link Scores#tokenLogps}: entry j is the value of the
     * state x_{≤j}, before completion token x_{j+1} is generated; zero where the mask is 0.
     */
    public static Tensor tokenValues(LlamaModel critic, SeqBatch batch) {
        Tensor h = critic.hidden(batch.ids(), null, null);                      // (B, T, H)
        return tokenValues(h, critic::scoreHead, batch);
    }

    /**
     * Per-token values as above from hidden states (B, T, H) and a head mapping (B, T−1, H) → (B, T−1, 1):
     * a separate critic's score head, or a value head on the policy's own trunk (PPO with a shared trunk).
     */
    public static Tensor tokenValues(Tensor hidden, java.util.function.UnaryOperator<Tensor> head, SeqBatch batch) {
        Tensor v = tokenHeadOutputs(hidden, head).select(2, 0);                // (B, T−1)
        return v.to(ScalarType.Float).mul(mask(batch));
    }

    /**
     * A value head's raw outputs (B, T−1, L) in fp32, aligned like {@link #tokenValues}: entry j reads the state x_{≤j}. A
     * categorical head (L bins) turns them into a value elsewhere ({@code loss.ValueLoss.Head#value}); not masked.
     */
    public static Tensor tokenHeadOutputs(Tensor hidden, java.util.function.UnaryOperator<Tensor> head) {
        long t = hidden.size(1);
        return head.apply(hidden.narrow(1, 0, t - 1)).to(ScalarType.Float);   // (B, T−1, L)
    }

    /**
     * A process reward model's "this step is correct" logit at every token (B, T): z = l₁ − l₀ for a two-label head (class 1 =
     * correct, TRL's PRMTrainer convention; softmax(l)₁ = σ(z)), the single logit for a one-label head. P(correct) = σ(z).
     * Right padding keeps the real tokens exact; values at padding are meaningless.
     */
    public static Tensor stepLogits(LlamaModel prm, Tensor ids) {
        if (!prm.config.tokenClassification()) throw new IllegalArgumentException(prm.config.architecture() + " is not a token classifier");
        Tensor l = prm.scoreHead(prm.hidden(ids, null, null));                 // (B, T, L)
        return l.size(2) == 1 ? l.select(2, 0) : l.select(2, 1).sub(l.select(2, 0));
    }

    /**
     * Score-head output at each row's last real token (B, L): how a reward model reads a sequence.
     */
    public static Tensor lastTokenScores(LlamaModel model, SeqBatch batch) {
        Tensor h = model.hidden(batch.ids(), null, null);                       // (B, T, H)
        Tensor last = batch.attention().to(ScalarType.Long).sum(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional())
                .sub(Torch.s(1L));                                              // (B)
        Tensor idx = last.view(-1, 1, 1).expand(h.size(0), 1, h.size(2));
        Tensor hl = h.gather(1, idx);                                           // (B, 1, H)
        return model.scoreHead(hl).squeeze(1);                                  // (B, L)
    }
}
