package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.PairwiseInput;
import dev.align4j.data.PreferencePair;
import dev.align4j.loss.RewardLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Pairwise preference-model training (PairRM, Jiang et al. 2023): the decoder with a one-logit score head reads
 * (prompt, A, B) as one sequence ({@link PairwiseInput}) and P(A ≻ B) = σ(f(x, A, B) − f(x, B, A)), antisymmetric by
 * construction. Unlike a Bradley–Terry reward model it can represent intransitive preferences (A ≻ B ≻ C ≻ A). Each
 * annotated pair (c ≻ r) trains both orders at once:
 * <pre>  L = −log σ(f(c, r) − f(r, c))  =  −log P(c ≻ r)  =  −log(1 − P(r ≻ c))</pre>
 * the order (r, c) with its label flipped is the same term, so the model is trained symmetrically without a second pass.
 * Logs {@code loss}, {@code accuracy} (share of pairs with P(c ≻ r) &gt; ½) and {@code margin} (mean logit). A loop
 * recipe: no optimizer, scope or checkpoint code here.
 */
public final class PreferenceModel {
    private PreferenceModel() {}

    /** Preference-model settings; defaults in {@link #DEFAULTS} (those of the reward model). */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching) {
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 300, "lr", 1e-4, "weightDecay", 0.0, "warmupSteps", 20, "batchSize", 32);
    }

    public record Result(double finalLoss, double finalAccuracy, Path lastCheckpoint) {}

    public static Result train(LlamaModel pm, List<PreferencePair> data, Config cfg, Session io) {
        if (pm.config.isCausalLm() || pm.config.numLabels() != 1)
            throw new UserError("preference model needs one score head (num_labels = 1), got " + (pm.config.isCausalLm() ? "a causal LM" : pm.config.numLabels() + " heads"));
        List<PairwiseInput.Pair> rows = tokenize(io.tok(), data, cfg.batching());
        if (rows.isEmpty()) throw new UserError("preference-model: no trainable pairs");
        Batches order = new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed());
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("preference-model", cfg.run(), cfg, pm, 10), s -> s.update((micro, m) -> {
            int[] idx = Batching.rows(order, s.step, micro, cfg.run());
            List<PairwiseInput.Pair> batch = new ArrayList<>(idx.length);
            for (int i : idx) batch.add(rows.get(i));
            Tensor logit = PairwiseInput.logits(pm, batch, io.tok().padId);            // (B) f(c, r) − f(r, c)
            m.put("accuracy", Torch.item(logit.gt(Torch.s(0.0)).to(ScalarType.Float).mean()));
            m.put("margin", Torch.item(logit.mean()));
            return RewardLoss.bradleyTerry(logit, logit.mul(Torch.s(0.0)), null, 0);   // −log σ(f(c, r) − f(r, c) − 0)
        }));
        return new Result(out.get("loss"), out.get("accuracy"), out.lastCheckpoint());
    }

    /** Both orders of every pair, chosen first in {@code ab}; pairs left with an empty side after truncation are reported and skipped. */
    static List<PairwiseInput.Pair> tokenize(Tokenizer tok, List<PreferencePair> data, Batching batching) {
        List<PairwiseInput.Pair> rows = new ArrayList<>();
        int empty = 0;
        for (PreferencePair p : data) {
            PairwiseInput.Pair x = PairwiseInput.tokenize(tok, p.prompt(), p.chosen(), p.rejected(), batching.maxLength(), batching.truncation());
            if (x.empty()) { empty++; continue; }
            rows.add(x);
        }
        if (empty > 0) System.err.println("preference-model: " + empty + " pairs with nothing left after truncation were skipped");
        return rows;
    }
}
