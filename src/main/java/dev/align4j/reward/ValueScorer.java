package dev.align4j.reward;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.ValueLoss;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A value model as a {@link PrefixScorer}: V(prompt + partial completion) read at the sequence's last token, the
 * expected outcome return from there under the policy whose samples trained it ({@code ./align4j value-model}, or a PPO
 * critic saved in {@code checkpoint-N/critic/}). A categorical head's value is the expectation over its atoms
 * ({@code value_head.json}). Batched: one forward per chunk of rows, no gradients.
 */
public final class ValueScorer implements PrefixScorer {
    /** Rows per forward. */
    static final int CHUNK = 128;

    private final LlamaModel model;
    private final Tokenizer tok;
    private final ValueLoss.Head head;
    private final boolean owned;

    /** Scores with {@code model} (a score head of {@code head.labels()} outputs); the caller keeps ownership of the model. */
    public ValueScorer(LlamaModel model, Tokenizer tok, ValueLoss.Head head) { this(model, tok, head, false); }

    private ValueScorer(LlamaModel model, Tokenizer tok, ValueLoss.Head head, boolean owned) {
        if (model.config.numLabels() != head.labels())
            throw new UserError("a value model with " + model.config.numLabels() + " head outputs, but its value head (" + head.valueLoss().flag() + ") needs " + head.labels());
        this.model = model;
        this.tok = tok;
        this.head = head;
        this.owned = owned;
    }

    /** Loads a value model directory (config.json with num_labels, weights, tokenizer, value_head.json; without it a one-output head). */
    public static ValueScorer load(Path dir, ScalarType dtype) {
        if (HfModel.config(dir).isCausalLm())
            throw new UserError(dir + ": a causal LM, not a value model (expected a *ForSequenceClassification model, e.g. from ./align4j value-model or a PPO checkpoint's critic/)");
        ValueLoss.Head head = ValueLoss.Head.readFrom(dir);
        HfModel.Loaded l = HfModel.load(dir, dtype);
        if (l.model().config.numLabels() != head.labels()) {
            l.close();
            throw new UserError(dir + ": num_labels is " + l.model().config.numLabels() + " but " + ValueLoss.HEAD_FILE + " describes a " + head.valueLoss().flag()
                    + " head with " + head.labels() + " outputs");
        }
        return new ValueScorer(l.model(), l.tokenizer(), head, true);
    }

    public ValueLoss.Head head() { return head; }

    /** The vocabulary the model reads token ids of. */
    public int vocabSize() { return model.config.vocabSize(); }

    @Override public String name() { return "value"; }

    @Override
    public double[] score(List<String> prompts, List<String> partials) {
        List<int[]> p = new ArrayList<>(prompts.size()), c = new ArrayList<>(partials.size());
        for (int i = 0; i < prompts.size(); i++) {
            p.add(tok.encode(prompts.get(i), true));
            c.add(tok.encode(partials.get(i), false));
        }
        return values(p, c);
    }

    /** V at the last token of each prompt + partial, given as token ids (an empty partial: the prompt's last token). */
    public double[] values(List<int[]> prompts, List<int[]> partials) {
        double[] out = new double[prompts.size()];
        try (NoGradGuard g = new NoGradGuard()) {
            for (int from = 0; from < out.length; from += CHUNK) {
                int to = Math.min(out.length, from + CHUNK);
                try (PointerScope scope = new PointerScope()) {
                    SeqBatch sb = SeqBatch.of(prompts.subList(from, to), partials.subList(from, to), tok.padId);
                    double[] v = Torch.toDoubles(head.value(Scoring.lastTokenScores(model, sb)).to(ScalarType.Double));   // (B)
                    System.arraycopy(v, 0, out, from, v.length);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        if (owned) { model.close(); tok.close(); }
    }
}
