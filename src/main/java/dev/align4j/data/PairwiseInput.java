package dev.align4j.data;

import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How a pairwise preference model reads (prompt, A, B) — PairRM's input (Jiang et al. 2023, LLM-Blender's PairRanker):
 * one sequence holding the prompt and both responses, read by a decoder with a one-logit score head at its last token:
 * <pre>  prompt ⧺ "\n&lt;A&gt; " ⧺ A ⧺ "\n&lt;B&gt; " ⧺ B ⧺ EOS   →   f(x, A, B)</pre>
 * and P(A ≻ B | x) = σ(f(x, A, B) − f(x, B, A)): both orders of the pair go through the model, so P(A ≻ B) + P(B ≻ A)
 * = 1 exactly, whatever the weights. A score difference of one encoder, σ(r(x, A) − r(x, B)), would be antisymmetric too
 * but is a Bradley–Terry model, which cannot hold a cycle (A ≻ B ≻ C ≻ A); reading both responses at once can.
 * Over {@code maxLength} the prompt is cut first, then the end of B (as every trainer truncates).
 *
 * <p>Shared by the trainer ({@code train.offline.PreferenceModel}) and the judge ({@code reward.Judges}); the saved model
 * carries {@value #MARKER} so a judge can tell it from a Bradley–Terry reward model.
 */
public final class PairwiseInput {
    private PairwiseInput() {}

    public static final String A = "\n<A> ", B = "\n<B> ";
    /** The file beside config.json that marks a saved pairwise preference model and states how to read it. */
    public static final String MARKER = "pairwise_preference.json";

    /** The two orders of one pair: {@code ab} reads A first, {@code ba} B first. */
    public record Pair(Tokenized ab, Tokenized ba) {
        public boolean empty() { return ab.completion().length == 0 || ba.completion().length == 0; }
    }

    public static Pair tokenize(Tokenizer tok, String prompt, String a, String b, int maxLength, Tokenized.Truncation truncation) {
        return new Pair(Tokenized.of(tok, prompt, A + a + B + b, maxLength, truncation, true),
                Tokenized.of(tok, prompt, A + b + B + a, maxLength, truncation, true));
    }

    /** The logits f(x, A, B) − f(x, B, A) (B) of {@code pairs}: one forward of 2B rows. P(A ≻ B) = σ(logit). */
    public static Tensor logits(LlamaModel pm, List<Pair> pairs, int padId) {
        List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
        for (int side = 0; side < 2; side++)
            for (Pair x : pairs) {
                Tokenized t = side == 0 ? x.ab() : x.ba();
                p.add(t.prompt());
                c.add(t.completion());
            }
        Tensor s = Scoring.lastTokenScores(pm, SeqBatch.of(p, c, padId)).select(1, 0);   // (2B)
        int n = pairs.size();
        return s.narrow(0, 0, n).sub(s.narrow(0, n, n));                                   // (B)
    }

    /**
     * P(a_i ≻ b_i | prompt_i) for each row, without gradients, in batches of 64: σ of the logit, taken in double, so
     * prob(x, a, b) + prob(x, b, a) = 1 up to the float logits' rounding.
     */
    public static double[] prob(LlamaModel pm, Tokenizer tok, List<String> prompts, List<String> a, List<String> b, int maxLength) {
        if (prompts.size() != a.size() || a.size() != b.size()) throw new IllegalArgumentException("prompts, a, b: " + prompts.size() + ", " + a.size() + ", " + b.size());
        double[] out = new double[prompts.size()];
        try (NoGradGuard g = new NoGradGuard()) {
            for (int from = 0; from < out.length; from += 64) {
                int to = Math.min(out.length, from + 64);
                List<Pair> batch = new ArrayList<>();
                for (int i = from; i < to; i++) batch.add(tokenize(tok, prompts.get(i), a.get(i), b.get(i), maxLength, Tokenized.Truncation.KEEP_END));
                try (PointerScope s = new PointerScope()) {
                    float[] l = Torch.toFloats(logits(pm, batch, tok.padId));
                    for (int i = 0; i < l.length; i++) out[from + i] = 1 / (1 + Math.exp(-(double) l[i]));
                }
            }
        }
        return out;
    }

    /** Writes {@value #MARKER} into a saved model directory: what the model is and how to read it. */
    public static void mark(Path dir, int maxLength) {
        var o = Json.object();
        o.put("type", "pairwise_preference_model");
        o.put("input", "prompt + \"\\n<A> \" + A + \"\\n<B> \" + B + eos, tokenized as one sequence; max_length " + maxLength);
        o.put("score", "f(x, A, B) = the score head (num_labels = 1) at the last token");
        o.put("probability", "P(A > B | x) = sigmoid(f(x, A, B) - f(x, B, A))");
        o.put("max_length", maxLength);
        o.put("reference", "Jiang et al. 2023, LLM-Blender (PairRM); align4j preference-model");
        AtomicFiles.writeString(dir.resolve(MARKER), o.toPrettyString() + "\n");
    }

    /**
     * The max_length a saved preference model was trained with: from {@value #MARKER} (a {@code final/} directory) or, for
     * a checkpoint, from its {@code trainer_state.json} (trainer {@code preference-model}); a user error if {@code dir} is
     * neither.
     */
    public static int check(Path dir) {
        Path f = dir.resolve(MARKER), state = dir.resolve("trainer_state.json");
        if (!Files.exists(f) && Files.exists(state) && Json.read(state).path("trainer").asText().equals("preference-model"))
            return Json.read(state).path("config").path("maxLength").asInt(256);
        if (!Files.exists(f))
            throw new UserError(dir + ": not a pairwise preference model (no " + MARKER + "; train one with ./align4j preference-model, or use rm:DIR for a Bradley-Terry reward model)");
        return Json.read(f).path("max_length").asInt(256);
    }
}
