package dev.align4j.reward;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.StepwiseExample;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A process reward model (*ForTokenClassification, trained by {@code ./align4j prm}) as a reward: the completion is split
 * into steps at the model's separator and tokenized as in training ({@link StepwiseExample#tokenize}), one forward gives
 * every step's P(correct) = σ(z) at its last token, and the per-step probabilities are aggregated into one score per
 * completion ({@link Aggregate}). As a {@link RewardFunction} it scores whole completions (best-of-N, rft, every online
 * trainer through {@code --reward prm}); as a {@link PrefixScorer} the steps written so far (search, guided decoding).
 * Never takes gradients.
 */
public final class ProcessRewards implements AutoCloseable {
    /**
     * How step probabilities p_1..p_K become one score. {@code MIN}: the weakest step (Math-Shepherd's choice; a solution
     * is as good as its worst step); {@code PRODUCT}: Π p_k, the probability that every step is right if the steps' errors
     * were independent (Lightman et al. 2023); {@code LAST}: p_K, the model's judgement with the whole solution in view;
     * {@code MEAN}: (1/K) Σ p_k. A completion without a scored step gets 0.
     */
    public enum Aggregate {
        MIN, LAST, PRODUCT, MEAN;

        public double apply(double[] p) {
            if (p.length == 0) return 0.0;
            return switch (this) {
                case MIN -> { double m = 1; for (double x : p) m = Math.min(m, x); yield m; }
                case LAST -> p[p.length - 1];
                case PRODUCT -> { double m = 1; for (double x : p) m *= x; yield m; }
                case MEAN -> { double m = 0; for (double x : p) m += x; yield m / p.length; }
            };
        }

        public static Aggregate parse(String s) {
            for (Aggregate a : values()) if (a.name().equalsIgnoreCase(s.trim())) return a;
            throw new UserError("--prm-aggregate " + s + ": expected min, last, product or mean");
        }
    }

    private final LlamaModel prm;
    private final Tokenizer tok;
    private final String separator;
    private final int batchSize, maxLength;
    private final boolean owned;
    private boolean closed;

    /**
     * @param separator the step separator the model was trained with
     * @param maxLength longest prompt + steps in tokens; steps past it are not scored
     */
    public ProcessRewards(LlamaModel prm, Tokenizer tok, String separator, int batchSize, int maxLength) {
        this(prm, tok, separator, batchSize, maxLength, false);
    }

    private ProcessRewards(LlamaModel prm, Tokenizer tok, String separator, int batchSize, int maxLength, boolean owned) {
        if (!prm.config.tokenClassification())
            throw new UserError("a process reward model must be a *ForTokenClassification, not " + prm.config.architecture());
        if (prm.config.numLabels() > 2)
            throw new UserError("a process reward model has 1 label (sigmoid) or 2 (class 1 = correct); this one has " + prm.config.numLabels());
        this.prm = prm;
        this.tok = tok;
        this.separator = separator;
        this.batchSize = batchSize;
        this.maxLength = maxLength;
        this.owned = owned;
    }

    /** Loads the model in {@code dir} and its step separator ({@link StepwiseExample#separatorOf}); closing the result frees it. */
    public static ProcessRewards load(Path dir, ScalarType dtype) {
        HfModel.Loaded l = HfModel.load(dir, dtype);
        if (!l.model().config.tokenClassification()) {
            String arch = l.model().config.architecture();
            l.close();
            throw new UserError(dir + ": --prm-model needs a process reward model (*ForTokenClassification, from ./align4j prm), not " + arch);
        }
        return new ProcessRewards(l.model(), l.tokenizer(), StepwiseExample.separatorOf(dir), 64, Math.min(1024, l.model().config.maxPositionEmbeddings()), true);
    }

    public String separator() { return separator; }

    /** P(correct) of each step of each (prompt, completion) row, in order; steps cut off by the length limit are left out. */
    public double[][] stepProbabilities(List<String> prompts, List<String> completions) {
        double[][] out = new double[prompts.size()][];
        for (int from = 0; from < prompts.size(); from += batchSize) {
            int to = Math.min(prompts.size(), from + batchSize), b = to - from, t = 1;
            List<StepwiseExample.Tokens> rows = new ArrayList<>(b);
            for (int i = from; i < to; i++) {
                StepwiseExample.Tokens r = StepwiseExample.tokenize(tok, prompts.get(i), StepwiseExample.split(completions.get(i), separator), separator, maxLength);
                rows.add(r);
                t = Math.max(t, r.ids().length);
            }
            long[] ids = new long[b * t];
            java.util.Arrays.fill(ids, tok.padId);
            for (int r = 0; r < b; r++) for (int j = 0; j < rows.get(r).ids().length; j++) ids[r * t + j] = rows.get(r).ids()[j];
            float[] p;
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                Tensor z = Scoring.stepLogits(prm, Torch.longs(ids, b, t));     // (B, T), right padding
                p = Torch.toFloats(torch.sigmoid(z).contiguous());
            }
            for (int r = 0; r < b; r++) {
                StepwiseExample.Tokens row = rows.get(r);
                double[] q = new double[row.labelled()];
                int k = 0;
                for (int e : row.stepEnds()) if (e >= 0) q[k++] = p[r * t + e];
                out[from + r] = q;
            }
        }
        return out;
    }

    /** Aggregated scores of the (prompt, completion) rows. */
    public double[] scores(List<String> prompts, List<String> completions, Aggregate how) {
        double[][] p = stepProbabilities(prompts, completions);
        double[] out = new double[p.length];
        for (int i = 0; i < p.length; i++) out[i] = how.apply(p[i]);
        return out;
    }

    /** As a reward function named {@code prm}: each sample's completion, aggregated. Closing it closes this scorer. */
    public RewardFunction reward(Aggregate how) {
        return new Reward(how);
    }

    /** As a prefix scorer named {@code prm}: the steps written so far (an unfinished last step is scored as if it ended there). */
    public PrefixScorer prefixScorer(Aggregate how) {
        ProcessRewards self = this;
        return new PrefixScorer() {
            public String name() { return "prm"; }

            public double[] score(List<String> prompts, List<String> partials) { return self.scores(prompts, partials, how); }

            @Override public void close() { self.close(); }
        };
    }

    private final class Reward implements RewardFunction, AutoCloseable {
        final Aggregate how;

        Reward(Aggregate how) { this.how = how; }

        public String name() { return "prm"; }

        public double[] score(List<Sample> samples) {
            List<String> p = new ArrayList<>(samples.size()), c = new ArrayList<>(samples.size());
            for (Sample s : samples) { p.add(s.prompt()); c.add(s.completion()); }
            return scores(p, c, how);
        }

        @Override public void close() { ProcessRewards.this.close(); }
    }

    /** Frees the model when {@link #load} made it. */
    @Override
    public synchronized void close() {
        if (owned && !closed) {
            closed = true;
            prm.close();
            tok.close();
        }
    }
}
