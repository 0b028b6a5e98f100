package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.RewardLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Bradley–Terry reward-model training: the decoder with a {@code score} head reads each sequence at its
 * last real token; chosen and rejected go through as one batch of 2B rows. Logs {@code loss},
 * {@code accuracy} (share of pairs with r_c &gt; r_r), {@code margin} (mean r_c − r_r) and the mean scores.
 * With K &gt; 1 heads (multi-objective data: a score vector per completion) head k learns objective k's
 * ordering of each pair ({@link RewardLoss#multiObjective}); {@code accuracy/NAME} and {@code margin/NAME}
 * are logged per objective. The model is saved as *ForSequenceClassification with num_labels = K.
 */
public final class RewardModel {
    private RewardModel() {}

    /**
     * Reward-model training settings; defaults in {@link #DEFAULTS}.
     *
     * @param centering η of the reward-centering term η·(r_c + r_r)² (0 = off)
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, double centering) {
        public Config {
            UserError.check(centering >= 0, "center-rewards must be >= 0: %s", centering);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 300, "lr", 1e-4, "weightDecay", 0.0, "warmupSteps", 20, "batchSize", 32, "centering", 0.0);
    }

    public record Result(double finalLoss, double finalAccuracy, Path lastCheckpoint) {}

    /** A tokenized pair and, per objective, which side that objective prefers: +1 chosen, −1 rejected, 0 tie. */
    record Row(Tokenized chosen, Tokenized rejected, float[] prefer) {}

    /** Scalar reward model on plain pairs (chosen ≻ rejected). */
    public static Result train(LlamaModel rm, List<PreferencePair> data, Config cfg, Session io) {
        return trainScored(rm, scalar(data), List.of("reward"), cfg, io);
    }

    /**
     * One head per objective on pairs with score vectors; {@code objectives} names them in metrics and
     * must match both the vectors' length and the model's num_labels.
     */
    public static Result trainScored(LlamaModel rm, List<PreferencePair.Scored> data, List<String> objectives, Config cfg, Session io) {
        if (rm.config.isCausalLm()) throw new IllegalArgumentException("reward model needs a score head (withScoreHead)");
        int k = objectives.size();
        if (rm.config.numLabels() != k)
            throw new UserError("reward: the model has " + rm.config.numLabels() + " score heads but the data has " + k + " objectives " + objectives);
        List<Row> rows = tokenize(io.tok(), data, cfg.batching(), k);
        if (rows.isEmpty()) throw new UserError("reward: no trainable pairs");
        Batches order = new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed());

        Loop.Outcome out = Loop.run(io, Loop.Plan.of("reward", cfg.run(), cfg, rm, 10), s -> s.update((micro, m) -> {
            int[] idx = Batching.rows(order, s.step, micro, cfg.run());
            Tensor[] r = scores(rm, rows, idx, io.tok().padId);                         // (B, K) chosen, rejected
            Tensor prefer = prefer(rows, idx, k);                                       // (B, K) +1 / −1 / 0
            accuracyMetrics(m, r, prefer, objectives);
            return RewardLoss.multiObjective(r[0], r[1], prefer, cfg.centering());
        }));
        return new Result(out.get("loss"), out.get("accuracy"), out.lastCheckpoint());
    }

    /**
     * {@code accuracy} / {@code margin}: over decided (pair, objective) entries, the share with s·(r_c − r_r) &gt; 0 and its
     * mean; per objective as {@code accuracy/NAME} with several heads; {@code rewards/chosen}, {@code rewards/rejected}: mean scores.
     */
    private static void accuracyMetrics(Map<String, Double> m, Tensor[] r, Tensor prefer, List<String> objectives) {
        int k = objectives.size();
        Tensor decided = prefer.abs(), oriented = r[0].sub(r[1]).mul(prefer);
        Tensor correct = oriented.gt(Torch.s(0.0)).to(ScalarType.Float).mul(decided);
        m.put("accuracy", Torch.item(correct.sum().div(decided.sum().clamp_min(Torch.s(1.0)))));
        m.put("margin", Torch.item(oriented.sum().div(decided.sum().clamp_min(Torch.s(1.0)))));
        if (k > 1) {
            float[] c = Torch.toFloats(correct.sum(new long[]{0}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            float[] o = Torch.toFloats(oriented.sum(new long[]{0}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            float[] d = Torch.toFloats(decided.sum(new long[]{0}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            for (int j = 0; j < k; j++) {
                if (d[j] == 0) continue;                                    // no pair in this batch orders objective j
                m.put("accuracy/" + objectives.get(j), (double) c[j] / d[j]);
                m.put("margin/" + objectives.get(j), (double) o[j] / d[j]);
            }
        }
        m.put("rewards/chosen", Torch.item(r[0].mean()));
        m.put("rewards/rejected", Torch.item(r[1].mean()));
    }

    /** Plain pairs as one-objective scored pairs (chosen 1, rejected 0). */
    public static List<PreferencePair.Scored> scalar(List<PreferencePair> data) {
        List<PreferencePair.Scored> out = new ArrayList<>(data.size());
        for (PreferencePair p : data) out.add(new PreferencePair.Scored(p, new double[]{1}, new double[]{0}));
        return out;
    }

    /** Tokenizes every pair; pairs left with an empty completion after truncation, or tied on every objective, are reported and skipped. */
    static List<Row> tokenize(Tokenizer tok, List<PreferencePair.Scored> data, Batching batching, int k) {
        List<Row> rows = new ArrayList<>();
        int empty = 0, tied = 0;
        for (PreferencePair.Scored s : data) {
            if (s.chosenScores().length != k)
                throw new UserError("reward: a pair has " + s.chosenScores().length + " scores but the model has " + k + " heads");
            PreferencePair p = s.pair();
            Tokenized c = batching.tokenize(tok, p.prompt(), p.chosen()), r = batching.tokenize(tok, p.prompt(), p.rejected());
            if (c.completion().length == 0 || r.completion().length == 0) { empty++; continue; }
            float[] prefer = new float[k];
            boolean any = false;
            for (int j = 0; j < k; j++) {
                prefer[j] = (float) Math.signum(s.chosenScores()[j] - s.rejectedScores()[j]);
                any |= prefer[j] != 0;
            }
            if (!any) { tied++; continue; }
            rows.add(new Row(c, r, prefer));
        }
        if (empty > 0) System.err.println("reward: " + empty + " pairs with an empty completion after truncation were skipped");
        if (tied > 0) System.err.println("reward: " + tied + " pairs tied on every objective were skipped");
        return rows;
    }

    /** Head outputs (B, K) of chosen and rejected for the pairs {@code idx}. */
    static Tensor[] scores(LlamaModel rm, List<Row> rows, int[] idx, int padId) {
        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
        for (int side = 0; side < 2; side++)
            for (int i : idx) {
                Tokenized t = side == 0 ? rows.get(i).chosen() : rows.get(i).rejected();
                prompts.add(t.prompt());
                comps.add(t.completion());
            }
        Tensor s = Scoring.lastTokenScores(rm, SeqBatch.of(prompts, comps, padId));   // (2B, K)
        return new Tensor[]{s.narrow(0, 0, idx.length), s.narrow(0, idx.length, idx.length)};
    }

    static Tensor prefer(List<Row> rows, int[] idx, int k) {
        float[] p = new float[idx.length * k];
        for (int b = 0; b < idx.length; b++) System.arraycopy(rows.get(idx[b]).prefer(), 0, p, b * k, k);
        return Torch.floats(p, idx.length, k);
    }

    /** Held-out pairwise accuracy (share of pairs with r_c &gt; r_r; ties count half) and mean margin of a scalar reward model. */
    public static double[] evaluate(LlamaModel rm, Tokenizer tok, List<PreferencePair> pairs, int maxLength) {
        return evaluateScored(rm, tok, scalar(pairs), maxLength)[0];
    }

    /**
     * Per objective k: {accuracy, margin} over the held-out pairs that objective orders (s_k ≠ 0):
     * accuracy is the share with s_k·(r_c,k − r_r,k) &gt; 0 (equal scores count half), margin its mean.
     */
    public static double[][] evaluateScored(LlamaModel rm, Tokenizer tok, List<PreferencePair.Scored> pairs, int maxLength) {
        int k = rm.config.numLabels();
        List<Row> rows = tokenize(tok, pairs, new Batching(64, maxLength, Tokenized.Truncation.KEEP_END), k);
        double[] acc = new double[k], margin = new double[k], n = new double[k];
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < rows.size(); i += 64) {
                int b = Math.min(64, rows.size() - i);
                int[] idx = new int[b];
                for (int j = 0; j < b; j++) idx[j] = i + j;
                try (PointerScope s = new PointerScope()) {
                    Tensor[] r = scores(rm, rows, idx, tok.padId);
                    float[] c = Torch.toFloats(r[0]), x = Torch.toFloats(r[1]);
                    for (int j = 0; j < b; j++)
                        for (int h = 0; h < k; h++) {
                            float sgn = rows.get(i + j).prefer()[h];
                            if (sgn == 0) continue;
                            double o = sgn * (c[j * k + h] - x[j * k + h]);
                            acc[h] += o > 0 ? 1 : o == 0 ? 0.5 : 0;
                            margin[h] += o;
                            n[h]++;
                        }
                }
            }
        }
        double[][] out = new double[k][];
        for (int h = 0; h < k; h++) out[h] = new double[]{acc[h] / Math.max(1, n[h]), margin[h] / Math.max(1, n[h])};
        return out;
    }
}
