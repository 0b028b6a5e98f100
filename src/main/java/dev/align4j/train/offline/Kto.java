package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.Tokenized;
import dev.align4j.data.UnpairedExample;
import dev.align4j.loss.KtoLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * KTO from unpaired thumbs-up / thumbs-down feedback. Each micro-batch scores the batch's (x_i, y_i) and the
 * mismatched (x_i, y_{i+1}) with the policy; the mismatched log-ratios give the reference point z (the KL
 * estimate, as in the paper and TRL). Reference log-probs come from the reference model inside the step, without
 * gradients; the reference never trains. Shapes: B examples per micro-batch.
 */
public final class Kto {
    private Kto() {}

    /**
     * KTO settings; defaults in {@link #DEFAULTS}.
     *
     * @param beta              temperature β
     * @param desirableWeight   λ_D, weight of thumbs-up examples
     * @param undesirableWeight λ_U, weight of thumbs-down examples (the paper suggests λ_D·n_D / (λ_U·n_U) ∈ [1, 4/3])
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, double beta, double desirableWeight, double undesirableWeight,
                         KtoLoss.Variant loss) {
        public Config {
            UserError.check(beta > 0, "beta must be > 0: %s", beta);
            UserError.check(desirableWeight > 0 && undesirableWeight > 0, "desirable-weight and undesirable-weight must be > 0");
            UserError.check(loss != KtoLoss.Variant.KTO || batching.batchSize() >= 2, "batch-size must be >= 2 (the KL estimate pairs rows): %s", batching.batchSize());
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 300, "lr", 5e-5, "weightDecay", 0.0, "warmupSteps", 20, "batchSize", 32,
                "beta", 0.1, "desirableWeight", 1.0, "undesirableWeight", 1.0, "loss", KtoLoss.Variant.KTO);
    }

    public record Result(double finalLoss, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, List<UnpairedExample> data, Config cfg, Session io) {
        List<Tokenized> rows = new ArrayList<>();
        List<Boolean> labels = new ArrayList<>();
        for (UnpairedExample e : data) {
            Tokenized t = cfg.batching().tokenize(io.tok(), e.prompt(), e.completion());
            if (t.completion().length > 0) { rows.add(t); labels.add(e.label()); }
        }
        if (rows.size() < 2) throw new UserError("kto: needs at least 2 usable rows");
        if (!labels.contains(true) || !labels.contains(false))
            System.err.println("kto: warning: all labels are " + labels.get(0) + "; KTO learns from both kinds");
        Batches order = new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed());

        Loop.Outcome out = Loop.run(io, Loop.Plan.of("kto", cfg.run(), cfg, policy, 10), s -> s.update((micro, m) ->
                loss(policy, reference, rows, labels, Batching.rows(order, s.step, micro, cfg.run()), cfg, io.tok().padId, m)));
        return new Result(out.get("loss"), out.lastCheckpoint());
    }

    /**
     * One micro-batch: the loss of rows {@code idx}. For KTO, row i's prompt with row i−1's completion (row 0 with the last; TRL's
     * pairing) gives the mismatched pairs whose mean log-ratio is the reference point z.
     */
    private static Tensor loss(LlamaModel policy, LlamaModel reference, List<Tokenized> rows, List<Boolean> labels, int[] idx, Config cfg, int padId,
                               Map<String, Double> m) {
        int b = idx.length;
        boolean kto = cfg.loss() == KtoLoss.Variant.KTO;
        // rows 0..B−1: (x_i, y_i); for KTO also rows B..2B−1: (x_i, y_{i−1 mod B}) for the reference point
        List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
        float[] desirable = new float[b];
        for (int i = 0; i < b; i++) { p.add(rows.get(idx[i]).prompt()); c.add(rows.get(idx[i]).completion()); desirable[i] = labels.get(idx[i]) ? 1 : 0; }
        for (int i = 0; i < b && kto; i++) { p.add(rows.get(idx[i]).prompt()); c.add(rows.get(idx[(i + b - 1) % b]).completion()); }
        SeqBatch batch = SeqBatch.of(p, c, padId);
        Tensor ref;
        try (NoGradGuard g = new NoGradGuard()) {
            ref = Scoring.score(reference, batch, false).sum();                          // (2B) or (B)
        }
        Tensor pol = Scoring.score(policy, batch, false).sum();
        Tensor logRatios = pol.narrow(0, 0, b).sub(ref.narrow(0, 0, b));               // (B)
        labelMetrics(m, Torch.toFloats(logRatios), Torch.toFloats(pol.narrow(0, 0, b)), desirable, cfg.beta());
        if (!kto) return KtoLoss.apoZeroUnpaired(logRatios, Torch.floats(desirable, b), cfg.beta(), cfg.desirableWeight(), cfg.undesirableWeight()).mean();
        // z over every rank's mismatched pairs under launch (TRL gathers the KL term across processes the same way)
        double[] zs = Distributed.get().sum(new double[]{Torch.item(pol.narrow(0, b, b).detach().sub(ref.narrow(0, b, b)).sum()), b});
        double z = Math.max(0, zs[0] / zs[1]);                                          // KtoLoss.referencePoint over the whole batch
        m.put("kl", z);
        return KtoLoss.losses(logRatios, Torch.floats(desirable, b), z, cfg.beta(), cfg.desirableWeight(), cfg.undesirableWeight()).mean();
    }

    /** {@code rewards/*} and {@code logps/*} by label: β·log-ratio and log-prob means of the desirable ("chosen") and undesirable rows. */
    private static void labelMetrics(Map<String, Double> m, float[] logRatios, float[] logps, float[] desirable, double beta) {
        double rewardUp = 0, rewardDown = 0, logpUp = 0, logpDown = 0;
        int up = 0, down = 0;
        for (int i = 0; i < desirable.length; i++) {
            if (desirable[i] == 1) { rewardUp += beta * logRatios[i]; logpUp += logps[i]; up++; }
            else { rewardDown += beta * logRatios[i]; logpDown += logps[i]; down++; }
        }
        if (up > 0) { m.put("rewards/chosen", rewardUp / up); m.put("logps/chosen", logpUp / up); }
        if (down > 0) { m.put("rewards/rejected", rewardDown / down); m.put("logps/rejected", logpDown / down); }
        if (up > 0 && down > 0) m.put("rewards/margins", rewardUp / up - rewardDown / down);
    }
}
