package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Progress;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.loss.SftLoss;
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
 * Offline preference optimization with the DPO family. Reference log-probs are computed once, before
 * training, so no reference model is held in memory while the policy trains. Each step: chosen and
 * rejected go through the policy as one batch of 2B rows → the configured losses → backward → clip →
 * AdamW → log ({@code rewards/chosen}, {@code rewards/margins}, {@code logps/rejected}, …).
 */
public final class DpoTrainer {
    private DpoTrainer() {}

    /** Per-pair reference log-probs: sums and length-normalized means of chosen and rejected. */
    record RefLogps(float[] chosenSum, float[] rejectedSum, float[] chosenMean, float[] rejectedMean) {}

    public record Result(long steps, double finalLoss, double finalAccuracy, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, Tokenizer tok, List<PreferencePair> data, DpoConfig cfg,
                               Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        return train(policy, reference, tok, data, null, 1.0, cfg, output, metrics, eval, resume);
    }

    /**
     * MODPO when {@code modpoMargins} is given: pair i's weighted margin w_{−k}ᵀ(r_{−k}(y_c) − r_{−k}(y_r)) and the
     * labelled objective's weight {@code wk} replace the configured losses (see {@link PreferenceLoss#modpo}).
     */
    public static Result train(LlamaModel policy, LlamaModel reference, Tokenizer tok, List<PreferencePair> data, double[] modpoMargins,
                               double wk, DpoConfig cfg, Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        if (modpoMargins != null && modpoMargins.length != data.size()) throw new IllegalArgumentException("one MODPO margin per pair");
        List<Float> marginRows = new ArrayList<>();
        List<Tokenized[]> rows = new ArrayList<>();
        int dropped = 0;
        for (int i = 0; i < data.size(); i++) {
            PreferencePair p = data.get(i);
            Tokenized c = Tokenized.of(tok, p.prompt(), p.chosen(), cfg.maxLength(), true);
            Tokenized r = Tokenized.of(tok, p.prompt(), p.rejected(), cfg.maxLength(), true);
            if (c.completion().length == 0 || r.completion().length == 0) { dropped++; continue; }
            rows.add(new Tokenized[]{c, r});
            if (modpoMargins != null) marginRows.add((float) modpoMargins[i]);
        }
        if (dropped > 0) System.err.println("dpo: " + dropped + " pairs with an empty completion after truncation were skipped");
        if (rows.isEmpty()) throw new UserError("dpo: no trainable pairs");
        boolean referenceFree = modpoMargins == null && cfg.losses().stream().allMatch(PreferenceLoss.Variant::referenceFree);
        RefLogps ref = referenceFree ? zeros(rows.size()) : referenceLogps(reference, rows, tok.padId, Math.max(cfg.batchSize(), 32));

        policy.requiresGrad(true);
        Batches order = new Batches(rows.size(), cfg.batchSize(), cfg.seed());
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps(), 0.1);
        double bcoDelta = 0;
        long bcoCount = 0;
        Path lastCkpt = null;
        double lastLoss = Double.NaN, lastAcc = Double.NaN;
        StepEnd end = new StepEnd("dpo", cfg.steps(), 10, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        try (AdamW opt = new AdamW(policy.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, policy, opt);
            long start = resumed.step();
            bcoDelta = resumed.state().path("bco_delta").asDouble(0);
            bcoCount = resumed.state().path("bco_count").asLong(0);
            for (long step = start + 1; step <= cfg.steps(); step++) {
                double lr = schedule.at(step);
                Map<String, Double> m = new LinkedHashMap<>();
                try (PointerScope scope = new PointerScope()) {
                    for (int micro = 0; micro < cfg.gradAccum(); micro++) {
                        int[] idx = order.batch((step - 1) * cfg.gradAccum() + micro);
                        int b = idx.length;
                        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
                        for (int i : idx) { prompts.add(rows.get(i)[0].prompt()); comps.add(rows.get(i)[0].completion()); }
                        for (int i : idx) { prompts.add(rows.get(i)[1].prompt()); comps.add(rows.get(i)[1].completion()); }
                        SeqBatch batch = SeqBatch.of(prompts, comps, tok.padId);
                        Scoring.Scores s = Scoring.score(policy, batch, false);       // rows 0..B−1 chosen, B..2B−1 rejected
                        Tensor sumC = s.sum().narrow(0, 0, b), sumR = s.sum().narrow(0, b, b);
                        Tensor meanC = s.mean().narrow(0, 0, b), meanR = s.mean().narrow(0, b, b);
                        Tensor loss = null, chosenRewards = null, rejectedRewards = null;
                        if (modpoMargins != null) {
                            float[] mg = new float[b];
                            for (int i = 0; i < b; i++) mg[i] = marginRows.get(idx[i]);
                            PreferenceLoss.Out o = PreferenceLoss.modpo(sumC, sumR, gather(ref.chosenSum, idx), gather(ref.rejectedSum, idx),
                                    Torch.floats(mg, b), cfg.beta(), wk);
                            loss = o.losses().mean();
                            chosenRewards = o.chosenRewards();
                            rejectedRewards = o.rejectedRewards();
                        }
                        for (int k = 0; k < cfg.losses().size() && modpoMargins == null; k++) {
                            PreferenceLoss.Variant v = cfg.losses().get(k);
                            if (v.referenceFree()) {
                                // implicit rewards of the reference-free family: β · mean log-prob (SimPO's reward)
                                Tensor nllC = meanC.neg();                                   // (B) token-mean NLL of chosen
                                Tensor lk = switch (v) {
                                    case SIMPO -> PreferenceLoss.simpo(meanC, meanR, cfg.beta(), cfg.simpoGamma());
                                    case CPO -> PreferenceLoss.cpo(sumC, sumR, nllC, cfg.beta());
                                    default -> PreferenceLoss.orpo(meanC, meanR, nllC, cfg.beta())[0];
                                };
                                loss = loss == null ? lk.mean().mul(Torch.s(cfg.weight(k))) : loss.add(lk.mean().mul(Torch.s(cfg.weight(k))));
                                if (chosenRewards == null) { chosenRewards = meanC.detach().mul(Torch.s(cfg.beta())); rejectedRewards = meanR.detach().mul(Torch.s(cfg.beta())); }
                                continue;
                            }
                            boolean norm = v.lengthNormalized();
                            PreferenceLoss.Out o = PreferenceLoss.compute(v, norm ? meanC : sumC, norm ? meanR : sumR,
                                    gather(norm ? ref.chosenMean : ref.chosenSum, idx), gather(norm ? ref.rejectedMean : ref.rejectedSum, idx),
                                    cfg.beta(), cfg.labelSmoothing(), bcoDelta);
                            Tensor lk = o.losses().mean().mul(Torch.s(cfg.weight(k)));
                            loss = loss == null ? lk : loss.add(lk);
                            if (chosenRewards == null) { chosenRewards = o.chosenRewards(); rejectedRewards = o.rejectedRewards(); }
                            if (v == PreferenceLoss.Variant.BCO_PAIR) {
                                double mean = Torch.item(o.chosenRewards().add(o.rejectedRewards()).mean()) / 2;
                                bcoCount++;
                                bcoDelta += (mean - bcoDelta) / bcoCount;
                            }
                        }
                        if (cfg.rpoAlpha() > 0) {
                            Tensor nll = SftLoss.nll(s.tokenLogps().narrow(0, 0, b), s.mask().narrow(0, 0, b));
                            loss = loss.add(nll.mul(Torch.s(cfg.rpoAlpha())));
                            m.merge("nll_loss", Torch.item(nll) / cfg.gradAccum(), Double::sum);
                        }
                        loss.div(Torch.s((double) cfg.gradAccum())).backward();
                        double inv = 1.0 / cfg.gradAccum();
                        m.merge("loss", Torch.item(loss) * inv, Double::sum);
                        m.merge("rewards/chosen", Torch.item(chosenRewards.mean()) * inv, Double::sum);
                        m.merge("rewards/rejected", Torch.item(rejectedRewards.mean()) * inv, Double::sum);
                        m.merge("rewards/accuracies", Torch.item(chosenRewards.gt(rejectedRewards).to(org.bytedeco.pytorch.global.torch.ScalarType.Float).mean()) * inv, Double::sum);
                        m.merge("rewards/margins", Torch.item(chosenRewards.sub(rejectedRewards).mean()) * inv, Double::sum);
                        m.merge("logps/chosen", Torch.item(sumC.mean()) * inv, Double::sum);
                        m.merge("logps/rejected", Torch.item(sumR.mean()) * inv, Double::sum);
                    }
                }
                double gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                if (!end.skip(step, m.get("loss"), gradNorm, lastCkpt)) opt.step(lr);   // a skipped step only drops its gradients
                opt.zeroGrad();
                m.put("grad_norm", gradNorm);
                m.put("learning_rate", lr);
                m.put("epoch", order.epoch(step * cfg.gradAccum()));
                lastLoss = m.get("loss");
                lastAcc = m.get("rewards/accuracies");
                ObjectNode extra = Json.object();
                extra.put("bco_delta", bcoDelta);
                extra.put("bco_count", bcoCount);
                lastCkpt = end.finish(step, start + 1, m, policy, tok, opt, extra, lastCkpt);
            }
        }
        policy.requiresGrad(false);
        return new Result(cfg.steps(), lastLoss, lastAcc, lastCkpt);
    }

    private static RefLogps zeros(int n) {
        return new RefLogps(new float[n], new float[n], new float[n], new float[n]);
    }

    private static Tensor gather(float[] values, int[] idx) {
        float[] out = new float[idx.length];
        for (int i = 0; i < idx.length; i++) out[i] = values[idx[i]];
        return Torch.floats(out, out.length);
    }

    /** Reference log-probs of every pair, computed once without gradients. */
    static RefLogps referenceLogps(LlamaModel reference, List<Tokenized[]> rows, int padId, int batchSize) {
        int n = rows.size();
        float[] cs = new float[n], rs = new float[n], cm = new float[n], rm = new float[n];
        Progress progress = new Progress("dpo: reference log-probs", n);
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < n; i += batchSize) {
                int b = Math.min(batchSize, n - i);
                try (PointerScope scope = new PointerScope()) {
                    List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
                    for (int j = 0; j < b; j++) { prompts.add(rows.get(i + j)[0].prompt()); comps.add(rows.get(i + j)[0].completion()); }
                    for (int j = 0; j < b; j++) { prompts.add(rows.get(i + j)[1].prompt()); comps.add(rows.get(i + j)[1].completion()); }
                    Scoring.Scores s = Scoring.score(reference, SeqBatch.of(prompts, comps, padId), false);
                    float[] sum = Torch.toFloats(s.sum()), mean = Torch.toFloats(s.mean());
                    for (int j = 0; j < b; j++) {
                        cs[i + j] = sum[j]; rs[i + j] = sum[b + j]; cm[i + j] = mean[j]; rm[i + j] = mean[b + j];
                    }
                }
                progress.update(i + b);
            }
        }
        return new RefLogps(cs, rs, cm, rm);
    }
}
