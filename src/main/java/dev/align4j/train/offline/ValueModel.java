package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.loss.ValueLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.SeqBatch;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.*;

/**
 * A token-level value model trained by regression on Monte Carlo returns: for a trajectory (prompt x, completion y)
 * with outcome return R, every state s_t = x + y_{&lt;t} for t = 0 … |y| (the prompt's last token, every completion
 * position, and the finished sequence) is read by a score head at its last token and trained towards R, so V(s_t)
 * estimates E[R | s_t] under the policy that sampled the data (an every-visit Monte Carlo estimate, γ = 1). The loss is
 * ½ (V − R)² or, with a categorical head, the HL-Gauss / two-hot cross-entropy ({@link ValueLoss}). The model is a
 * *ForSequenceClassification whose num_labels is the head's outputs (1 or B); the head's settings go beside it as
 * {@code value_head.json}. Logs {@code loss}, {@code value/mse} and {@code value/explained_variance} over the trained
 * states. Sampling the trajectories is not done here ({@code pipeline.MonteCarloValue} does it).
 *
 * <p>Shapes: B rows, T tokens, L head outputs.
 */
public final class ValueModel {
    private ValueModel() {}

    /** Value-model settings; defaults in {@link #DEFAULTS}. {@code batching.maxLength} caps prompt + completion. */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, @JsonUnwrapped ValueLoss.Head value) {
        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        /** Every setting's default by name, for configs that nest this one. */
        public static final Map<String, Object> COMMON = Configs.plus(Configs.plus(Batching.COMMON, ValueLoss.Head.DEFAULTS), "steps", 500, "lr", 3e-4,
                "weightDecay", 0.0, "warmupSteps", 20, "batchSize", 32, "maxLength", 128);
        public static final Config DEFAULTS = Configs.of(Config.class, COMMON);
    }

    /** One trajectory: its prompt and completion tokens and its return (the outcome reward). */
    public record Row(int[] prompt, int[] completion, double ret) {}

    /**
     * A batch of trajectories with the states that are trained: {@code states} (B, T) is 1 at positions from the prompt's
     * last token to the sequence's last; {@code targets} (B, T) is each row's return.
     */
    record Batch(SeqBatch seqs, Tensor states, Tensor targets, int[] promptLast) {}

    static Batch batch(List<Row> rows, int[] idx, int padId, int maxLength) {
        List<int[]> ps = new ArrayList<>(), cs = new ArrayList<>();
        for (int i : idx) {
            Row r = rows.get(i);
            int room = Math.max(0, maxLength - r.prompt().length);
            ps.add(r.prompt());
            cs.add(r.completion().length > room ? Arrays.copyOf(r.completion(), room) : r.completion());
        }
        SeqBatch sb = SeqBatch.of(ps, cs, padId);
        int b = idx.length, t = (int) sb.length();
        float[] states = new float[b * t], targets = new float[b * t];
        int[] last = new int[b];
        for (int k = 0; k < b; k++) {
            last[k] = sb.promptLens()[k] - 1;
            for (int j = last[k]; j < sb.promptLens()[k] + sb.completionLens()[k]; j++) {
                states[k * t + j] = 1;
                targets[k * t + j] = (float) rows.get(idx[k]).ret();
            }
        }
        return new Batch(sb, Torch.floats(states, b, t), Torch.floats(targets, b, t), last);
    }

    /** The head's outputs (B, T, L) at every position. */
    static Tensor outputs(LlamaModel vm, SeqBatch sb) {
        return vm.scoreHead(vm.hidden(sb.ids(), null, null));
    }

    public static Loop.Outcome train(LlamaModel vm, List<Row> rows, Config cfg, Session io) {
        if (vm.config.numLabels() != cfg.value().labels())
            throw new IllegalArgumentException("the value model needs " + cfg.value().labels() + " head outputs for --value-loss " + cfg.value().valueLoss().flag());
        if (rows.isEmpty()) throw new UserError("value-model: no trajectories to train on");
        Batches order = new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed());
        ValueLoss.Head head = cfg.value();
        return Loop.run(io, Loop.Plan.of("value-model", cfg.run(), cfg, vm, 10), new Loop.Recipe() {
            @Override
            public void step(Loop.Step s) {
                s.update((micro, m) -> {
                    Batch b = batch(rows, Batching.rows(order, s.step, micro, cfg.run()), io.tok().padId, cfg.batching().maxLength());
                    Tensor out = outputs(vm, b.seqs());                                               // (B, T, L)
                    Tensor v = head.value(out.detach());                                              // (B, T)
                    m.put("value/mse", Torch.item(v.sub(b.targets()).pow(Torch.s(2.0)).mul(b.states()).sum()) / Math.max(1, Torch.item(b.states().sum())));
                    m.put("value/explained_variance", explainedVariance(Torch.toFloats(b.targets()), Torch.toFloats(v), Torch.toFloats(b.states())));
                    return ValueLoss.loss(head, out, null, b.targets(), b.states(), 0).loss();
                });
                s.metrics.put("epoch", order.epoch(s.step * cfg.run().gradAccum()));
            }

            @Override
            public void save(ObjectNode state, Path dir) { head.writeTo(dir); }                   // how to read the head
        });
    }

    /** 1 − Var(R − V) / Var(R) over the entries where {@code w} is 1; NaN when the returns do not vary. */
    static double explainedVariance(float[] r, float[] v, float[] w) {
        double n = 0, sr = 0, srr = 0, sd = 0, sdd = 0;
        for (int i = 0; i < r.length; i++) {
            if (w[i] == 0) continue;
            double d = r[i] - v[i];
            n++; sr += r[i]; srr += r[i] * r[i]; sd += d; sdd += d * d;
        }
        if (n == 0) return Double.NaN;
        double varR = srr / n - (sr / n) * (sr / n), varD = sdd / n - (sd / n) * (sd / n);
        return varR <= 1e-12 ? Double.NaN : 1 - varD / varR;
    }

    /**
     * Held-out quality of a value model on trajectories of the same policy: over every trained state {@code value/mse} and
     * {@code value/explained_variance}; at the prompt's last token (before anything is written) {@code value/prompt_mse}
     * (the Brier score when returns are 0/1), {@code value/prompt_auc} (with 0/1 returns: the chance that a successful
     * trajectory's prompt gets a higher V than a failed one's, ties half); at the finished sequence {@code value/final_auc} (the
     * same for V of the whole completion: the value model as an outcome reward model); and {@code value/return_mean}.
     */
    public static Map<String, Double> evaluate(LlamaModel vm, ValueLoss.Head head, List<Row> rows, int padId, int maxLength) {
        List<Float> r = new ArrayList<>(), v = new ArrayList<>(), w = new ArrayList<>();
        double[] v0 = new double[rows.size()], r0 = new double[rows.size()], vEnd = new double[rows.size()];
        try (NoGradGuard g = new NoGradGuard()) {
            for (int from = 0; from < rows.size(); from += 64) {
                int n = Math.min(64, rows.size() - from);
                int[] idx = new int[n];
                for (int k = 0; k < n; k++) idx[k] = from + k;
                try (PointerScope scope = new PointerScope()) {
                    Batch b = batch(rows, idx, padId, maxLength);
                    float[] vals = Torch.toFloats(head.value(outputs(vm, b.seqs()))), tg = Torch.toFloats(b.targets()), st = Torch.toFloats(b.states());
                    int t = (int) b.seqs().length();
                    for (int i = 0; i < vals.length; i++) { r.add(tg[i]); v.add(vals[i]); w.add(st[i]); }
                    for (int k = 0; k < n; k++) {
                        v0[from + k] = vals[k * t + b.promptLast()[k]];
                        vEnd[from + k] = vals[k * t + b.seqs().promptLens()[k] + b.seqs().completionLens()[k] - 1];
                        r0[from + k] = rows.get(from + k).ret();
                    }
                }
            }
        }
        float[] rf = new float[r.size()], vf = new float[r.size()], wf = new float[r.size()];
        double se = 0, cnt = 0;
        for (int i = 0; i < rf.length; i++) {
            rf[i] = r.get(i); vf[i] = v.get(i); wf[i] = w.get(i);
            if (wf[i] != 0) { se += (rf[i] - vf[i]) * (rf[i] - vf[i]); cnt++; }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("value/mse", se / Math.max(1, cnt));
        out.put("value/explained_variance", explainedVariance(rf, vf, wf));
        double pse = 0;
        for (int i = 0; i < v0.length; i++) pse += (v0[i] - r0[i]) * (v0[i] - r0[i]);
        out.put("value/prompt_mse", pse / Math.max(1, v0.length));
        out.put("value/prompt_auc", auc(v0, r0));
        out.put("value/final_auc", auc(vEnd, r0));
        out.put("value/return_mean", Arrays.stream(r0).average().orElse(Double.NaN));
        return out;
    }

    /**
     * The area under the ROC curve of scores {@code s} for binary labels {@code y} (1 = positive; any other value makes it
     * NaN, as does a class with no member): P(s_pos &gt; s_neg) + ½ P(s_pos = s_neg), over all positive-negative pairs.
     */
    public static double auc(double[] s, double[] y) {
        List<Double> pos = new ArrayList<>(), neg = new ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            if (y[i] == 1) pos.add(s[i]);
            else if (y[i] == 0) neg.add(s[i]);
            else return Double.NaN;
        }
        if (pos.isEmpty() || neg.isEmpty()) return Double.NaN;
        double wins = 0;
        for (double p : pos) for (double q : neg) wins += p > q ? 1 : p == q ? 0.5 : 0;
        return wins / ((double) pos.size() * neg.size());
    }
}
