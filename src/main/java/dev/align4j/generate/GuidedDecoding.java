package dev.align4j.generate;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.*;

/**
 * Decoding steered by more than the policy's next-token distribution:
 * <ul>
 * <li>{@link #vas}: Value Augmented Sampling (Han et al. 2024): at each step the policy's top-k next tokens a, each
 * extended prefix scored by a value model, and the next token drawn from π(a|s) ∝ π_base(a|s) · exp(β · V(s, a))
 * renormalised over those k (β = 0: the policy's own top-k sampling; temperature 0: the arg max);</li>
 * <li>{@link #stepBeam}: step-level beam search (OREO's value-guided search, the x1 blueprint's beam over steps): W partial
 * solutions, each expanded by M sampled next steps (a step ends at a separator or EOS), the top W kept by a prefix
 * scorer (a value model, or a process reward model);</li>
 * <li>{@link #likelihoodBeam}: token-level beam search on the policy's own log-likelihood Σ log π (as "From r to Q*",
 * Rafailov et al. 2024, read beam search on a DPO policy as search on its implicit reward); width 1 is greedy;</li>
 * <li>{@link #bestOfN}: N plain samples, the one the scorer ranks highest (or the most likely): the equal-compute baseline.</li>
 * </ul>
 * Each returns its completions and what they cost ({@link Result}: policy forwards and scorer rows). Prefixes are
 * re-read from the start at each step (no KV cache): simple and exact, fine for short completions. Never takes gradients.
 *
 * <p>Shapes: B rows, V vocab, k candidates per row.
 */
public final class GuidedDecoding {
    private GuidedDecoding() {}

    /** Next-token log-probabilities (B, V) after each token sequence. */
    @FunctionalInterface
    public interface NextToken {
        Tensor logps(List<int[]> seqs);
    }

    /** Scores partial solutions given as token ids: one number per (prompt, partial) row, higher is better. */
    @FunctionalInterface
    public interface Scorer {
        double[] score(List<int[]> prompts, List<int[]> partials);
    }

    /**
     * The completions (one per prompt, in order) and their cost: {@code policyForwards} counts next-token predictions of one
     * row (what one row's step of KV-cache decoding costs; greedy decoding of L tokens is L), {@code scorerRows} the
     * prefixes the scorer read.
     */
    public record Result(List<Completion> completions, long policyForwards, long scorerRows) {}

    /** Rows per forward. */
    static final int CHUNK = 128;

    /** A causal LM as {@link NextToken}: right-padded rows, the log-softmax of the logits at each row's last token. */
    public static NextToken of(LlamaModel model, int padId) {
        return seqs -> {
            List<Tensor> parts = new ArrayList<>();
            for (int from = 0; from < seqs.size(); from += CHUNK) {
                List<int[]> chunk = seqs.subList(from, Math.min(seqs.size(), from + CHUNK));
                int t = 0;
                for (int[] s : chunk) t = Math.max(t, s.length);
                long[] ids = new long[chunk.size() * t], last = new long[chunk.size()];
                for (int b = 0; b < chunk.size(); b++) {
                    int[] s = chunk.get(b);
                    Arrays.fill(ids, b * t, (b + 1) * t, padId);
                    for (int j = 0; j < s.length; j++) ids[b * t + j] = s[j];
                    last[b] = s.length - 1;
                }
                Tensor h = model.hidden(Torch.longs(ids, chunk.size(), t), null, null);                  // (B, T, H), causal: right padding is exact
                Tensor at = h.gather(1, Torch.longs(last, chunk.size(), 1, 1).expand(chunk.size(), 1, h.size(2))).squeeze(1);   // (B, H)
                parts.add(torch.log_softmax(model.nextTokenLogits(at), -1));                              // (B, V)
            }
            return parts.size() == 1 ? parts.get(0) : torch.cat(new TensorVector(parts.toArray(new Tensor[0])), 0);
        };
    }

    /** log π_VAS(a|s) over the k candidates (B, k): log-softmax(log π_base(a|s) + β · V(s, a)), from the candidates' log π_base and values. */
    public static Tensor vasLogProbs(Tensor policyLogps, Tensor values, double beta) {
        return torch.log_softmax(policyLogps.to(ScalarType.Double).add(values.to(ScalarType.Double).mul(Torch.s(beta))), -1);
    }

    /**
     * Value Augmented Sampling: each step, the top {@code topK} next tokens of every unfinished row, V of each extended
     * prefix, and the next token drawn from softmax((log π_base + β·V) / temperature) over them (temperature 0: its arg max).
     * Rows end at EOS or after {@code maxNewTokens} tokens.
     */
    public static Result vas(NextToken policy, Tokenizer tok, List<int[]> prompts, Scorer value, int topK, double beta, double temperature,
                             int maxNewTokens, long seed) {
        UserError.check(topK >= 1, "--guide-top-k must be >= 1: %s", topK);
        UserError.check(temperature >= 0, "temperature must be >= 0: %s", temperature);
        int n = prompts.size();
        List<List<Integer>> out = new ArrayList<>();
        List<List<Float>> lps = new ArrayList<>();
        String[] reason = new String[n];
        for (int i = 0; i < n; i++) { out.add(new ArrayList<>()); lps.add(new ArrayList<>()); }
        Random rng = new Random(seed);
        long forwards = 0, scored = 0;
        List<Integer> active = new ArrayList<>();
        for (int i = 0; i < n; i++) active.add(i);
        try (NoGradGuard g = new NoGradGuard()) {
            for (int step = 0; step < maxNewTokens && !active.isEmpty(); step++) {
                List<int[]> seqs = new ArrayList<>();
                for (int i : active) seqs.add(concat(prompts.get(i), out.get(i)));
                int b = active.size(), k;
                long[] cand;
                float[] candLp;
                try (PointerScope scope = new PointerScope()) {
                    Tensor lp = policy.logps(seqs);                                                  // (B, V)
                    k = (int) Math.min(topK, lp.size(1));
                    T_TensorTensor_T top = lp.topk(k);
                    candLp = Torch.toFloats(top.get0());                                             // (B, k) log π_base, descending
                    cand = Torch.toLongs(top.get1());
                }
                forwards += b;
                List<int[]> ps = new ArrayList<>(b * k), partials = new ArrayList<>(b * k);
                for (int r = 0; r < b; r++)
                    for (int j = 0; j < k; j++) {
                        ps.add(prompts.get(active.get(r)));
                        partials.add(concat(toArray(out.get(active.get(r))), (int) cand[r * k + j]));
                    }
                double[] v = beta == 0 ? new double[b * k] : value.score(ps, partials);
                if (beta != 0) scored += (long) b * k;
                double[] w;
                try (PointerScope scope = new PointerScope()) {
                    Tensor pi = vasLogProbs(Torch.floats(candLp, b, k), Torch.doubles(v, b, k), beta);   // (B, k)
                    w = Torch.toDoubles(temperature == 0 || temperature == 1 ? pi : torch.log_softmax(pi.div(Torch.s(temperature)), -1));
                }
                List<Integer> still = new ArrayList<>();
                for (int r = 0; r < b; r++) {
                    int row = active.get(r), j = temperature == 0 ? argmax(w, r * k, k) : draw(w, r * k, k, rng);
                    int token = (int) cand[r * k + j];
                    out.get(row).add(token);
                    lps.get(row).add(candLp[r * k + j]);
                    if (tok.isEos(token)) reason[row] = "eos";
                    else still.add(row);
                }
                active = still;
            }
        }
        List<Completion> res = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int[] t = toArray(out.get(i));
            float[] l = new float[t.length];
            for (int j = 0; j < l.length; j++) l[j] = lps.get(i).get(j);
            res.add(new Completion(t, tok.decode(t, true), l, reason[i] == null ? "length" : reason[i]));
        }
        return new Result(res, forwards, scored);
    }

    /** One partial solution of a beam: its tokens, their log-probs, its score, and whether it has ended (EOS or budget). */
    record Hyp(int[] tokens, float[] logps, double score, boolean done, String reason) {
        double sumLogp() {
            double s = 0;
            for (float x : logps) s += x;
            return s;
        }
    }

    /**
     * Token-level beam search on Σ log π: per prompt, W hypotheses; each step every unfinished one is extended by its W
     * most likely tokens, and the W best of those and of the finished ones are kept (no length normalisation, so width 1
     * is greedy decoding); it stops when the W kept are all finished. Returns the best.
     */
    public static Result likelihoodBeam(NextToken policy, Tokenizer tok, List<int[]> prompts, int width, int maxNewTokens) {
        UserError.check(width >= 1, "--beam must be >= 1: %s", width);
        int n = prompts.size();
        List<List<Hyp>> beams = new ArrayList<>();
        for (int i = 0; i < n; i++) beams.add(List.of(new Hyp(new int[0], new float[0], 0, false, null)));
        long forwards = 0;
        try (NoGradGuard g = new NoGradGuard()) {
            for (int step = 0; step < maxNewTokens; step++) {
                List<int[]> seqs = new ArrayList<>();
                List<int[]> owner = new ArrayList<>();                                               // (prompt, hypothesis)
                for (int i = 0; i < n; i++)
                    for (int h = 0; h < beams.get(i).size(); h++)
                        if (!beams.get(i).get(h).done()) { seqs.add(concat(prompts.get(i), beams.get(i).get(h).tokens())); owner.add(new int[]{i, h}); }
                if (seqs.isEmpty()) break;
                int k;
                float[] lp;
                long[] ids;
                try (PointerScope scope = new PointerScope()) {
                    Tensor l = policy.logps(seqs);
                    k = (int) Math.min(width, l.size(1));
                    T_TensorTensor_T top = l.topk(k);
                    lp = Torch.toFloats(top.get0());
                    ids = Torch.toLongs(top.get1());
                }
                forwards += seqs.size();
                List<List<Hyp>> pool = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    List<Hyp> p = new ArrayList<>();
                    for (Hyp h : beams.get(i)) if (h.done()) p.add(h);
                    pool.add(p);
                }
                boolean last = step == maxNewTokens - 1;
                for (int r = 0; r < owner.size(); r++) {
                    Hyp h = beams.get(owner.get(r)[0]).get(owner.get(r)[1]);
                    for (int j = 0; j < k; j++) {
                        int token = (int) ids[r * k + j];
                        boolean eos = tok.isEos(token);
                        pool.get(owner.get(r)[0]).add(new Hyp(concat(h.tokens(), token), concat(h.logps(), lp[r * k + j]), h.score() + lp[r * k + j],
                                eos || last, eos ? "eos" : last ? "length" : null));
                    }
                }
                for (int i = 0; i < n; i++) beams.set(i, top(pool.get(i), width));
            }
        }
        List<Completion> res = new ArrayList<>(n);
        for (List<Hyp> b : beams) res.add(completion(tok, b.get(0)));
        return new Result(res, forwards, 0);
    }

    /** The {@code width} highest-scoring hypotheses, best first; ties keep the earlier one (a stable sort). */
    static List<Hyp> top(List<Hyp> pool, int width) {
        List<Hyp> sorted = new ArrayList<>(pool);
        sorted.sort(Comparator.comparingDouble(Hyp::score).reversed());
        return List.copyOf(sorted.subList(0, Math.min(width, sorted.size())));
    }

    /**
     * Step-level beam search guided by a scorer: per prompt, W partial solutions (at first the empty one); each round
     * every unfinished one is extended by M next steps sampled from the policy at {@code temperature} (a step ends after
     * the {@code separator} or at EOS, or at the token budget), identical candidates merged, every candidate scored, and
     * the W best of the candidates and of the finished solutions kept. It stops when the W kept are all finished and
     * returns the best-scored one.
     */
    public static Result stepBeam(LlamaModel policy, Tokenizer tok, List<int[]> prompts, Scorer scorer, int width, int expand, String separator,
                                  double temperature, int maxNewTokens, long seed) {
        UserError.check(width >= 1 && expand >= 1, "--beam and --expand must be >= 1: %s, %s", width, expand);
        UserError.check(separator != null && !separator.isEmpty(), "--step-separator must not be empty");
        int n = prompts.size();
        List<List<Hyp>> beams = new ArrayList<>();
        for (int i = 0; i < n; i++) beams.add(List.of(new Hyp(new int[0], new float[0], Double.NEGATIVE_INFINITY, false, null)));
        long forwards = 0, scored = 0;
        for (int round = 0; ; round++) {
            List<int[]> rows = new ArrayList<>();
            List<int[]> owner = new ArrayList<>();
            int budget = 0;
            for (int i = 0; i < n; i++)
                for (int h = 0; h < beams.get(i).size(); h++) {
                    Hyp hyp = beams.get(i).get(h);
                    if (hyp.done()) continue;
                    budget = Math.max(budget, maxNewTokens - hyp.tokens().length);
                    for (int m = 0; m < expand; m++) { rows.add(concat(prompts.get(i), hyp.tokens())); owner.add(new int[]{i, h}); }
                }
            if (rows.isEmpty()) break;
            List<Completion> steps = new ArrayList<>();
            for (int from = 0; from < rows.size(); from += CHUNK)
                try (PointerScope scope = new PointerScope()) {
                    steps.addAll(Sampler.generate(policy, tok, rows.subList(from, Math.min(rows.size(), from + CHUNK)),
                            new SamplingConfig(budget, temperature, 0, 1.0, seed * 7_919 + round * 104_729L + from, List.of(separator))));
                }
            List<List<Hyp>> cands = new ArrayList<>();
            List<Set<String>> seen = new ArrayList<>();
            for (int i = 0; i < n; i++) { cands.add(new ArrayList<>()); seen.add(new HashSet<>()); }
            for (int r = 0; r < rows.size(); r++) {
                Hyp h = beams.get(owner.get(r)[0]).get(owner.get(r)[1]);
                Completion c = steps.get(r);
                int room = maxNewTokens - h.tokens().length;
                int[] add = c.tokens().length > room ? Arrays.copyOf(c.tokens(), room) : c.tokens();
                forwards += add.length;
                int[] t = concat(h.tokens(), add);
                boolean eos = add.length > 0 && tok.isEos(add[add.length - 1]);
                boolean full = t.length >= maxNewTokens;
                Hyp cand = new Hyp(t, concat(h.logps(), Arrays.copyOf(c.logprobs(), add.length)), Double.NaN, eos || full || add.length == 0,
                        eos ? "eos" : full || add.length == 0 ? "length" : null);
                if (seen.get(owner.get(r)[0]).add(Arrays.toString(t))) cands.get(owner.get(r)[0]).add(cand);
            }
            List<int[]> ps = new ArrayList<>(), partials = new ArrayList<>();
            for (int i = 0; i < n; i++) for (Hyp c : cands.get(i)) { ps.add(prompts.get(i)); partials.add(c.tokens()); }
            double[] s = scorer.score(ps, partials);
            scored += s.length;
            int at = 0;
            for (int i = 0; i < n; i++) {
                if (cands.get(i).isEmpty()) continue;
                List<Hyp> pool = new ArrayList<>();
                for (Hyp h : beams.get(i)) if (h.done()) pool.add(h);
                for (Hyp c : cands.get(i)) pool.add(new Hyp(c.tokens(), c.logps(), s[at++], c.done(), c.reason()));
                beams.set(i, top(pool, width));
            }
        }
        List<Completion> res = new ArrayList<>(n);
        for (List<Hyp> b : beams) res.add(completion(tok, b.get(0)));
        return new Result(res, forwards, scored);
    }

    /**
     * Best-of-N: N samples of each prompt at {@code cfg}, the one {@code scorer} ranks highest (null: the most likely,
     * Σ log π); ties go to the first sampled.
     */
    public static Result bestOfN(LlamaModel policy, Tokenizer tok, List<int[]> prompts, Scorer scorer, int n, SamplingConfig cfg) {
        UserError.check(n >= 1, "--best-of must be >= 1: %s", n);
        List<int[]> rows = new ArrayList<>();
        for (int[] p : prompts) for (int k = 0; k < n; k++) rows.add(p);
        List<Completion> outs = new ArrayList<>();
        for (int from = 0; from < rows.size(); from += CHUNK)
            try (PointerScope scope = new PointerScope()) {
                outs.addAll(Sampler.generate(policy, tok, rows.subList(from, Math.min(rows.size(), from + CHUNK)), cfg.withSeed(cfg.seed() + from)));
            }
        long forwards = 0;
        for (Completion c : outs) forwards += c.tokens().length;
        double[] s;
        if (scorer != null) {
            List<int[]> partials = new ArrayList<>();
            for (Completion c : outs) partials.add(c.tokens());
            s = scorer.score(rows, partials);
        } else {
            s = new double[outs.size()];
            for (int j = 0; j < s.length; j++) s[j] = outs.get(j).sumLogprob();
        }
        List<Completion> res = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) res.add(outs.get(i * n + argmax(s, i * n, n)));
        return new Result(res, forwards, scorer == null ? 0 : outs.size());
    }

    private static Completion completion(Tokenizer tok, Hyp h) {
        return new Completion(h.tokens(), tok.decode(h.tokens(), true), h.logps(), h.reason() == null ? "length" : h.reason());
    }

    static int argmax(double[] w, int from, int k) {
        int b = from;
        for (int j = from + 1; j < from + k; j++) if (w[j] > w[b]) b = j;
        return b - from;
    }

    /** A draw from the distribution whose log-probabilities are w[from .. from + k). */
    static int draw(double[] w, int from, int k, Random rng) {
        double u = rng.nextDouble(), c = 0;
        for (int j = 0; j < k; j++) {
            c += Math.exp(w[from + j]);
            if (u < c) return j;
        }
        return argmax(w, from, k);
    }

    static int[] concat(int[] a, List<Integer> b) {
        int[] out = Arrays.copyOf(a, a.length + b.size());
        for (int i = 0; i < b.size(); i++) out[a.length + i] = b.get(i);
        return out;
    }

    static int[] concat(int[] a, int x) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = x;
        return out;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static float[] concat(float[] a, float x) {
        float[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = x;
        return out;
    }

    static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static int[] toArray(List<Integer> l) {
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }
}
