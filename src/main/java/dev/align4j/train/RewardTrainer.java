package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
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
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bradley–Terry reward-model training: the decoder with a scalar {@code score} head reads each sequence
 * at its last real token; chosen and rejected go through as one batch of 2B rows. Logs {@code loss},
 * {@code accuracy} (share of pairs with r_c &gt; r_r), {@code margin} (mean r_c − r_r) and the mean scores.
 * The model is saved as *ForSequenceClassification, loadable by transformers.
 */
public final class RewardTrainer {
    private RewardTrainer() {}

    public record Result(double finalLoss, double finalAccuracy, Path lastCheckpoint) {}

    public static Result train(LlamaModel rm, Tokenizer tok, List<PreferencePair> data, RewardConfig cfg, Path output,
                               Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        if (rm.config.isCausalLm()) throw new IllegalArgumentException("reward model needs a score head (withScoreHead)");
        List<Tokenized[]> rows = tokenize(tok, data, cfg.maxLength());
        if (rows.isEmpty()) throw new UserError("reward: no trainable pairs");
        rm.requiresGrad(true);
        Batches order = new Batches(rows.size(), cfg.batchSize(), cfg.seed());
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps(), 0.1);
        Path lastCkpt = null;
        double lastLoss = Double.NaN, lastAcc = Double.NaN;
        StepEnd end = new StepEnd("reward", cfg.steps(), 10, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        try (AdamW opt = new AdamW(rm.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, rm, opt);
            long start = resumed.step();
            for (long step = start + 1; step <= cfg.steps(); step++) {
                double lr = schedule.at(step);
                Map<String, Double> m = new LinkedHashMap<>();
                try (PointerScope scope = new PointerScope()) {
                    int[] idx = order.batch(step - 1);
                    Tensor[] r = scores(rm, rows, idx, tok.padId);
                    Tensor loss = RewardLoss.bradleyTerry(r[0], r[1], null, cfg.centering());
                    loss.backward();
                    m.put("loss", Torch.item(loss));
                    m.put("accuracy", Torch.item(r[0].gt(r[1]).to(ScalarType.Float).mean()));
                    m.put("margin", Torch.item(r[0].sub(r[1]).mean()));
                    m.put("rewards/chosen", Torch.item(r[0].mean()));
                    m.put("rewards/rejected", Torch.item(r[1].mean()));
                }
                double gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                if (!end.skip(step, m.get("loss"), gradNorm, lastCkpt)) opt.step(lr);   // a skipped step only drops its gradients
                opt.zeroGrad();
                m.put("grad_norm", gradNorm);
                m.put("learning_rate", lr);
                lastLoss = m.get("loss");
                lastAcc = m.get("accuracy");
                lastCkpt = end.finish(step, start + 1, m, rm, tok, opt, null, lastCkpt);
            }
        }
        rm.requiresGrad(false);
        return new Result(lastLoss, lastAcc, lastCkpt);
    }

    static List<Tokenized[]> tokenize(Tokenizer tok, List<PreferencePair> data, int maxLength) {
        List<Tokenized[]> rows = new ArrayList<>();
        for (PreferencePair p : data) {
            Tokenized c = Tokenized.of(tok, p.prompt(), p.chosen(), maxLength, true);
            Tokenized r = Tokenized.of(tok, p.prompt(), p.rejected(), maxLength, true);
            if (c.completion().length > 0 && r.completion().length > 0) rows.add(new Tokenized[]{c, r});
        }
        return rows;
    }

    /** Scores (B) of chosen and rejected for the pairs {@code idx}. */
    static Tensor[] scores(LlamaModel rm, List<Tokenized[]> rows, int[] idx, int padId) {
        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
        for (int k = 0; k < 2; k++) for (int i : idx) { prompts.add(rows.get(i)[k].prompt()); comps.add(rows.get(i)[k].completion()); }
        Tensor s = Scoring.lastTokenScores(rm, SeqBatch.of(prompts, comps, padId)).select(1, 0);   // (2B)
        return new Tensor[]{s.narrow(0, 0, idx.length), s.narrow(0, idx.length, idx.length)};
    }

    /** Held-out pairwise accuracy (share of pairs with r_c &gt; r_r; ties count half) and mean margin. */
    public static double[] evaluate(LlamaModel rm, Tokenizer tok, List<PreferencePair> pairs, int maxLength) {
        List<Tokenized[]> rows = tokenize(tok, pairs, maxLength);
        double acc = 0, margin = 0;
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < rows.size(); i += 64) {
                int n = Math.min(64, rows.size() - i);
                int[] idx = new int[n];
                for (int j = 0; j < n; j++) idx[j] = i + j;
                try (PointerScope s = new PointerScope()) {
                    Tensor[] r = scores(rm, rows, idx, tok.padId);
                    float[] c = Torch.toFloats(r[0]), x = Torch.toFloats(r[1]);
                    for (int j = 0; j < n; j++) { acc += c[j] > x[j] ? 1 : c[j] == x[j] ? 0.5 : 0; margin += c[j] - x[j]; }
                }
            }
        }
        return new double[]{acc / Math.max(1, rows.size()), margin / Math.max(1, rows.size())};
    }
}
