package dev.align4j.generate;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.KVCache;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Batched sampling with a preallocated KV cache. Prompts of different lengths are left-padded so they
 * end together; the prompt is run once (prefill), then one token per step for the rows still going.
 * Rows that finish (EOS, a stop string) are dropped from the batch and the cache, so the remaining
 * rows run at their own batch size. Sampling (temperature, top-k, top-p, the draw) stays on the
 * native side; only the B chosen ids cross into Java each step. Never takes gradients.
 *
 * <p>Shapes: B rows still active, P prompt length (max), V vocab.
 */
public final class Sampler {
    private Sampler() {}

    /** Generation that never stops early (no EOS, no stop strings, no decoding): for throughput benchmarks. */
    public static List<Completion> generateIgnoringEos(LlamaModel model, List<int[]> prompts, SamplingConfig cfg) {
        return generate(model, null, prompts, cfg);
    }

    /** {@code tok} may be null only through {@link #generateIgnoringEos}. */
    public static List<Completion> generate(LlamaModel model, Tokenizer tok, List<int[]> prompts, SamplingConfig cfg) {
        return generate(model, null, 0, tok, prompts, cfg, null);
    }

    /**
     * One rank's contiguous slice of a batch that several processes sample together ({@code ./align4j launch}). Each
     * token step, every rank learns how many rows each rank still samples; every rank draws the uniforms of all active
     * rows from the same seeded generator and uses its own slice of them. So each row gets exactly the random numbers
     * it would get if one process sampled the whole batch: sharded rollouts equal the single-process ones.
     */
    public interface Shard {
        /** Rows each rank still samples (rank order), given this rank's count; a collective call on every rank. */
        int[] activeCounts(int local);

        /** This rank's index in {@link #activeCounts}. */
        int rank();
    }

    /** {@link #generate(LlamaModel, Tokenizer, List, SamplingConfig)} of this rank's rows of a batch sampled across ranks. */
    public static List<Completion> generate(LlamaModel model, Tokenizer tok, List<int[]> prompts, SamplingConfig cfg, Shard shard) {
        return generate(model, null, 0, tok, prompts, cfg, shard);
    }

    /**
     * Sampling from the geometric mixture of two models of one vocabulary, token by token:
     * log π_mix(·|s) = (1 − β) log π(·|s) + β log π_ref(·|s) + const (Nash-MD's π^β ∝ π^{1−β} π_ref^β, Munos et al. 2023, as
     * TRL's {@code GeometricMixtureWrapper}). Each model keeps its own KV cache; the recorded log-probs are the mixture's.
     */
    public static List<Completion> generateMixture(LlamaModel model, LlamaModel ref, double beta, Tokenizer tok, List<int[]> prompts, SamplingConfig cfg) {
        if (!(beta >= 0 && beta <= 1)) throw new IllegalArgumentException("mixture coefficient must be in [0, 1]: " + beta);
        if (model.config.vocabSize() != ref.config.vocabSize()) throw new UserError("a geometric mixture needs one vocabulary: " + model.config.vocabSize() + " vs " + ref.config.vocabSize());
        return generateMixture(model, ref, beta, tok, prompts, cfg, null);
    }

    /** The same, this rank's rows of a sampling sharded over ranks ({@link Shard}; null: all rows in one process). */
    public static List<Completion> generateMixture(LlamaModel model, LlamaModel ref, double beta, Tokenizer tok, List<int[]> prompts, SamplingConfig cfg, Shard shard) {
        if (!(beta >= 0 && beta <= 1)) throw new IllegalArgumentException("mixture coefficient must be in [0, 1]: " + beta);
        if (model.config.vocabSize() != ref.config.vocabSize()) throw new UserError("a geometric mixture needs one vocabulary: " + model.config.vocabSize() + " vs " + ref.config.vocabSize());
        return generate(model, ref, beta, tok, prompts, cfg, shard);
    }

    private static List<Completion> generate(LlamaModel model, LlamaModel ref, double beta, Tokenizer tok, List<int[]> prompts, SamplingConfig cfg, Shard shard) {
        Torch.init();
        int padId = tok == null ? 0 : tok.padId;
        int n = prompts.size();
        if (n == 0) return List.of();                                // a shard is never empty (the batch splits evenly)
        int maxPrompt = 0;
        for (int[] p : prompts) {
            if (p.length == 0) throw new UserError("a prompt has no tokens (add a BOS token or some text)");
            maxPrompt = Math.max(maxPrompt, p.length);
        }
        int capacity = maxPrompt + cfg.maxNewTokens();
        if (capacity > model.config.maxPositionEmbeddings())
            throw new UserError("prompt (" + maxPrompt + " tokens) + max-new-tokens (" + cfg.maxNewTokens() + ") exceeds the model's max_position_embeddings "
                    + model.config.maxPositionEmbeddings());
        List<List<Integer>> out = new ArrayList<>(n);
        List<List<Float>> lps = new ArrayList<>(n);
        String[] reason = new String[n], text = new String[n];
        for (int i = 0; i < n; i++) { out.add(new ArrayList<>()); lps.add(new ArrayList<>()); }
        int[] active = new int[n];                                     // batch row → original row
        for (int i = 0; i < n; i++) active[i] = i;

        long[] ids = new long[n * maxPrompt];
        boolean[] km = new boolean[n * capacity];
        for (int i = 0; i < n; i++) {
            int[] p = prompts.get(i);
            int off = maxPrompt - p.length;
            Arrays.fill(ids, i * maxPrompt, i * maxPrompt + off, padId);
            for (int j = 0; j < p.length; j++) { ids[i * maxPrompt + off + j] = p[j]; km[i * capacity + off + j] = true; }
        }
        boolean anyPad = false;
        for (int[] p : prompts) anyPad |= p.length != maxPrompt;

        Generator gen = torch.make_generator_cpu(cfg.seed());
        try (NoGradGuard ng = new NoGradGuard();
             KVCache cache = new KVCache(model.config, n, capacity, model.dtype);
             KVCache refCache = ref == null ? null : new KVCache(ref.config, n, capacity, ref.dtype)) {
            Tensor keyMask = Torch.bools(km, n, capacity);             // (B, capacity), true at real tokens
            Tensor input = Torch.longs(ids, n, maxPrompt);             // (B, P) then (B, 1)
            for (int step = 0; step < cfg.maxNewTokens(); step++) {
                int[] counts = shard == null ? null : shard.activeCounts(active.length);   // every rank, every step, until all are done
                if (counts == null ? active.length == 0 : Arrays.stream(counts).sum() == 0) break;
                if (active.length == 0) continue;                       // this rank's rows are done; the others still sample
                long[] next;
                float[] nextLp;
                try (PointerScope scope = new PointerScope()) {
                    int len = cache.length() + (int) input.size(1);
                    Tensor mask = anyPad ? keyMask.narrow(1, 0, len) : null;
                    Tensor h = model.hidden(input, mask, cache);        // (B, t, H)
                    Tensor logits = model.nextTokenLogits(h.select(1, h.size(1) - 1)); // (B, V)
                    if (ref != null) {                                  // (1 − β) log π + β log π_ref
                        Tensor hr = ref.hidden(input, mask, refCache);
                        Tensor lr = ref.nextTokenLogits(hr.select(1, hr.size(1) - 1));
                        logits = torch.log_softmax(logits.to(ScalarType.Float), -1).mul(Torch.s(1 - beta))
                                .add(torch.log_softmax(lr.to(ScalarType.Float), -1).mul(Torch.s(beta)));
                    }
                    Pick pick = pick(logits, cfg, gen, counts, shard == null ? 0 : shard.rank());   // (B) tokens and their log-probs
                    next = Torch.toLongs(pick.tokens());
                    nextLp = Torch.toFloats(pick.logps());
                }
                // record tokens; decide which rows finish
                boolean[] done = new boolean[active.length];
                int still = 0;
                for (int b = 0; b < active.length; b++) {
                    int row = active[b];
                    int token = (int) next[b];
                    out.get(row).add(token);
                    lps.get(row).add(nextLp[b]);
                    if (tok != null && tok.isEos(token)) { reason[row] = "eos"; done[b] = true; }
                    else if (tok != null && !cfg.stopStrings().isEmpty()) {
                        String s = tok.decode(toArray(out.get(row)), true);
                        for (String stop : cfg.stopStrings()) {
                            int at = s.indexOf(stop);
                            if (at >= 0) { reason[row] = "stop"; text[row] = s.substring(0, at); done[b] = true; break; }
                        }
                    }
                    if (!done[b]) still++;
                }
                if (step == cfg.maxNewTokens() - 1) break;
                if (still == 0) { active = new int[0]; continue; }
                // next input: the chosen tokens of the rows still going; compact batch and cache if any finished
                long[] keepIdx = new long[still];
                long[] nextIds = new long[still];
                int[] newActive = new int[still];
                for (int b = 0, k = 0; b < active.length; b++)
                    if (!done[b]) { keepIdx[k] = b; nextIds[k] = next[b]; newActive[k] = active[b]; k++; }
                if (still < active.length) {
                    try (Tensor rows = Torch.longs(keepIdx, still)) {
                        cache.keepRows(rows);
                        if (refCache != null) refCache.keepRows(rows);
                        Tensor km2 = keyMask.index_select(0, rows);
                        keyMask.close();
                        keyMask = km2;
                    }
                }
                active = newActive;
                if (anyPad) // the mask is only read when some prompt is padded
                    try (Tensor col = keyMask.narrow(1, cache.length(), 1)) {
                        col.fill_(Torch.s(1L));
                    }
                input.close();
                input = Torch.longs(nextIds, still, 1);
            }
            input.close();
            keyMask.close();
        }
        List<Completion> result = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int[] t = toArray(out.get(i));
            float[] l = new float[t.length];
            for (int j = 0; j < l.length; j++) l[j] = lps.get(i).get(j);
            String r = reason[i] == null ? "length" : reason[i];
            String s = text[i] != null ? text[i] : tok == null ? "" : tok.decode(t, true);
            result.add(new Completion(t, s, l, r));
        }
        return result;
    }

    /** Chosen token ids (B) and their log-probabilities under the unfiltered, untempered policy log-softmax(logits). */
    record Pick(Tensor tokens, Tensor logps) {}

    /**
     * Argmax at temperature 0, else top-k / top-p on logits / T, then one inverse-CDF draw per row:
     * with m = max(l) and c = cumsum(exp(l − m)), draw u ~ U[0, c_V) and take the first index whose c
     * exceeds u. That is exact sampling from softmax(l) with B random numbers; a token of probability 0
     * can never be chosen (its c equals its predecessor's). The same pass gives the normaliser
     * log Z = m + log c_V, so with T = 1 and no filter the log-prob costs one gather. libtorch's
     * {@code multinomial} (plus a separate log-softmax) cost 65 ms per step at batch 64 × 32k vocab. The cumulative
     * sum runs in two levels ({@link #draw}), so the passes over the whole vocabulary are a max, an exp and a sum.
     */
    static Pick pick(Tensor logits, SamplingConfig cfg, Generator gen) { return pick(logits, cfg, gen, null, 0); }

    /** With {@code counts} (a {@link Shard}'s active rows per rank): the uniforms of every rank's rows are drawn, this rank's slice used. */
    static Pick pick(Tensor logits, SamplingConfig cfg, Generator gen, int[] counts, int rank) {
        if (cfg.temperature() == 0) {
            Tensor choice = logits.argmax(new LongOptional(-1), false);
            return new Pick(choice, logProb(logits, choice, null));
        }
        Tensor l = cfg.temperature() == 1 ? logits : logits.div(Torch.s(cfg.temperature()));
        long v = l.size(-1);
        boolean filtered = false;
        if (cfg.topK() > 0 && cfg.topK() < v) {
            Tensor kth = l.topk(cfg.topK()).get0().narrow(-1, cfg.topK() - 1, 1);         // (B, 1)
            l = l.masked_fill(l.lt(kth), Torch.s(Double.NEGATIVE_INFINITY));
            filtered = true;
        }
        if (cfg.topP() < 1) {
            T_TensorTensor_T sorted = torch.sort(l, -1, true);
            Tensor sl = sorted.get0(), si = sorted.get1();                                    // (B, V) descending
            Tensor probs = torch.softmax(sl, -1);
            Tensor before = torch.cumsum(probs, -1).sub(probs);                               // mass strictly before each token
            sl = sl.masked_fill(before.ge(Torch.s(cfg.topP())), Torch.s(Double.NEGATIVE_INFINITY)); // the top token always stays
            l = torch.full(Torch.shape(l), Torch.s(Double.NEGATIVE_INFINITY), Torch.opts(ScalarType.Float)).scatter(-1, si, sl);
            filtered = true;
        }
        Tensor max = l.amax(new long[]{-1}, true);                                            // (B, 1)
        Tensor e = l.sub(max).exp_();                                                         // (B, V) unnormalised probabilities
        Tensor u;
        // uniforms from the CPU generator (the same numbers on every device), then to the logits' device
        if (counts == null) u = Torch.toDevice(torch.rand(new long[]{l.size(0), 1}, new GeneratorOptional(gen), Torch.cpuOpts(ScalarType.Float)));
        else {                                                                                // (ΣB, 1), this rank's rows
            int before = 0;
            for (int r = 0; r < rank; r++) before += counts[r];
            u = Torch.toDevice(torch.rand(new long[]{Arrays.stream(counts).sum(), 1}, new GeneratorOptional(gen), Torch.cpuOpts(ScalarType.Float)).narrow(0, before, l.size(0)));
        }
        Draw d = draw(e, u);
        Tensor logZ = cfg.temperature() == 1 && !filtered ? max.add(d.total().log()).squeeze(-1) : null;
        return new Pick(d.choice(), logProb(logits, d.choice(), logZ));
    }

    /** Tokens per block of the two-level draw. */
    static final int BLOCK = 128;

    /** The drawn token per row (B) and each row's total mass (B, 1). */
    record Draw(Tensor choice, Tensor total) {}

    /**
     * Inverse-CDF draw from unnormalised probabilities {@code e} (B, V) with one uniform u ∈ [0, 1) per row (B, 1),
     * in two levels so that no pass runs a cumulative sum over the whole vocabulary (a sequential scan: the
     * slowest of the passes at batch 64 × 32k): block sums s_k over blocks of {@link #BLOCK} tokens, their running
     * sum S_k, the first block with S_k > u·S_last, then the same within that one block's 128 values. Exactly the
     * distribution e / Σe: a block or token of mass 0 is never chosen, because the search takes the first running
     * sum that strictly exceeds the target, and the target inside the block is clamped into [0, its own total).
     */
    static Draw draw(Tensor e, Tensor u) {
        long b = e.size(0), v = e.size(1);
        long nb = (v + BLOCK - 1) / BLOCK;
        Tensor blocks = v % BLOCK == 0 ? e.view(b, nb, BLOCK) : torch.constant_pad_nd(e, new long[]{0, nb * BLOCK - v}).view(b, nb, BLOCK);
        Tensor mass = blocks.sum(new long[]{-1}, false, new ScalarTypeOptional());            // (B, nb)
        Tensor running = torch.cumsum(mass, -1);                                              // (B, nb)
        Tensor total = running.narrow(-1, nb - 1, 1);                                         // (B, 1)
        Tensor target = u.mul(total);
        Tensor k = torch.searchsorted(running, target, false, true, new StringViewOptional(), new TensorOptional())
                .clamp_max(Torch.s(nb - 1));                                                  // (B, 1) block index
        Tensor inside = target.sub(running.gather(-1, k).sub(mass.gather(-1, k)));            // target minus the mass before block k
        Tensor row = blocks.gather(1, k.unsqueeze(-1).expand(new long[]{b, 1, BLOCK})).squeeze(1); // (B, BLOCK)
        Tensor cdf = torch.cumsum(row, -1);                                                   // (B, BLOCK)
        Tensor last = cdf.narrow(-1, BLOCK - 1, 1);
        // rounding can put the target at or past the block's own total (its cumsum adds in another order than the block sum)
        inside = torch.minimum(inside.clamp_min(Torch.s(0.0)), last.mul(Torch.s(1 - 1e-6)));
        Tensor j = torch.searchsorted(cdf, inside, false, true, new StringViewOptional(), new TensorOptional())
                .clamp_max(Torch.s(BLOCK - 1));
        Tensor choice = k.mul(Torch.s((long) BLOCK)).add(j).squeeze(-1).clamp_max(Torch.s(v - 1));
        return new Draw(choice, total);
    }

    /** log-softmax(logits) at {@code choice}: logits[choice] − log Z, with log Z computed when not given. */
    private static Tensor logProb(Tensor logits, Tensor choice, Tensor logZ) {
        Tensor z = logZ != null ? logZ : torch.logsumexp(logits, new long[]{-1}, false);
        return logits.gather(-1, choice.unsqueeze(-1)).squeeze(-1).sub(z);
    }

    private static int[] toArray(List<Integer> l) {
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }
}
