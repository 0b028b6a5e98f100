package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.Tokenized;
import dev.align4j.data.UnpairedExample;
import dev.align4j.loss.KtoLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * KTO from unpaired thumbs-up / thumbs-down feedback. Each step scores the batch's (x_i, y_i) and the
 * mismatched (x_i, y_{i+1}) with the policy; the mismatched log-ratios give the reference point z
 * (the KL estimate, as in the paper and TRL). Reference log-probs are computed with the reference model
 * inside the step (no gradient); the reference never trains.
 */
public final class KtoTrainer {
    private KtoTrainer() {}

    public record Result(double finalLoss, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, Tokenizer tok, List<UnpairedExample> data, KtoConfig cfg,
                               Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        List<Tokenized> rows = new ArrayList<>();
        List<Boolean> labels = new ArrayList<>();
        for (UnpairedExample e : data) {
            Tokenized t = Tokenized.of(tok, e.prompt(), e.completion(), cfg.maxLength(), true);
            if (t.completion().length > 0) { rows.add(t); labels.add(e.label()); }
        }
        if (rows.size() < 2) throw new UserError("kto: needs at least 2 usable rows");
        if (!labels.contains(true) || !labels.contains(false))
            System.err.println("kto: warning: all labels are " + labels.get(0) + "; KTO learns from both kinds");
        policy.requiresGrad(true);
        Batches order = new Batches(rows.size(), cfg.batchSize(), cfg.seed());
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps(), 0.1);
        Path lastCkpt = null;
        double lastLoss = Double.NaN;
        StepEnd end = new StepEnd("kto", cfg.steps(), 10, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        try (AdamW opt = new AdamW(policy.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, policy, opt);
            long start = resumed.step();
            for (long step = start + 1; step <= cfg.steps(); step++) {
                double lr = schedule.at(step);
                Map<String, Double> m = new LinkedHashMap<>();
                try (PointerScope scope = new PointerScope()) {
                    int[] idx = order.batch(step - 1);
                    int b = idx.length;
                    // rows 0..B−1: (x_i, y_i); rows B..2B−1: (x_i, y_{i+1 mod B}) for the KL reference point
                    List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
                    float[] lab = new float[b];
                    for (int i = 0; i < b; i++) { p.add(rows.get(idx[i]).prompt()); c.add(rows.get(idx[i]).completion()); lab[i] = labels.get(idx[i]) ? 1 : 0; }
                    for (int i = 0; i < b; i++) { p.add(rows.get(idx[i]).prompt()); c.add(rows.get(idx[(i + 1) % b]).completion()); }
                    SeqBatch batch = SeqBatch.of(p, c, tok.padId);
                    Tensor ref;
                    try (NoGradGuard g = new NoGradGuard()) {
                        ref = Scoring.score(reference, batch, false).sum();
                    }
                    Tensor pol = Scoring.score(policy, batch, false).sum();                       // (2B)
                    Tensor logratios = pol.narrow(0, 0, b).sub(ref.narrow(0, 0, b));
                    double z = KtoLoss.referencePoint(pol.narrow(0, b, b), ref.narrow(0, b, b));
                    Tensor desirable = Torch.floats(lab, b);
                    Tensor loss = KtoLoss.losses(logratios, desirable, z, cfg.beta(), cfg.desirableWeight(), cfg.undesirableWeight()).mean();
                    loss.backward();
                    m.put("loss", Torch.item(loss));
                    m.put("kl", z);
                    float[] lr2 = Torch.toFloats(logratios), lp = Torch.toFloats(pol.narrow(0, 0, b));
                    double rc = 0, rr = 0, lc = 0, lrj = 0;
                    int nc = 0, nr = 0;
                    for (int i = 0; i < b; i++) {
                        if (lab[i] == 1) { rc += cfg.beta() * lr2[i]; lc += lp[i]; nc++; } else { rr += cfg.beta() * lr2[i]; lrj += lp[i]; nr++; }
                    }
                    if (nc > 0) { m.put("rewards/chosen", rc / nc); m.put("logps/chosen", lc / nc); }
                    if (nr > 0) { m.put("rewards/rejected", rr / nr); m.put("logps/rejected", lrj / nr); }
                    if (nc > 0 && nr > 0) m.put("rewards/margins", rc / nc - rr / nr);
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
}
