package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.SftExample;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.SftLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Supervised fine-tuning: loss on completion tokens only. One readable loop: learning rate → micro-batches
 * (forward, loss, backward) → clip → AdamW step → log → evaluate → checkpoint. Resumes exactly from a
 * checkpoint: weights, optimizer state and step are restored, and the data order is a function of the step.
 */
public final class SftTrainer {
    private SftTrainer() {}

    /** Called at evaluation steps; returns metrics to log under stage {@code eval/TRAINER}. */
    public interface EvalHook {
        Map<String, Double> evaluate(long step);
    }

    public record Result(long steps, double finalLoss, Path lastCheckpoint) {}

    public static Result train(LlamaModel model, Tokenizer tok, List<SftExample> data, SftConfig cfg, Path output,
                               Metrics metrics, EvalHook eval, Path resume) {
        List<Tokenized> rows = new ArrayList<>();
        int dropped = 0;
        for (SftExample e : data) {
            Tokenized t = Tokenized.of(tok, e.prompt(), e.completion(), cfg.maxLength(), true);
            if (t.completion().length == 0) dropped++; else rows.add(t);
        }
        if (dropped > 0) System.err.println("sft: " + dropped + " rows left with an empty completion after truncation were skipped");
        if (rows.isEmpty()) throw new UserError("sft: no trainable rows (every completion is empty after truncation to max-length " + cfg.maxLength() + ")");

        model.requiresGrad(true);
        Batches order = new Batches(rows.size(), cfg.batchSize(), cfg.seed());
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps(), 0.1);
        Path lastCkpt = null;
        double lastLoss = Double.NaN;
        StepEnd end = new StepEnd("sft", cfg.steps(), 10, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        try (AdamW opt = new AdamW(model.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, model, opt);
            long start = resumed.step();
            long t0 = System.nanoTime(), tokens = 0;
            for (long step = start + 1; step <= cfg.steps(); step++) {
                double lr = schedule.at(step);
                double loss = 0;
                long stepTokens = 0;
                try (PointerScope scope = new PointerScope()) {
                    for (int micro = 0; micro < cfg.gradAccum(); micro++) {
                        List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
                        for (int i : order.batch((step - 1) * cfg.gradAccum() + micro)) { p.add(rows.get(i).prompt()); c.add(rows.get(i).completion()); }
                        SeqBatch b = SeqBatch.of(p, c, tok.padId);
                        Scoring.Scores s = Scoring.score(model, b, false);
                        Tensor l = SftLoss.nll(s.tokenLogps(), s.mask());
                        l.div(Torch.s((double) cfg.gradAccum())).backward();
                        loss += Torch.item(l) / cfg.gradAccum();
                        stepTokens += b.size() * b.length();
                    }
                }
                double gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                if (!end.skip(step, loss, gradNorm, lastCkpt)) opt.step(lr);   // a skipped step only drops its gradients
                opt.zeroGrad();
                tokens += stepTokens;
                lastLoss = loss;
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("loss", loss);
                m.put("grad_norm", gradNorm);
                m.put("learning_rate", lr);
                m.put("epoch", order.epoch(step * cfg.gradAccum()));
                m.put("tokens_per_s", tokens / ((System.nanoTime() - t0) / 1e9));
                lastCkpt = end.finish(step, start + 1, m, model, tok, opt, null, lastCkpt);
            }
        }
        model.requiresGrad(false);
        return new Result(cfg.steps(), lastLoss, lastCkpt);
    }
}
