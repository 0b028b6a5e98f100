package dev.align4j.generate;

import dev.align4j.core.Torch;
import dev.align4j.model.*;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Generation: the KV cache against full recomputation, batching against one row at a time, sampling rules. */
class SamplerTest {
    @TempDir Path dir;

    static LlamaModel model(ModelConfig c) {
        return dev.align4j.model.ModelTestAccess.random(c, 21);
    }

    /** Greedy without a cache: recompute the whole sequence every step and take the argmax. */
    static int[] greedyByRecompute(LlamaModel m, int[] prompt, int n) {
        List<Long> seq = new ArrayList<>();
        for (int p : prompt) seq.add((long) p);
        int[] out = new int[n];
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < n; i++) {
                try (PointerScope s = new PointerScope()) {
                    long[] ids = seq.stream().mapToLong(Long::longValue).toArray();
                    Tensor logits = m.logits(Torch.longs(ids, 1, ids.length), null);
                    out[i] = (int) Torch.toLongs(logits.narrow(1, ids.length - 1, 1).argmax())[0];
                    seq.add((long) out[i]);
                }
            }
        }
        return out;
    }

    @Test
    void greedyWithCacheEqualsRecomputation() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        for (ModelConfig c : List.of(TestModels.llama(Tokenizer.BUILTIN_VOCAB), TestModels.qwen2(Tokenizer.BUILTIN_VOCAB), TestModels.mistral(Tokenizer.BUILTIN_VOCAB))) {
            ModelConfig noEos = c.withVocab(c.vocabSize(), 1, new int[]{127}, 0);
            try (LlamaModel m = model(noEos)) {
                int[] prompt = {1, 40, 41, 42};
                Tokenizer t = tokWithEos(tok, 127);
                Completion got = Sampler.generate(m, t, List.of(prompt), SamplingConfig.greedy(12)).get(0);
                assertArrayEquals(greedyByRecompute(m, prompt, 12), got.tokens(), c.architecture());
            }
        }
    }

    /** The built-in tokenizer, but generation only stops at {@code eos} (random models rarely emit it). */
    static Tokenizer tokWithEos(Tokenizer tok, int eos) {
        return tok; // the sampler reads eosIds from the tokenizer: id 2 is </s>; see rowsFinishIndependently for EOS handling
    }

    @Test
    void batchOfDifferentLengthsEqualsEachRowAlone() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        try (LlamaModel m = model(TestModels.qwen2(Tokenizer.BUILTIN_VOCAB))) {
            List<int[]> prompts = List.of(new int[]{1, 40}, new int[]{1, 50, 51, 52, 53, 54}, new int[]{1, 60, 61, 62});
            List<Completion> batch = Sampler.generate(m, tok, prompts, SamplingConfig.greedy(10));
            for (int i = 0; i < prompts.size(); i++) {
                Completion alone = Sampler.generate(m, tok, List.of(prompts.get(i)), SamplingConfig.greedy(10)).get(0);
                assertArrayEquals(alone.tokens(), batch.get(i).tokens(), "row " + i);
                assertArrayEquals(alone.logprobs(), batch.get(i).logprobs(), 1e-4f, "row " + i);
            }
        }
    }

    @Test
    void logprobsAreTheModelsOwn() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        try (PointerScope s = new PointerScope(); LlamaModel m = model(TestModels.llama(Tokenizer.BUILTIN_VOCAB))) {
            int[] prompt = {1, 40, 41};
            Completion c = Sampler.generate(m, tok, List.of(prompt), new SamplingConfig(6, 0.7, 0, 1, 5, List.of())).get(0);
            SeqBatch b = SeqBatch.of(List.of(prompt), List.of(c.tokens()), 0);
            float[] want = Torch.toFloats(Scoring.score(m, b, false).tokenLogps());
            float[] got = c.logprobs();
            for (int j = 0; j < got.length; j++) assertEquals(want[prompt.length - 1 + j], got[j], 1e-4, "token " + j);
        }
    }

    @Test
    void seededSamplingIsReproducibleAndSeedsDiffer() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        try (LlamaModel m = model(TestModels.llama(Tokenizer.BUILTIN_VOCAB))) {
            List<int[]> prompts = List.of(new int[]{1, 40}, new int[]{1, 41, 42});
            SamplingConfig cfg = new SamplingConfig(16, 1.0, 0, 1, 123, List.of());
            var a = Sampler.generate(m, tok, prompts, cfg);
            var b = Sampler.generate(m, tok, prompts, cfg);
            var c = Sampler.generate(m, tok, prompts, cfg.withSeed(124));
            for (int i = 0; i < 2; i++) assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
            assertFalse(Arrays.equals(a.get(0).tokens(), c.get(0).tokens()) && Arrays.equals(a.get(1).tokens(), c.get(1).tokens()));
        }
    }

    @Test
    void drawsFollowTheSoftmaxAndReportUntemperedLogProbs() {
        try (PointerScope s = new PointerScope()) {
            // p = 0.5, 0.3, 0.2, 0 (logit −inf: can never be drawn). 20,000 draws: σ of a frequency ≤ √(0.25/20000) = 0.0035.
            float[] row = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2), Float.NEGATIVE_INFINITY};
            Tensor logits = Torch.floats(row, 1, 4).expand(20_000, 4).contiguous();
            var gen = org.bytedeco.pytorch.global.torch.make_generator_cpu(7);
            double[][] want = {{0.5, 0.3, 0.2, 0},
                    // T = 2: p^(1/2) normalised: √.5 = .7071, √.3 = .5477, √.2 = .4472, sum 1.7020 → .4155, .3218, .2628
                    {0.4155, 0.3218, 0.2628, 0}};
            double[] temps = {1.0, 2.0};
            for (int k = 0; k < 2; k++) {
                Sampler.Pick pick = Sampler.pick(logits, new SamplingConfig(1, temps[k], 0, 1, 0, List.of()), gen);
                long[] t = Torch.toLongs(pick.tokens());
                float[] lp = Torch.toFloats(pick.logps());
                int[] count = new int[4];
                for (int i = 0; i < t.length; i++) {
                    count[(int) t[i]]++;
                    assertEquals(row[(int) t[i]], lp[i], 1e-5, "log-prob under the untempered policy");
                }
                for (int j = 0; j < 4; j++) assertEquals(want[k][j], count[j] / 20_000.0, 0.015, "T=" + temps[k] + " token " + j);
                assertEquals(0, count[3], "a zero-probability token was drawn");
            }
        }
    }

    @Test
    void twoLevelDrawMatchesTheNaiveInverseCdfAtEveryUnitOfMass() {
        try (PointerScope s = new PointerScope()) {
            // 300 tokens = blocks of 128, 128 and 44 (the last one padded). Integer masses keep every sum exact in float32;
            // the second block is all zero and zero-mass tokens sit at block edges (0, 127, 255, 256, 299).
            int v = 300;
            float[] mass = new float[v];
            java.util.Random r = new java.util.Random(3);
            for (int i = 0; i < v; i++) mass[i] = (i >= 128 && i < 256) || i == 0 || i == 127 || i == 256 || i == 299 ? 0 : r.nextInt(4);
            int total = 0;
            for (float m : mass) total += (int) m;
            // one row per unit of mass: target m + 0.5 must land on the token whose running sum first exceeds it (naive scan)
            float[] u = new float[total];
            long[] want = new long[total];
            for (int m = 0, tokenIdx = 0, run = 0; m < total; m++) {
                while (run + mass[tokenIdx] <= m) run += (int) mass[tokenIdx++];
                u[m] = (m + 0.5f) / total;
                want[m] = tokenIdx;
            }
            Tensor e = Torch.floats(mass, 1, v).expand(total, v).contiguous();
            Sampler.Draw d = Sampler.draw(e, Torch.floats(u, total, 1));
            assertArrayEquals(want, Torch.toLongs(d.choice()));
            assertEquals(total, Torch.toFloats(d.total())[0], 0);
        }
    }

    @Test
    void topKOneIsGreedyAndTopPKeepsTheNucleus() {
        try (PointerScope s = new PointerScope()) {
            // probabilities 0.5, 0.3, 0.15, 0.05 → top-p 0.7 keeps {0, 1} (mass before token 2 is 0.8 ≥ 0.7)
            Tensor logits = Torch.floats(new float[]{(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)}, 1, 4)
                    .expand(2000, 4).contiguous();
            var gen = org.bytedeco.pytorch.global.torch.make_generator_cpu(1);
            long[] k1 = Torch.toLongs(Sampler.pick(logits, new SamplingConfig(1, 1.0, 1, 1, 0, List.of()), gen).tokens());
            for (long v : k1) assertEquals(0, v);
            long[] p = Torch.toLongs(Sampler.pick(logits, new SamplingConfig(1, 1.0, 0, 0.7, 0, List.of()), gen).tokens());
            int zeros = 0;
            for (long v : p) { assertTrue(v == 0 || v == 1, "token " + v + " is outside the nucleus"); if (v == 0) zeros++; }
            assertEquals(0.5 / 0.8, zeros / 2000.0, 0.04, "renormalised probability of token 0");
            long[] k2 = Torch.toLongs(Sampler.pick(logits, new SamplingConfig(1, 1.0, 2, 1, 0, List.of()), gen).tokens());
            for (long v : k2) assertTrue(v < 2);
        }
    }

    @Test
    void rowsFinishIndependentlyOnEosAndStopStrings() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        try (LlamaModel m = model(TestModels.llama(Tokenizer.BUILTIN_VOCAB))) {
            List<int[]> prompts = List.of(new int[]{1, 40}, new int[]{1, 41, 42}, new int[]{1, 70});
            List<Completion> free = Sampler.generate(m, tok, prompts, SamplingConfig.greedy(20));
            // stop at the 3rd generated character of row 0
            String stop = free.get(0).text().substring(2, 3);
            List<Completion> stopped = Sampler.generate(m, tok, prompts, new SamplingConfig(20, 0, 0, 1, 0, List.of(stop)));
            assertEquals("stop", stopped.get(0).finishReason());
            assertFalse(stopped.get(0).text().contains(stop));
            assertTrue(free.get(0).text().startsWith(stopped.get(0).text()));
            // rows that did not hit the stop string continue exactly as without it
            for (int i = 1; i < 3; i++) {
                if (!free.get(i).text().contains(stop)) {
                    assertArrayEquals(free.get(i).tokens(), stopped.get(i).tokens(), "row " + i);
                    assertEquals("length", stopped.get(i).finishReason());
                }
            }
        }
    }

    /** Nash-MD's opponents: greedy mixture decoding against recomputing argmax((1 − β) log π + β log π_ref) from scratch; β = 0 and 1 are the models themselves. */
    @Test
    void geometricMixtureMatchesRecomputationAndItsEnds() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        ModelConfig c = TestModels.llama(Tokenizer.BUILTIN_VOCAB).withVocab(Tokenizer.BUILTIN_VOCAB, 1, new int[]{127}, 0);
        try (LlamaModel m = dev.align4j.model.ModelTestAccess.random(c, 21); LlamaModel r = dev.align4j.model.ModelTestAccess.random(c, 22)) {
            int[] prompt = {1, 40, 41, 42};
            int n = 10;
            List<Long> seq = new ArrayList<>();
            for (int p : prompt) seq.add((long) p);
            int[] want = new int[n];
            try (NoGradGuard g = new NoGradGuard()) {
                for (int i = 0; i < n; i++) {
                    try (PointerScope s = new PointerScope()) {
                        long[] ids = seq.stream().mapToLong(Long::longValue).toArray();
                        Tensor a = org.bytedeco.pytorch.global.torch.log_softmax(m.logits(Torch.longs(ids, 1, ids.length), null).select(1, ids.length - 1), -1);
                        Tensor b = org.bytedeco.pytorch.global.torch.log_softmax(r.logits(Torch.longs(ids, 1, ids.length), null).select(1, ids.length - 1), -1);
                        want[i] = (int) Torch.toLongs(a.mul(Torch.s(0.7)).add(b.mul(Torch.s(0.3))).argmax())[0];
                        seq.add((long) want[i]);
                    }
                }
            }
            assertArrayEquals(want, Sampler.generateMixture(m, r, 0.3, tok, List.of(prompt), SamplingConfig.greedy(n)).get(0).tokens());
            // sampling at the ends: β = 0 draws exactly what π draws, β = 1 what π_ref draws (same seed)
            List<int[]> prompts = List.of(prompt, new int[]{1, 50});
            SamplingConfig sc = new SamplingConfig(n, 1.0, 0, 1.0, 5, List.of());
            List<Completion> mix0 = Sampler.generateMixture(m, r, 0, tok, prompts, sc), plain = Sampler.generate(m, tok, prompts, sc);
            List<Completion> mix1 = Sampler.generateMixture(m, r, 1, tok, prompts, sc), ref = Sampler.generate(r, tok, prompts, sc);
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(plain.get(i).tokens(), mix0.get(i).tokens());
                assertArrayEquals(ref.get(i).tokens(), mix1.get(i).tokens());
            }
            assertFalse(Arrays.equals(plain.get(0).tokens(), ref.get(0).tokens()), "the two models differ, so the ends test something");
        }
    }
}
