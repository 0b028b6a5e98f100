package dev.align4j.generate;

import dev.align4j.core.Torch;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** VAS's reweighting by hand, likelihood beam search against greedy decoding, and value-guided step beams with stub scorers. */
class GuidedDecodingTest {
    @TempDir static Path dir;
    static Tokenizer tok;

    @BeforeAll
    static void tokenizer() { tok = Tokenizer.writeBuiltin(dir.resolve("tok")); }

    static LlamaModel nano(long seed) {
        return LlamaModel.init(ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0), seed, ScalarType.Float);
    }

    static List<int[]> prompts(String... p) {
        List<int[]> out = new ArrayList<>();
        for (String s : p) out.add(tok.encode(s, true));
        return out;
    }

    @Test
    void vasReweightsThePolicysTopKByTheValue() {
        try (PointerScope s = new PointerScope()) {
            // a 3-token toy: π_base = (0.5, 0.3, 0.2), V = (0, 1, 0.5), β = 2:
            //   π ∝ (0.5·e⁰, 0.3·e², 0.2·e¹) = (0.5, 2.216717, 0.543656), Σ = 3.260373 → (0.153357, 0.679897, 0.166747)
            Tensor base = Torch.doubles(new double[]{Math.log(0.5), Math.log(0.3), Math.log(0.2)}, 1, 3);
            Tensor v = Torch.doubles(new double[]{0, 1, 0.5}, 1, 3);
            double[] p = Torch.toDoubles(GuidedDecoding.vasLogProbs(base, v, 2).exp());
            assertArrayEquals(new double[]{0.153357, 0.679897, 0.166747}, p, 1e-6);
            // β = 0: the values do not matter, the policy's own probabilities come back
            assertArrayEquals(new double[]{0.5, 0.3, 0.2}, Torch.toDoubles(GuidedDecoding.vasLogProbs(base, v, 0).exp()), 1e-9);
            // β = 0 over the top k of a longer distribution is top-k sampling: softmax over the k largest logits, the rest masked
            Tensor logits = Torch.floats(new float[]{2, 1, 0.5f, -1, 0}, 1, 5);
            var top = torch.log_softmax(logits, -1).topk(3);
            double[] vas = Torch.toDoubles(GuidedDecoding.vasLogProbs(top.get0(), Torch.doubles(new double[]{9, -9, 3}, 1, 3), 0).exp());
            Tensor masked = logits.masked_fill(logits.lt(Torch.s(0.5)), Torch.s(Double.NEGATIVE_INFINITY));      // what Sampler's top-k filter keeps
            float[] topK = Torch.toFloats(torch.softmax(masked, -1));
            assertArrayEquals(new double[]{topK[0], topK[1], topK[2]}, vas, 1e-6);
        }
    }

    @Test
    void vasWithBetaZeroAtTemperatureZeroIsGreedyAndALargeBetaFollowsTheValue() {
        try (LlamaModel m = nano(3)) {
            List<int[]> ps = prompts("12+3=", "go ab:", "x");
            List<Completion> greedy = Sampler.generate(m, tok, ps, SamplingConfig.greedy(6));
            GuidedDecoding.Scorer never = (p, c) -> { throw new AssertionError("beta = 0 needs no values"); };
            GuidedDecoding.Result r = GuidedDecoding.vas(GuidedDecoding.of(m, tok.padId), tok, ps, never, 4, 0, 0, 6, 0);
            for (int i = 0; i < ps.size(); i++) assertArrayEquals(greedy.get(i).tokens(), r.completions().get(i).tokens(), "row " + i);
            assertEquals(0, r.scorerRows());
            // a value that counts the a's of the partial, β = 1000, every token a candidate: each step picks 'a'
            int a = tok.encode("a")[0];
            GuidedDecoding.Scorer countA = (p, c) -> c.stream().mapToDouble(x -> Arrays.stream(x).filter(t -> t == a).count()).toArray();
            r = GuidedDecoding.vas(GuidedDecoding.of(m, tok.padId), tok, ps, countA, Tokenizer.BUILTIN_VOCAB, 1000, 1.0, 5, 7);
            for (Completion c : r.completions()) assertEquals("aaaaa", c.text());
            assertEquals(3 * 5, r.policyForwards(), "one policy forward per row and token");
            assertEquals(3 * 5 * Tokenizer.BUILTIN_VOCAB, r.scorerRows(), "k values per row and token");
        }
    }

    @Test
    void likelihoodBeamOfWidthOneIsGreedy() {
        try (LlamaModel m = nano(5)) {
            List<int[]> ps = prompts("12+3=", "go ab:", "x", "hello");
            List<Completion> greedy = Sampler.generate(m, tok, ps, SamplingConfig.greedy(8));
            GuidedDecoding.Result r = GuidedDecoding.likelihoodBeam(GuidedDecoding.of(m, tok.padId), tok, ps, 1, 8);
            for (int i = 0; i < ps.size(); i++) {
                assertArrayEquals(greedy.get(i).tokens(), r.completions().get(i).tokens(), "row " + i);
                assertEquals(greedy.get(i).sumLogprob(), r.completions().get(i).sumLogprob(), 1e-4);
            }
            // a wider beam never finds a less likely sequence than greedy
            GuidedDecoding.Result wide = GuidedDecoding.likelihoodBeam(GuidedDecoding.of(m, tok.padId), tok, ps, 4, 8);
            for (int i = 0; i < ps.size(); i++) assertTrue(wide.completions().get(i).sumLogprob() >= greedy.get(i).sumLogprob() - 1e-4);
        }
    }

    /**
     * A toy LM: first 'A' (0.6) or 'B' (0.4); after 'A' one of 'x', 'y', 'z' (1/3 each), then EOS; after 'B' EOS (0.9) or
     * 'c' (0.1). Greedy takes A then x: 0.6 · 1/3 = 0.2; the best sequence is B EOS: 0.4 · 0.9 = 0.36.
     */
    static GuidedDecoding.NextToken toy(int promptLen) {
        int A = tok.encode("A")[0], B = tok.encode("B")[0], c = tok.encode("c")[0], eos = Tokenizer.BUILTIN_EOS;
        int[] xyz = {tok.encode("x")[0], tok.encode("y")[0], tok.encode("z")[0]};
        return seqs -> {
            double[] p = new double[seqs.size() * Tokenizer.BUILTIN_VOCAB];
            for (int r = 0; r < seqs.size(); r++) {
                int[] s = seqs.get(r);
                int off = r * Tokenizer.BUILTIN_VOCAB, written = s.length - promptLen;
                if (written == 0) { p[off + A] = 0.6; p[off + B] = 0.4; }
                else if (written == 1 && s[s.length - 1] == A) for (int x : xyz) p[off + x] = 1.0 / 3;
                else if (written == 1 && s[s.length - 1] == B) { p[off + eos] = 0.9; p[off + c] = 0.1; }
                else p[off + eos] = 1;
            }
            for (int i = 0; i < p.length; i++) p[i] = p[i] == 0 ? -1e9 : Math.log(p[i]);
            return Torch.doubles(p, seqs.size(), Tokenizer.BUILTIN_VOCAB).to(ScalarType.Float);
        };
    }

    @Test
    void aWiderBeamFindsTheMoreLikelySequenceGreedyMisses() {
        List<int[]> ps = prompts("q");
        GuidedDecoding.Result greedy = GuidedDecoding.likelihoodBeam(toy(ps.get(0).length), tok, ps, 1, 4);
        assertEquals("Ax", greedy.completions().get(0).text());
        assertEquals(Math.log(0.2), greedy.completions().get(0).sumLogprob(), 1e-5);           // log(0.6 · 1/3 · 1)
        GuidedDecoding.Result beam = GuidedDecoding.likelihoodBeam(toy(ps.get(0).length), tok, ps, 2, 4);
        assertEquals("B", beam.completions().get(0).text());
        assertEquals("eos", beam.completions().get(0).finishReason());
        assertEquals(Math.log(0.36), beam.completions().get(0).sumLogprob(), 1e-5);            // log(0.4 · 0.9) > log 0.2
    }

    @Test
    void aValueGuidedStepBeamKeepsTheHigherScoredCandidates() {
        try (LlamaModel m = nano(11)) {
            List<int[]> ps = prompts("12+3=", "go ab:");
            // the separator: the greedy first token, so that steps end often at temperature 0.7
            String sep = tok.decode(new int[]{Sampler.generate(m, tok, ps.subList(0, 1), SamplingConfig.greedy(1)).get(0).tokens()[0]}, true);
            int e = tok.encode(sep)[0];
            // a stub scorer with an arbitrary but fixed preference, which ranks unfinished steps (ending at the separator) first
            // so that the search goes on; it records what it was asked
            java.util.function.ToDoubleFunction<int[]> score = x -> Math.floorMod(Arrays.hashCode(x) * 31 + 7, 1000) + (x.length < 12 && x[x.length - 1] == e ? 1000 : 0);
            List<List<int[]>> asked = new ArrayList<>();
            List<double[]> answered = new ArrayList<>();
            GuidedDecoding.Scorer stub = (p, c) -> {
                double[] s = c.stream().mapToDouble(score).toArray();
                asked.add(c);
                answered.add(s);
                return s;
            };
            GuidedDecoding.Result r = GuidedDecoding.stepBeam(m, tok, ps.subList(0, 1), stub, 1, 6, sep, 0.7, 12, 3);
            assertTrue(asked.size() >= 2, "several rounds of steps: " + asked.size() + " sep '" + sep + "' " + asked.stream().map(l -> l.stream().map(Arrays::toString).toList().toString()).toList());
            // width 1: the kept solution is the best candidate of the last round (an unfinished winner would have gone on)
            double[] last = answered.get(answered.size() - 1);
            double best = Arrays.stream(last).max().orElseThrow();
            int[] chosen = r.completions().get(0).tokens();
            assertEquals(best, score.applyAsDouble(chosen), 0, "the chosen completion has the highest score");
            // in every round the candidates extend the previous round's winner
            for (int k = 1; k < asked.size(); k++) {
                double[] prev = answered.get(k - 1);
                int[] winner = asked.get(k - 1).get(GuidedDecoding.argmax(prev, 0, prev.length));
                for (int[] c : asked.get(k)) assertArrayEquals(winner, Arrays.copyOf(c, winner.length), "round " + k + " extends the winner");
            }
            // every candidate but a finished one ends a step at the separator
            for (List<int[]> round : asked)
                for (int[] c : round)
                    assertTrue(c[c.length - 1] == e || c[c.length - 1] == Tokenizer.BUILTIN_EOS || c.length == 12, Arrays.toString(c));
            // compute: the sampled tokens are counted, and every candidate scored once
            assertTrue(r.policyForwards() >= chosen.length);
            assertEquals(asked.stream().mapToInt(List::size).sum(), r.scorerRows());
            // two prompts in one call, width 2: each gets a completion, within the budget
            GuidedDecoding.Result two = GuidedDecoding.stepBeam(m, tok, ps, stub, 2, 3, sep, 0.7, 12, 3);
            assertEquals(2, two.completions().size());
            for (Completion c : two.completions()) assertTrue(c.tokens().length <= 12);
        }
    }

    @Test
    void bestOfNTakesTheHighestScoredSample() {
        try (LlamaModel m = nano(13)) {
            List<int[]> ps = prompts("12+3=", "go ab:");
            GuidedDecoding.Scorer shortest = (p, c) -> c.stream().mapToDouble(x -> -x.length).toArray();
            SamplingConfig sc = new SamplingConfig(8, 1.0, 0, 1.0, 5, List.of());
            GuidedDecoding.Result r = GuidedDecoding.bestOfN(m, tok, ps, shortest, 6, sc);
            List<int[]> rows = new ArrayList<>();
            for (int[] p : ps) for (int k = 0; k < 6; k++) rows.add(p);
            List<Completion> all = Sampler.generate(m, tok, rows, sc);                        // the same samples (one chunk, the same seed)
            for (int i = 0; i < 2; i++) {
                int min = Integer.MAX_VALUE;
                for (int k = 0; k < 6; k++) min = Math.min(min, all.get(i * 6 + k).tokens().length);
                assertEquals(min, r.completions().get(i).tokens().length);
            }
            assertEquals(12, r.scorerRows());
        }
    }
}
