package dev.align4j.train.offline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import dev.align4j.train.Loop;
import dev.align4j.train.Session;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Offline preference optimization with the DPO family, and MODPO. Reference log-probs are computed once, before
 * training, so no reference model is held in memory while the policy trains. Each micro-batch: chosen and
 * rejected go through the policy as one batch of 2B rows → the configured losses (Σ w_k·L_k, + α·NLL for RPO)
 * → the loop's backward, clip and AdamW. Logs {@code rewards/chosen}, {@code rewards/margins}, {@code logps/rejected}, ….
 * Shapes: B pairs per micro-batch.
 */
public final class DpoTrainer {
    private DpoTrainer() {}

    public record Result(long steps, double finalLoss, double finalAccuracy, Path lastCheckpoint) {}

    /** Summed and length-normalised log-probs of the chosen and rejected sides, one value per pair. */
    record Sides(Tensor sumC, Tensor sumR, Tensor meanC, Tensor meanR) {
        static Sides of(Scoring.Scores s, int b) {          // rows 0..B−1 chosen, B..2B−1 rejected
            return new Sides(s.sum().narrow(0, 0, b), s.sum().narrow(0, b, b), s.mean().narrow(0, 0, b), s.mean().narrow(0, b, b));
        }
    }

    /**
     * MODPO's data (Zhou et al. 2024): pairs oriented by the labelled objective k, each with the weighted margin
     * w_{−k}ᵀ(r_{−k}(y_c) − r_{−k}(y_r)) of the other objectives, and k's weight w_k.
     */
    public record Modpo(List<PreferencePair> pairs, double[] margins, double weight) {
        /** Orients scored pairs by objective {@code k} (ties on k carry no label and are dropped) and computes the margins. */
        public static Modpo of(List<PreferencePair.Scored> rows, List<Double> weights, int k, Path source) {
            int m = rows.isEmpty() ? 0 : rows.get(0).chosenScores().length;
            UserError.check(weights.size() == m, "--modpo-weights has %s values but the data has %s objectives", weights.size(), m);
            UserError.check(k >= 0 && k < m, "--modpo-objective must be in [0, %s): %s", m, k);
            UserError.check(weights.get(k) > 0, "--modpo-weights: the weight of objective %s must be > 0", k);
            List<PreferencePair> pairs = new ArrayList<>();
            List<Double> margins = new ArrayList<>();
            for (PreferencePair.Scored sp : rows) {
                double[] c = sp.chosenScores(), r = sp.rejectedScores();
                if (c.length != m) throw new UserError(source + ": every row needs " + m + " scores");
                if (c[k] == r[k]) continue;                                   // a tie on objective k: no label for it
                boolean swap = c[k] < r[k];                                   // orient the pair by objective k
                PreferencePair p = sp.pair();
                pairs.add(swap ? new PreferencePair(p.prompt(), p.rejected(), p.chosen()) : p);
                double margin = 0;
                for (int j = 0; j < m; j++) if (j != k) margin += weights.get(j) * (swap ? r[j] - c[j] : c[j] - r[j]);
                margins.add(margin);
            }
            if (pairs.isEmpty()) throw new UserError(source + ": no pair differs on objective " + k);
            return new Modpo(pairs, margins.stream().mapToDouble(Double::doubleValue).toArray(), weights.get(k));
        }
    }

    public static Result train(LlamaModel policy, LlamaModel reference, List<PreferencePair> data, DpoConfig cfg, Session io) {
        return train(policy, reference, data, null, cfg, io);
    }

    /** MODPO: the pairs' margins and the labelled objective's weight replace the configured losses (see {@link PreferenceLoss#modpo}). */
    public static Result train(LlamaModel policy, LlamaModel reference, Modpo modpo, DpoConfig cfg, Session io) {
        return train(policy, reference, modpo.pairs(), modpo, cfg, io);
    }

    private static Result train(LlamaModel policy, LlamaModel reference, List<PreferencePair> data, Modpo modpo, DpoConfig cfg, Session io) {
        List<Float> marginRows = new ArrayList<>();
        List<Tokenized[]> rows = new ArrayList<>();
        int dropped = 0;
        for (int i = 0; i < data.size(); i++) {
            PreferencePair p = data.get(i);
            Tokenized c = cfg.batching().tokenize(io.tok(), p.prompt(), p.chosen()), r = cfg.batching().tokenize(io.tok(), p.prompt(), p.rejected());
            if (c.completion().length == 0 || r.completion().length == 0) { dropped++; continue; }
            rows.add(new Tokenized[]{c, r});
            if (modpo != null) marginRows.add((float) modpo.margins()[i]);
        }
        if (dropped > 0) System.err.println("dpo: " + dropped + " pairs with an empty completion after truncation were skipped");
        if (rows.isEmpty()) throw new UserError("dpo: no trainable pairs");
        boolean referenceFree = modpo == null && cfg.referenceFree();
        if (!referenceFree && reference == null) throw new IllegalArgumentException("these losses need a reference model");
        float[][] ref = referenceFree ? new float[4][rows.size()] : referenceLogps(reference, rows, io.tok().padId, Math.max(cfg.batching().batchSize(), 32));
        Batches order = new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed());

        var recipe = new Loop.Recipe() {
            double bcoDelta;                      // BCO's running mean reward δ, updated after each BCO loss
            long bcoCount;
            double lastLoss = Double.NaN, lastAccuracy = Double.NaN;

            @Override
            public void step(Loop.Step s) {
                lastLoss = s.update((micro, m) -> {
                    int[] idx = Batching.rows(order, s.step, micro, cfg.run());
                    int b = idx.length;
                    Scoring.Scores scores = Scoring.score(policy, Batching.pairs(rows, idx, io.tok().padId), false);
                    Sides pol = Sides.of(scores, b), refs = new Sides(gather(ref[0], idx), gather(ref[1], idx), gather(ref[2], idx), gather(ref[3], idx));
                    Tensor loss = null;
                    PreferenceLoss.Out first = null;
                    if (modpo != null) {
                        float[] mg = new float[b];
                        for (int i = 0; i < b; i++) mg[i] = marginRows.get(idx[i]);
                        first = PreferenceLoss.modpo(pol.sumC(), pol.sumR(), refs.sumC(), refs.sumR(), Torch.floats(mg, b), cfg.beta(), modpo.weight());
                        loss = first.losses().mean();
                    }
                    for (int k = 0; k < cfg.losses().size() && modpo == null; k++) {
                        PreferenceLoss.Out o = variant(cfg.losses().get(k), pol, refs, cfg, bcoDelta);
                        Tensor lk = o.losses().mean().mul(Torch.s(cfg.weight(k)));
                        loss = loss == null ? lk : loss.add(lk);
                        if (first == null) first = o;
                        if (cfg.losses().get(k) == PreferenceLoss.Variant.BCO_PAIR) {
                            double mean = Torch.item(o.chosenRewards().add(o.rejectedRewards()).mean()) / 2;
                            bcoDelta += (mean - bcoDelta) / ++bcoCount;
                        }
                    }
                    if (cfg.rpoAlpha() > 0) {
                        Tensor nll = SftLoss.nll(scores.tokenLogps().narrow(0, 0, b), scores.mask().narrow(0, 0, b));
                        loss = loss.add(nll.mul(Torch.s(cfg.rpoAlpha())));
                        m.put("nll_loss", Torch.item(nll));
                    }
                    Pairs.rewardMetrics(m, first.chosenRewards(), first.rejectedRewards(), pol.sumC(), pol.sumR());
                    return loss;
                });
                s.metrics.put("epoch", order.epoch(s.step * cfg.run().gradAccum()));
                lastAccuracy = s.metrics.get("rewards/accuracies");
            }

            @Override
            public void save(ObjectNode state, Path dir) {
                state.put("bco_delta", bcoDelta);
                state.put("bco_count", bcoCount);
            }

            @Override
            public void restore(JsonNode state, Path checkpoint) {
                bcoDelta = state.path("bco_delta").asDouble(0);
                bcoCount = state.path("bco_count").asLong(0);
            }
        };
        Path last = Loop.run(io, new Loop.Plan("dpo", cfg.run(), cfg.toJson(), List.of(Loop.Group.of(policy, cfg.run().lr())), 1, 10), recipe);
        return new Result(cfg.run().steps(), recipe.lastLoss, recipe.lastAccuracy, last);
    }

    /**
     * One DPO-family loss over the pairs' log-probs. The reference-free family (SimPO, CPO, ORPO) reports the implicit
     * rewards β · mean log-prob (SimPO's reward); length-normalised variants compare mean log-probs, the rest sums.
     */
    static PreferenceLoss.Out variant(PreferenceLoss.Variant v, Sides pol, Sides ref, DpoConfig cfg, double bcoDelta) {
        if (v.referenceFree()) {
            Tensor nllC = pol.meanC().neg();                                   // (B) token-mean NLL of chosen
            Tensor losses = switch (v) {
                case SIMPO -> PreferenceLoss.simpo(pol.meanC(), pol.meanR(), cfg.beta(), cfg.simpoGamma());
                case CPO -> PreferenceLoss.cpo(pol.sumC(), pol.sumR(), nllC, cfg.beta());
                default -> PreferenceLoss.orpo(pol.meanC(), pol.meanR(), nllC, cfg.beta())[0];
            };
            return new PreferenceLoss.Out(losses, pol.meanC().detach().mul(Torch.s(cfg.beta())), pol.meanR().detach().mul(Torch.s(cfg.beta())));
        }
        boolean norm = v.lengthNormalized();
        return PreferenceLoss.compute(v, norm ? pol.meanC() : pol.sumC(), norm ? pol.meanR() : pol.sumR(),
                norm ? ref.meanC() : ref.sumC(), norm ? ref.meanR() : ref.sumR(), cfg.beta(), cfg.labelSmoothing(), bcoDelta);
    }

    private static Tensor gather(float[] values, int[] idx) {
        float[] out = new float[idx.length];
        for (int i = 0; i < idx.length; i++) out[i] = values[idx[i]];
        return Torch.floats(out, out.length);
    }

    /** Reference log-probs of every pair, computed once without gradients: {chosen sums, rejected sums, chosen means, rejected means}. */
    static float[][] referenceLogps(LlamaModel reference, List<Tokenized[]> rows, int padId, int batchSize) {
        int n = rows.size();
        float[][] out = new float[4][n];
        Progress progress = new Progress("dpo: reference log-probs", n);
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < n; i += batchSize) {
                int b = Math.min(batchSize, n - i);
                int[] idx = new int[b];
                for (int j = 0; j < b; j++) idx[j] = i + j;
                try (PointerScope scope = new PointerScope()) {
                    Scoring.Scores s = Scoring.score(reference, Batching.pairs(rows, idx, padId), false);
                    float[] sum = Torch.toFloats(s.sum()), mean = Torch.toFloats(s.mean());
                    for (int j = 0; j < b; j++) {
                        out[0][i + j] = sum[j]; out[1][i + j] = sum[b + j]; out[2][i + j] = mean[j]; out[3][i + j] = mean[b + j];
                    }
                }
                progress.update(i + b);
            }
        }
        return out;
    }
}
