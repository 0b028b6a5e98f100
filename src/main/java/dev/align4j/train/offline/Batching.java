package dev.align4j.train.offline;

import dev.align4j.core.Configs;
import dev.align4j.core.Distributed;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.Tokenized;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.RunConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
        return tokenize(tok, prompt, completion, true);
    }

    /**
     * The same, with EOS appended only when {@code eos}: a step that does not end its completion (a step-level pair's
     * intermediate step) is trained as written, without an end of sequence.
     */
    public Tokenized tokenize(Tokenizer tok, String prompt, String completion, boolean eos) {
        return Tokenized.of(tok, prompt, completion, maxLength, truncation, eos);
    }

    /** Token ids and which of them the loss covers. */
    public record Masked(int[] ids, boolean[] trained) {
        static Masked of(Tokenized t) {
            int[] ids = java.util.Arrays.copyOf(t.prompt(), t.length());
            System.arraycopy(t.completion(), 0, ids, t.prompt().length, t.completion().length);
            boolean[] m = new boolean[ids.length];
            java.util.Arrays.fill(m, t.prompt().length, ids.length, true);
            return new Masked(ids, m);
        }

        boolean anyTrained() { for (boolean b : trained) if (b) return true; return false; }
    }

    /**
     * An SFT example as ids and a loss mask: prompt + completion as {@link #tokenize}; a multi-turn one segment by segment
     * (BOS before the first, EOS after the last if it is trained and lacks one); over {@code maxLength}, {@code truncation}
     * says which end survives.
     */
    public Masked tokenize(Tokenizer tok, dev.align4j.data.SftExample e) {
        if (e.turns() == null) return Masked.of(tokenize(tok, e.prompt(), e.completion()));
        List<int[]> parts = new ArrayList<>();
        List<Boolean> trained = new ArrayList<>();
        for (int i = 0; i < e.turns().size(); i++) {
            parts.add(tok.encode(e.turns().get(i).text(), i == 0));
            trained.add(e.turns().get(i).trained());
        }
        int n = parts.stream().mapToInt(p -> p.length).sum();
        boolean eos = trained.get(trained.size() - 1) && tok.eosIds.length > 0 && !(n > 0 && tok.isEos(lastOf(parts)));
        int[] ids = new int[n + (eos ? 1 : 0)];
        boolean[] mask = new boolean[ids.length];
        int k = 0;
        for (int i = 0; i < parts.size(); i++)
            for (int id : parts.get(i)) { mask[k] = trained.get(i); ids[k++] = id; }
        if (eos) { ids[k] = tok.eosIds[0]; mask[k] = true; }
        // over maxLength: KEEP_END keeps the last tokens (the latest turns, next to the final answer), KEEP_START the first,
        // as TRL's truncation_mode cuts a whole conversation
        int keep = Math.min(ids.length, maxLength), from = truncation == Tokenized.Truncation.KEEP_END ? ids.length - keep : 0;
        return new Masked(java.util.Arrays.copyOfRange(ids, from, from + keep), java.util.Arrays.copyOfRange(mask, from, from + keep));
    }

    private static int lastOf(List<int[]> parts) {
        for (int i = parts.size() - 1; i >= 0; i--) if (parts.get(i).length > 0) return parts.get(i)[parts.get(i).length - 1];
        return -1;
    }

    /** Rows as one right-padded batch whose loss mask is each row's {@code trained}. */
    static SeqBatch masked(List<Masked> rows, int[] idx, int padId) {
        List<int[]> ids = new ArrayList<>();
        List<boolean[]> masks = new ArrayList<>();
        for (int i : idx) { ids.add(rows.get(i).ids()); masks.add(rows.get(i).trained()); }
        return SeqBatch.ofMasked(ids, masks, padId);
    }

    /**
     * Which rows micro-batch {@code micro} of step {@code step} (from 1) takes: the order is a function of the step, so resume is
     * exact. Under {@code ./align4j launch} the batch is the global one and each rank takes its contiguous share.
     */
    static int[] rows(Batches order, long step, int micro, RunConfig run) {
        return Distributed.get().shard(order.batch((step - 1) * run.gradAccum() + micro), "--batch-size");   // under launch: this rank's share
    }

    /** Row i's tokens at rows 0..B−1 and, for pairs, the second element at rows B..2B−1. */
    static SeqBatch pairs(List<Tokenized[]> rows, int[] idx, int padId) {
        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
        for (int side = 0; side < 2; side++)
            for (int i : idx) { prompts.add(rows.get(i)[side].prompt()); comps.add(rows.get(i)[side].completion()); }
        return SeqBatch.of(prompts, comps, padId);
    }

    /** Defaults shared by offline configs: the run settings' and batching's. */
    public static final Map<String, Object> COMMON = Configs.plus(RunConfig.COMMON, "maxLength", 512, "truncation", Tokenized.Truncation.KEEP_END);
}
