package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Progress;
import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.StepPair;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.loss.SftLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
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
 * Offline preference optimization with the DPO family, and MODPO. Reference log-probs are computed once, before
 * training, so no reference model is held in memory while the policy trains. Each micro-batch: chosen and
 * rejected go through the policy as one batch of 2B rows → the configured losses (Σ w_k·L_k, + α·NLL for RPO)
 * → the loop's backward, clip and AdamW. Logs {@code rewards/chosen}, {@code rewards/margins}, {@code logps/rejected}, ….
 * Shapes: B pairs per micro-batch.
 */
public final class Dpo {
    private Dpo() {}

    /**
     * Offline preference optimization (DPO family) settings; defaults in {@link #DEFAULTS}.
     *
     * @param losses         one or more variants, combined as Σ w_k · L_k
     * @param lossWeights    one weight per loss (empty = all 1)
     * @param beta           temperature β: larger keeps the policy closer to the reference (ORPO's λ)
     * @param labelSmoothing ε for cDPO / robust DPO / EXO (0 = off)
     * @param rpoAlpha       weight of the NLL-on-chosen term (RPO); 0 = off
     * @param simpoGamma     SimPO's target margin γ
     * @param apoAlpha       Step-APO's weight α of the pair's advantage gap (step pairs only)
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, List<PreferenceLoss.Variant> losses,
                            List<Double> lossWeights, double beta, double labelSmoothing, double rpoAlpha, double simpoGamma, double apoAlpha) {
        public Config {
            losses = List.copyOf(losses);
            lossWeights = lossWeights == null ? List.of() : List.copyOf(lossWeights);
            UserError.check(!losses.isEmpty(), "--loss needs at least one variant");
            UserError.check(lossWeights.isEmpty() || lossWeights.size() == losses.size(),
                    "--loss-weights has %s values but --loss names %s losses", lossWeights.size(), losses.size());
            UserError.check(beta > 0, "beta must be > 0: %s", beta);
            UserError.check(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5): %s", labelSmoothing);
            UserError.check(rpoAlpha >= 0, "rpo-alpha must be >= 0: %s", rpoAlpha);
            UserError.check(apoAlpha >= 0, "apo-alpha must be >= 0: %s", apoAlpha);
        }

        /** True when a loss needs each pair's advantages (Step-APO). */
        public boolean needsAdvantages() { return losses.stream().anyMatch(PreferenceLoss.Variant::needsAdvantages); }

        public double weight(int k) { return lossWeights.isEmpty() ? 1.0 : lossWeights.get(k); }

        /** True when no loss needs reference log-probs (SimPO, CPO, ORPO only). */
        public boolean referenceFree() { return losses.stream().allMatch(PreferenceLoss.Variant::referenceFree); }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 300, "lr", 5e-5, "weightDecay", 0.0, "warmupSteps", 20, "batchSize", 32,
                "losses", List.of(PreferenceLoss.Variant.SIGMOID), "lossWeights", List.of(), "beta", 0.1, "labelSmoothing", 0.0, "rpoAlpha", 0.0, "simpoGamma", 0.5, "apoAlpha", 1.0);
    }

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

    public static Result train(LlamaModel policy, LlamaModel reference, List<PreferencePair> data, Config cfg, Session io) {
        return train(policy, reference, data, null, cfg, io);
    }

    /** MODPO: the pairs' margins and the labelled objective's weight replace the configured losses (see {@link PreferenceLoss#modpo}). */
    public static Result train(LlamaModel policy, LlamaModel reference, Modpo modpo, Config cfg, Session io) {
        return train(policy, reference, modpo.pairs(), modpo, cfg, io);
    }

    /**
     * Step-level DPO (MCTS-DPO, Step-APO) on step pairs: each side is tokenized as written, EOS only after a step that ended
     * its completion ({@link StepPair#chosenFinal()}); Step-APO reads each pair's advantage gap A(s, a_c) − A(s, a_r).
     */
    public static Result trainSteps(LlamaModel policy, LlamaModel reference, List<StepPair> data, Config cfg, Session io) {
        List<Tokenized[]> rows = new ArrayList<>();
        List<Float> gaps = new ArrayList<>();
        int dropped = 0;
        for (StepPair p : data) {
            Tokenized[] t = tokenize(io.tok(), cfg.batching(), p);
            if (t[0].completion().length == 0 || t[1].completion().length == 0) { dropped++; continue; }
            double gap = p.chosenAdvantage() - p.rejectedAdvantage();
            if (cfg.needsAdvantages() && !Double.isFinite(gap))
                throw new UserError("dpo: --loss step_apo needs each pair's chosen_advantage and rejected_advantage (as ./align4j mcts writes them)");
            rows.add(t);
            gaps.add((float) gap);
        }
        return train(policy, reference, rows, dropped, List.of(), 0, cfg.needsAdvantages() ? gaps : List.of(), cfg, io);
    }

    /** A step pair's two sides as the trainer scores them: EOS after a side only when that step ended its completion. */
    public static Tokenized[] tokenize(dev.align4j.model.Tokenizer tok, Batching b, StepPair p) {
        return new Tokenized[]{b.tokenize(tok, p.prompt(), p.chosen(), p.chosenFinal()), b.tokenize(tok, p.prompt(), p.rejected(), p.rejectedFinal())};
    }

    private static Result train(LlamaModel policy, LlamaModel reference, List<PreferencePair> data, Modpo modpo, Config cfg, Session io) {
        if (cfg.needsAdvantages() && modpo == null)
            throw new UserError("dpo: --loss step_apo trains on step pairs with advantages (rows with chosen_final and chosen_advantage, as ./align4j mcts writes them)");
        List<Tokenized[]> rows = new ArrayList<>();
        List<Float> margins = new ArrayList<>();
        int dropped = 0;
        for (int i = 0; i < data.size(); i++) {
            PreferencePair p = data.get(i);
            Tokenized c = cfg.batching().tokenize(io.tok(), p.prompt(), p.chosen()), r = cfg.batching().tokenize(io.tok(), p.prompt(), p.rejected());
            if (c.completion().length == 0 || r.completion().length == 0) { dropped++; continue; }
            rows.add(new Tokenized[]{c, r});
            if (modpo != null) margins.add((float) modpo.margins()[i]);
        }
        return train(policy, reference, rows, dropped, margins, modpo == null ? 0 : modpo.weight(), List.of(), cfg, io);
    }

    /** @param gaps Step-APO's per-pair advantage gaps (empty: no loss needs them) */
    private static Result train(LlamaModel policy, LlamaModel reference, List<Tokenized[]> rows, int dropped, List<Float> margins, double modpoWeight,
                                List<Float> gaps, Config cfg, Session io) {
        if (dropped > 0) System.err.println("dpo: " + dropped + " pairs with an empty completion after truncation were skipped");
        if (rows.isEmpty()) throw new UserError("dpo: no trainable pairs");
        boolean referenceFree = margins.isEmpty() && cfg.referenceFree();
        if (!referenceFree && reference == null) throw new IllegalArgumentException("these losses need a reference model");
        float[][] ref = referenceFree ? new float[4][rows.size()] : referenceLogps(reference, rows, io.tok().padId, Math.max(cfg.batching().batchSize(), 32));
        Recipe recipe = new Recipe(policy, rows, ref, margins, modpoWeight, gaps, cfg,
                new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed()), io.tok().padId, new RunningMean());
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("dpo", cfg.run(), cfg, policy, 10), recipe);
        return new Result(cfg.run().steps(), out.get("loss"), out.get("rewards/accuracies"), out.lastCheckpoint());
    }

    /** BCO's running mean reward δ (Jung et al. 2024): the mean of the batches' mean implicit rewards, carried through checkpoints. */
    private static final class RunningMean {
        double value;
        long count;

        void add(double x) { if (Double.isFinite(x)) value += (x - value) / ++count; }   // a non-finite batch (skipped by --on-nan skip) leaves it as it was
    }

    /**
     * One step: each micro-batch of B pairs goes through the policy as 2B rows; the loss is Σ w_k·L_k (or MODPO's when
     * {@code margins} is not empty) plus α·NLL of chosen for RPO.
     *
     * @param ref     precomputed reference log-probs: {chosen sums, rejected sums, chosen means, rejected means}
     * @param margins MODPO's per-pair margins (empty: the configured losses)
     * @param gaps    Step-APO's per-pair advantage gaps (empty unless a loss needs them)
     */
    private record Recipe(LlamaModel policy, List<Tokenized[]> rows, float[][] ref, List<Float> margins, double modpoWeight, List<Float> gaps, Config cfg,
                          Batches order, int padId, RunningMean bco) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            s.update((micro, m) -> loss(Batching.rows(order, s.step, micro, cfg.run()), m));
            s.metrics.put("epoch", order.epoch(s.step * cfg.run().gradAccum()));
        }

        Tensor loss(int[] idx, Map<String, Double> m) {
            int b = idx.length;
            Scoring.Scores scores = Scoring.score(policy, Batching.pairs(rows, idx, padId), false);
            Sides pol = Sides.of(scores, b), refs = new Sides(gather(ref[0], idx), gather(ref[1], idx), gather(ref[2], idx), gather(ref[3], idx));
            Tensor loss = null;
            PreferenceLoss.Out first = null;
            if (!margins.isEmpty()) {
                float[] mg = new float[b];
                for (int i = 0; i < b; i++) mg[i] = margins.get(idx[i]);
                first = PreferenceLoss.modpo(pol.sumC(), pol.sumR(), refs.sumC(), refs.sumR(), Torch.floats(mg, b), cfg.beta(), modpoWeight);
                loss = first.losses().mean();
            }
            if (margins.isEmpty() && cfg.losses().contains(PreferenceLoss.Variant.BCO_PAIR))    // fold this batch's mean reward in first (TRL v0.28)
                // the batch's mean implicit reward; under launch the mean over every rank's pairs (equal shards), as one process sees it
                bco.add(Distributed.get().mean(Torch.item(pol.sumC().sub(refs.sumC()).add(pol.sumR().sub(refs.sumR())).mean()) * cfg.beta() / 2));
            Tensor gap = null;
            if (!gaps.isEmpty()) {
                float[] g = new float[b];
                for (int i = 0; i < b; i++) g[i] = gaps.get(idx[i]);
                gap = Torch.floats(g, b);                                                        // (B) A(s, a_c) − A(s, a_r)
            }
            for (int k = 0; k < cfg.losses().size() && margins.isEmpty(); k++) {
                PreferenceLoss.Out o = variant(cfg.losses().get(k), pol, refs, cfg, bco.value, scores, b, gap);
                Tensor lk = o.losses().mean().mul(Torch.s(cfg.weight(k)));
                loss = loss == null ? lk : loss.add(lk);
                if (first == null) first = o;
            }
            if (cfg.rpoAlpha() > 0) {
                Tensor nll = SftLoss.nll(scores.tokenLogps().narrow(0, 0, b), scores.mask().narrow(0, 0, b));
                loss = loss.add(nll.mul(Torch.s(cfg.rpoAlpha())));
                m.put("nll_loss", Torch.item(nll));
            }
            Pairs.rewardMetrics(m, first.chosenRewards(), first.rejectedRewards(), pol.sumC(), pol.sumR());
            return loss;
        }

        @Override
        public void save(ObjectNode state, Path dir) {
            state.put("bco_delta", bco.value);
            state.put("bco_count", bco.count);
        }

        @Override
        public void restore(JsonNode state, Path checkpoint) {
            bco.value = state.path("bco_delta").asDouble(0);
            bco.count = state.path("bco_count").asLong(0);
        }
    }

    /**
     * One DPO-family loss over the pairs' log-probs (B). Length-normalised variants compare mean log-probs, the rest sums.
     * Implicit rewards are reported as TRL reports them: β·(summed log-ratio) for every variant with a reference, also
     * the length-normalised ones, and β·(mean log-prob) for SimPO, CPO and ORPO. CPO's NLL is one cross-entropy over every
     * chosen completion token of the batch; ORPO's over every chosen token, prompt included (TRL's CPO/ORPO trainers).
     */
    static PreferenceLoss.Out variant(PreferenceLoss.Variant v, Sides pol, Sides ref, Config cfg, double bcoDelta, Scoring.Scores scores, int b, Tensor gap) {
        double beta = cfg.beta();
        if (v.needsAdvantages()) return PreferenceLoss.stepApo(pol.sumC(), pol.sumR(), ref.sumC(), ref.sumR(), gap, beta, cfg.apoAlpha(), cfg.labelSmoothing());
        if (v.referenceFree()) {
            Tensor losses = switch (v) {
                case SIMPO -> PreferenceLoss.simpo(pol.meanC(), pol.meanR(), beta, cfg.simpoGamma());
                case SFT -> SftLoss.nll(scores.tokenLogps().narrow(0, 0, b), scores.mask().narrow(0, 0, b)).expand(b);
                case CPO -> PreferenceLoss.cpo(pol.sumC(), pol.sumR(), SftLoss.nll(scores.tokenLogps().narrow(0, 0, b), scores.mask().narrow(0, 0, b)), beta);
                default -> PreferenceLoss.orpo(pol.meanC(), pol.meanR(), SftLoss.nll(scores.allLogps().narrow(0, 0, b), scores.allMask().narrow(0, 0, b)), beta)[0];
            };
            return new PreferenceLoss.Out(losses, pol.meanC().detach().mul(Torch.s(beta)), pol.meanR().detach().mul(Torch.s(beta)));
        }
        if (!v.lengthNormalized())
            return PreferenceLoss.compute(v, pol.sumC(), pol.sumR(), ref.sumC(), ref.sumR(), beta, cfg.labelSmoothing(), bcoDelta);
        PreferenceLoss.Out o = PreferenceLoss.compute(v, pol.meanC(), pol.meanR(), ref.meanC(), ref.meanR(), beta, cfg.labelSmoothing(), bcoDelta);
        return new PreferenceLoss.Out(o.losses(), pol.sumC().sub(ref.sumC()).detach().mul(Torch.s(beta)), pol.sumR().sub(ref.sumR()).detach().mul(Torch.s(beta)));
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
