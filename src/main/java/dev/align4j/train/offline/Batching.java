package dev.align4j.train.offline;

import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.Tokenized;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.RunConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * How an offline method batches its dataset: rows per micro-batch, the longest prompt + completion in tokens, and
 * which end of a too-long prompt survives. Shared by SFT, the DPO family, KTO, listwise and reward-model training.
 *
 * @param batchSize  rows (pairs, lists) per micro-batch
 * @param maxLength  longest prompt + completion in tokens; the prompt is truncated first, then the completion's end
 * @param truncation which end of a long prompt survives (TRL's {@code truncation_mode})
 */
public record Batching(int batchSize, int maxLength, Tokenized.Truncation truncation) {
    public Batching {
        truncation = truncation == null ? Tokenized.Truncation.KEEP_END : truncation;
        UserError.check(batchSize >= 1, "batch-size must be >= 1: %s", batchSize);
        UserError.check(maxLength >= 2, "max-length must be >= 2: %s", maxLength);
    }

    /** Tokenizes one prompt + completion under these limits (the completion ends with EOS). */
    public Tokenized tokenize(Tokenizer tok, String prompt, String completion) {
        return Tokenized.of(tok, prompt, completion, maxLength, truncation, true);
    }

    /** Which rows micro-batch {@code micro} of step {@code step} (from 1) takes: the order is a function of the step, so resume is exact. */
    static int[] rows(Batches order, long step, int micro, RunConfig run) {
        return order.batch((step - 1) * run.gradAccum() + micro);
    }

    /** Row i's tokens at rows 0..B−1 and, for pairs, the second element at rows B..2B−1. */
    static SeqBatch pairs(List<Tokenized[]> rows, int[] idx, int padId) {
        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
        for (int side = 0; side < 2; side++)
            for (int i : idx) { prompts.add(rows.get(i)[side].prompt()); comps.add(rows.get(i)[side].completion()); }
        return SeqBatch.of(prompts, comps, padId);
    }

    /** The builder half shared by offline configs: run settings plus batching. */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<B extends Builder<B>> extends RunConfig.Builder<B> {
        private int batchSize, maxLength = 512;
        private Tokenized.Truncation truncation = Tokenized.Truncation.KEEP_END;

        protected Builder(int steps, double lr, double weightDecay, int warmupSteps, int batchSize) {
            super(steps, lr, weightDecay, warmupSteps);
            this.batchSize = batchSize;
        }

        public B batchSize(int v) { batchSize = v; return (B) this; }
        public B maxLength(int v) { maxLength = v; return (B) this; }
        public B truncation(Tokenized.Truncation v) { truncation = v; return (B) this; }

        protected Batching batching() { return new Batching(batchSize, maxLength, truncation); }
    }
}
