package dev.align4j.reward;

import dev.align4j.core.Torch;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.JudgeData;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** ZYN's Yes/No normalisation by hand, and the batched verdict probability against a naive one-sequence-at-a-time reference. */
class GenerativeJudgeTest {
    @TempDir Path dir;

    @Test
    void yesIsNormalisedAgainstNo() {
        // P(Yes) = 0.3, P(No) = 0.1 → 0.3 / (0.3 + 0.1) = 0.75 (the other 0.6 of the mass, on other tokens, does not count)
        assertEquals(0.75, GenerativeJudge.normalize(Math.log(0.3), Math.log(0.1)), 1e-12);
        // P(Yes) = 0.02, P(No) = 0.18 → 0.02 / 0.2 = 0.1
        assertEquals(0.1, GenerativeJudge.normalize(Math.log(0.02), Math.log(0.18)), 1e-12);
        assertEquals(0.5, GenerativeJudge.normalize(-3, -3), 1e-15);
        // far apart: stable, no NaN (σ(−1000) underflows to 0, σ(1000) is 1)
        assertEquals(0, GenerativeJudge.normalize(-1000, 0), 1e-300);
        assertEquals(1, GenerativeJudge.normalize(0, -1000), 0);
        // the pointwise judge as a pairwise one: σ(logit 0.8 − logit 0.5) = σ(ln 4) = 0.8
        assertEquals(0.8, GenerativeJudge.normalize(GenerativeJudge.logit(0.8), GenerativeJudge.logit(0.5)), 1e-12);
    }

    @Test
    void batchedVerdictProbabilityMatchesANaiveReference() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (PointerScope s = new PointerScope();
             LlamaModel m = LlamaModel.init(ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0), 5, ScalarType.Float)) {
            List<Task.Example> ex = List.of(new Task.Example("12+3=", "15"), new Task.Example("40-7=", "33"), new Task.Example("9+9=", "18"));
            List<String> r = List.of("15", "3", "18000");                     // different lengths: padding must not leak
            double[] fast;
            try (GenerativeJudge j = GenerativeJudge.of(m, tok, GenerativeJudge.Format.pointwise())) { fast = j.yes(ex, r); }
            for (int i = 0; i < ex.size(); i++) {
                String q = JudgeData.pointwisePrompt(ex.get(i).prompt(), r.get(i));
                double naive = GenerativeJudge.normalize(naiveLogp(m, tok, q, "Yes"), naiveLogp(m, tok, q, "No"));
                assertEquals(naive, fast[i], 1e-5, "row " + i);
            }
            // the pairwise view of a pointwise judge is antisymmetric
            try (GenerativeJudge j = GenerativeJudge.of(m, tok, GenerativeJudge.Format.pointwise())) {
                double[] ab = j.judge().prob(ex, r, List.of("1", "2", "3")), ba = j.judge().prob(ex, List.of("1", "2", "3"), r);
                for (int i = 0; i < ab.length; i++) assertEquals(1, ab[i] + ba[i], 1e-9);
            }
        }
    }

    /** log P(verdict | prompt) one sequence at a time: Σ_t log softmax(logits_t)[x_{t+1}] over the verdict's tokens. */
    static double naiveLogp(LlamaModel m, Tokenizer tok, String prompt, String verdict) {
        int[] p = tok.encode(prompt, true), v = tok.encode(verdict, false);
        long[] ids = new long[p.length + v.length];
        for (int i = 0; i < p.length; i++) ids[i] = p[i];
        for (int i = 0; i < v.length; i++) ids[p.length + i] = v[i];
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor logits = m.logits(Torch.longs(ids, 1, ids.length), null);
            float[] l = Torch.toFloats(logits.to(ScalarType.Float).contiguous());
            int vocab = (int) logits.size(2);
            double sum = 0;
            for (int t = p.length - 1; t < ids.length - 1; t++) {
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int k = 0; k < vocab; k++) max = Math.max(max, l[t * vocab + k]);
                for (int k = 0; k < vocab; k++) z += Math.exp(l[t * vocab + k] - max);
                sum += l[t * vocab + (int) ids[t + 1]] - max - Math.log(z);
            }
            return sum;
        }
    }
}
