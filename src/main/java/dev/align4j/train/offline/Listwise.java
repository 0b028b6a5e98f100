package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.RankedList;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.ListwiseLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Listwise preference optimization (LiPO-λ, ListMLE, PRO) over ranked lists of completions. Lists in a batch are
 * padded to the longest (padded slots repeat the last completion and are masked out), so each micro-batch is one
 * policy forward over B·K rows. Reference log-probs are computed once before training.
 * Shapes: B lists, K completions per list.
 */
public final class Listwise {
    private Listwise() {}

    /**
     * Listwise preference optimization settings; defaults in {@link #DEFAULTS}. {@code batchSize} counts lists.
     *
     * @param loss      LIPO_LAMBDA, LIST_MLE or PRO
     * @param beta      temperature of the implicit rewards s = β·log(π/π_ref) (LiPO-λ, ListMLE)
     * @param nllWeight PRO's weight on the NLL of the best completion
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, ListwiseLoss.Variant loss, double beta, double nllWeight) {
        public Config {
            UserError.check(loss != null, "listwise: a loss is required");
            UserError.check(beta > 0, "beta must be > 0: %s", beta);
            UserError.check(nllWeight >= 0, "nll-weight must be >= 0: %s", nllWeight);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 300, "lr", 5e-5, "weightDecay", 0.0, "warmupSteps", 20, "batchSize", 8,
                "loss", ListwiseLoss.Variant.LIPO_LAMBDA, "beta", 0.1, "nllWeight", 1.0);
    }

    public record Result(double finalLoss, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, List<RankedList> data, Config cfg, Session io) {
        List<Tokenized[]> lists = new ArrayList<>();
        List<double[]> scores = new ArrayList<>();
        int maxK = 0;
        for (RankedList l : data) {
            Tokenized[] t = new Tokenized[l.completions().size()];
            boolean ok = true;
            for (int i = 0; i < t.length; i++) {
                t[i] = cfg.batching().tokenize(io.tok(), l.prompt(), l.completions().get(i));
                ok &= t[i].completion().length > 0;
            }
            if (!ok) continue;
            lists.add(t);
            scores.add(l.scores());
            maxK = Math.max(maxK, t.length);
        }
        if (lists.isEmpty()) throw new UserError("listwise: no trainable lists");
        float[][] ref = cfg.loss() == ListwiseLoss.Variant.PRO ? new float[lists.size()][maxK] : referenceLogps(reference, lists, maxK, io.tok().padId);
        Ranked ranked = new Ranked(lists, scores, ref, maxK);
        Batches order = new Batches(lists.size(), cfg.batching().batchSize(), cfg.run().seed());
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("listwise", cfg.run(), cfg, policy, 10), s -> s.update((micro, m) ->
                loss(policy, ranked, Batching.rows(order, s.step, micro, cfg.run()), cfg, io.tok().padId, m)));
        return new Result(out.get("loss"), out.lastCheckpoint());
    }

    /** The tokenized lists, their scores (higher = better), reference log-probs (lists)(K), and the longest list K. */
    private record Ranked(List<Tokenized[]> lists, List<double[]> scores, float[][] ref, int k) {}

    /** One micro-batch of B lists: one policy forward over B·K rows, the list scores, the listwise loss. */
    private static Tensor loss(LlamaModel policy, Ranked d, int[] idx, Config cfg, int padId, Map<String, Double> m) {
        int b = idx.length, k = d.k();
        boolean[] valid = new boolean[b * k];
        float[] psi = new float[b * k], refs = new float[b * k];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < k; j++) {
                valid[i * k + j] = j < d.lists().get(idx[i]).length;
                psi[i * k + j] = valid[i * k + j] ? (float) d.scores().get(idx[i])[j] : -1e4f;
                refs[i * k + j] = d.ref()[idx[i]][j];
            }
        Tensor vmask = Torch.bools(valid, b, k), psiT = Torch.floats(psi, b, k);
        Scoring.Scores sc = Scoring.score(policy, batch(d.lists(), idx, k, padId), false);
        // the list's scores: implicit rewards β·log(π/π_ref) (LiPO-λ, ListMLE) or mean log-probs (PRO)
        Tensor sv = cfg.loss() == ListwiseLoss.Variant.PRO ? sc.mean().view(b, k)
                : sc.sum().view(b, k).sub(Torch.floats(refs, b, k)).mul(Torch.s(cfg.beta()));   // (B, K)
        rankMetrics(m, Torch.toFloats(sv), psi, d, idx);
        return switch (cfg.loss()) {
            case LIPO_LAMBDA -> ListwiseLoss.lipoLambda(sv, psiT, vmask);
            case LIST_MLE -> ListwiseLoss.listMle(sv, vmask);
            case PRO -> ListwiseLoss.pro(sv, vmask, cfg.nllWeight());
        };
    }

    /** rewards/chosen (top of the list), rewards/rejected (bottom), their margin, and the share of ordered pairs the scores agree with. */
    private static void rankMetrics(Map<String, Double> m, float[] sv, float[] psi, Ranked d, int[] idx) {
        int b = idx.length, k = d.k();
        double top = 0, bottom = 0, agree = 0, pairs = 0;
        for (int i = 0; i < b; i++) {
            int n = d.lists().get(idx[i]).length;
            top += sv[i * k];
            bottom += sv[i * k + n - 1];
            for (int x = 0; x < n; x++)
                for (int y = 0; y < n; y++)
                    if (psi[i * k + x] > psi[i * k + y]) { pairs++; if (sv[i * k + x] > sv[i * k + y]) agree++; }
        }
        m.put("rewards/chosen", top / b);
        m.put("rewards/rejected", bottom / b);
        m.put("rewards/margins", (top - bottom) / b);
        m.put("rewards/accuracies", pairs == 0 ? 0 : agree / pairs);
    }

    /** Summed reference log-probs (lists)(K), computed once without gradients. */
    private static float[][] referenceLogps(LlamaModel reference, List<Tokenized[]> lists, int k, int padId) {
        if (reference == null) throw new IllegalArgumentException("this listwise loss needs a reference model");
        float[][] ref = new float[lists.size()][k];
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < lists.size(); i += 16) {
                int[] idx = new int[Math.min(16, lists.size() - i)];
                for (int j = 0; j < idx.length; j++) idx[j] = i + j;
                try (PointerScope s = new PointerScope()) {
                    float[] r = Torch.toFloats(Scoring.score(reference, batch(lists, idx, k, padId), false).sum());
                    for (int j = 0; j < idx.length; j++) System.arraycopy(r, j * k, ref[i + j], 0, k);
                }
            }
        }
        return ref;
    }

    /** B·K rows: list i's completion j at row i·K + j; padded slots repeat the list's last completion. */
    static SeqBatch batch(List<Tokenized[]> lists, int[] idx, int k, int padId) {
        List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
        for (int i : idx) {
            Tokenized[] l = lists.get(i);
            for (int j = 0; j < k; j++) { Tokenized t = l[Math.min(j, l.length - 1)]; p.add(t.prompt()); c.add(t.completion()); }
        }
        return SeqBatch.of(p, c, padId);
    }
}
