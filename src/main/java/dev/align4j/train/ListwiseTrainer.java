package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.RankedList;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.ListwiseLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.*;

/**
 * Listwise preference optimization (LiPO-λ, ListMLE, PRO) over ranked lists of completions. Lists in a
 * batch are padded to the longest (padded slots repeat the last completion and are masked out), so each
 * step is one policy forward over B·K rows. Reference log-probs are computed once before training.
 * Shapes: B lists, K completions per list.
 */
public final class ListwiseTrainer {
    private ListwiseTrainer() {}

    public record Result(double finalLoss, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, Tokenizer tok, List<RankedList> data, ListwiseConfig cfg,
                               Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        List<Tokenized[]> lists = new ArrayList<>();
        List<double[]> scores = new ArrayList<>();
        int k = 0;
        for (RankedList l : data) {
            Tokenized[] t = new Tokenized[l.completions().size()];
            boolean ok = true;
            for (int i = 0; i < t.length; i++) {
                t[i] = Tokenized.of(tok, l.prompt(), l.completions().get(i), cfg.maxLength(), true);
                ok &= t[i].completion().length > 0;
            }
            if (!ok) continue;
            lists.add(t);
            scores.add(l.scores());
            k = Math.max(k, t.length);
        }
        if (lists.isEmpty()) throw new UserError("listwise: no trainable lists");
        final int K = k;
        float[][] ref = new float[lists.size()][K];
        if (cfg.loss() != ListwiseLoss.Variant.PRO) {
            try (NoGradGuard g = new NoGradGuard()) {
                for (int i = 0; i < lists.size(); i += 16) {
                    int[] idx = new int[Math.min(16, lists.size() - i)];
                    for (int j = 0; j < idx.length; j++) idx[j] = i + j;
                    try (PointerScope s = new PointerScope()) {
                        float[] r = Torch.toFloats(Scoring.score(reference, batch(lists, idx, K, tok.padId), false).sum());
                        for (int j = 0; j < idx.length; j++) System.arraycopy(r, j * K, ref[i + j], 0, K);
                    }
                }
            }
        }
        policy.requiresGrad(true);
        Batches order = new Batches(lists.size(), cfg.batchSize(), cfg.seed());
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps(), 0.1);
        Path lastCkpt = null;
        double lastLoss = Double.NaN;
        StepEnd end = new StepEnd("listwise", cfg.steps(), 10, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        try (AdamW opt = new AdamW(policy.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, policy, opt);
            long start = resumed.step();
            for (long step = start + 1; step <= cfg.steps(); step++) {
                double lr = schedule.at(step);
                Map<String, Double> m = new LinkedHashMap<>();
                try (PointerScope scope = new PointerScope()) {
                    int[] idx = order.batch(step - 1);
                    int b = idx.length;
                    boolean[] valid = new boolean[b * K];
                    float[] psi = new float[b * K], refs = new float[b * K];
                    for (int i = 0; i < b; i++)
                        for (int j = 0; j < K; j++) {
                            valid[i * K + j] = j < lists.get(idx[i]).length;
                            psi[i * K + j] = valid[i * K + j] ? (float) scores.get(idx[i])[j] : -1e4f;
                            refs[i * K + j] = ref[idx[i]][j];
                        }
                    Tensor vmask = Torch.bools(valid, b, K), psiT = Torch.floats(psi, b, K);
                    Scoring.Scores sc = Scoring.score(policy, batch(lists, idx, K, tok.padId), false);
                    Tensor pol = sc.sum().view(b, K);
                    // the list's scores: implicit rewards β·log(π/π_ref) (LiPO-λ, ListMLE) or mean log-probs (PRO)
                    Tensor s = cfg.loss() == ListwiseLoss.Variant.PRO ? sc.mean().view(b, K)
                            : pol.sub(Torch.floats(refs, b, K)).mul(Torch.s(cfg.beta()));          // (B, K)
                    Tensor loss = switch (cfg.loss()) {
                        case LIPO_LAMBDA -> ListwiseLoss.lipoLambda(s, psiT, vmask);
                        case LIST_MLE -> ListwiseLoss.listMle(s, vmask);
                        case PRO -> ListwiseLoss.pro(s, vmask, cfg.nllWeight());
                    };
                    loss.backward();
                    m.put("loss", Torch.item(loss));
                    float[] sv = Torch.toFloats(s);
                    double top = 0, bottom = 0, agree = 0, pairs = 0;
                    for (int i = 0; i < b; i++) {
                        int n = lists.get(idx[i]).length;
                        top += sv[i * K];
                        bottom += sv[i * K + n - 1];
                        for (int x = 0; x < n; x++)
                            for (int y = 0; y < n; y++)
                                if (psi[i * K + x] > psi[i * K + y]) { pairs++; if (sv[i * K + x] > sv[i * K + y]) agree++; }
                    }
                    m.put("rewards/chosen", top / b);
                    m.put("rewards/rejected", bottom / b);
                    m.put("rewards/margins", (top - bottom) / b);
                    m.put("rewards/accuracies", pairs == 0 ? 0 : agree / pairs);
                }
                double gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                if (!end.skip(step, m.get("loss"), gradNorm, lastCkpt)) opt.step(lr);   // a skipped step only drops its gradients
                opt.zeroGrad();
                m.put("grad_norm", gradNorm);
                m.put("learning_rate", lr);
                lastLoss = m.get("loss");
                lastCkpt = end.finish(step, start + 1, m, policy, tok, opt, null, lastCkpt);
            }
        }
        policy.requiresGrad(false);
        return new Result(lastLoss, lastCkpt);
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
