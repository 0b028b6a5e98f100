package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.SftExample;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.SftLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Supervised fine-tuning: negative log-likelihood of the completion tokens only. A recipe on {@link Loop}: each
 * micro-batch is scored by the model and its token-mean NLL backpropagated; the loop does the rest. Logs
 * {@code loss}, {@code epoch} and {@code tokens_per_s}.
 */
public final class Sft {
    private Sft() {}

    /** Supervised fine-tuning settings: the run settings and batching; defaults in {@link #DEFAULTS}. */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching) {
        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 1000, "lr", 1e-3, "weightDecay", 0.01, "warmupSteps", 50, "batchSize", 32);
    }

    public record Result(long steps, double finalLoss, Path lastCheckpoint) {}

    public static Result train(LlamaModel model, List<SftExample> data, Config cfg, Session io) {
        List<Batching.Masked> rows = new ArrayList<>();
        int dropped = 0;
        for (SftExample e : data) {
            Batching.Masked t = cfg.batching().tokenize(io.tok(), e);
            if (!t.anyTrained()) dropped++; else rows.add(t);
        }
        if (dropped > 0) System.err.println("sft: " + dropped + " rows left with an empty completion after truncation were skipped");
        if (rows.isEmpty()) throw new UserError("sft: no trainable rows (every completion is empty after truncation to max-length " + cfg.batching().maxLength() + ")");

        Batches order = new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed());
        long t0 = System.nanoTime();
        long[] tokens = {0};
        Distributed dist = Distributed.get();
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("sft", cfg.run(), cfg, model, 10), s -> {
            s.update((micro, m) -> {
                SeqBatch b = Batching.masked(rows, Batching.rows(order, s.step, micro, cfg.run()), io.tok().padId);
                tokens[0] += b.size() * b.length();
                Scoring.Scores sc = Scoring.score(model, b, false);
                Tensor nll = SftLoss.nll(sc.tokenLogps(), sc.mask());                      // mean NLL over completion tokens
                return dist.isDistributed() ? dist.asGlobalMean(nll, Torch.item(sc.mask().sum())) : nll;   // over every rank's tokens
            });
            s.metrics.put("epoch", order.epoch(s.step * cfg.run().gradAccum()));
            s.metrics.put("tokens_per_s", dist.world * tokens[0] / ((System.nanoTime() - t0) / 1e9));   // averaged over ranks: the job's sum
        });
        return new Result(cfg.run().steps(), out.get("loss"), out.lastCheckpoint());
    }
}
