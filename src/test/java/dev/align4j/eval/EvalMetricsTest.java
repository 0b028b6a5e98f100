package dev.align4j.eval;

import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.generate.Completion;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The eval command's math: exact KL(π‖π_ref) against a slow reference, pass@k averaged over prompts, seed groups. */
class EvalMetricsTest {
    @TempDir Path dir;

    /** A nano model whose (tied) embedding is scaled up, so its next-token distributions are far from uniform and differ by seed. */
    static LlamaModel nano(long seed) {
        LlamaModel m = LlamaModel.init(ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, Tokenizer.BUILTIN_BOS,
                new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD), seed, ScalarType.Float);
        try (NoGradGuard g = new NoGradGuard()) { m.parameters().get("model.embed_tokens.weight").mul_(Torch.s(25.0)); }
        return m;
    }

    /** Prompts of the arithmetic test split and, for each, two completions sampled from {@code policy} at temperature 1. */
    record Sampled(List<int[]> prompts, List<int[]> completions) {}

    static Sampled sample(LlamaModel policy, Tokenizer tok) {
        List<int[]> ids = Task.byName("arithmetic").examples(Task.Split.TEST, 6, 0).stream().map(e -> tok.encode(e.prompt(), true)).toList();
        List<Completion> out = ModelEval.generate(policy, tok, ids, 2, new SamplingConfig(8, 1.0, 0, 1, 5, null), 4, "test");
        List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) { p.add(ids.get(i / 2)); c.add(out.get(i).tokens()); }
        return new Sampled(p, c);
    }

    @Test
    void klIsZeroAgainstItselfAndPositiveAgainstAnotherModel() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (PointerScope s = new PointerScope(); LlamaModel a = nano(1); LlamaModel copy = a.copy(ScalarType.Float); LlamaModel b = nano(2)) {
            Sampled x = sample(a, tok);
            double[] self = ModelEval.sequenceKl(a, a, x.prompts(), x.completions(), tok.padId);
            double[] twin = ModelEval.sequenceKl(a, copy, x.prompts(), x.completions(), tok.padId);
            double[] other = ModelEval.sequenceKl(a, b, x.prompts(), x.completions(), tok.padId);
            assertEquals(12, other.length);
            for (int i = 0; i < other.length; i++) {
                assertEquals(0.0, self[i], 1e-6, "KL(π‖π) of sequence " + i);
                assertEquals(0.0, twin[i], 1e-6, "KL(π‖copy of π) of sequence " + i);
                assertTrue(other[i] > 1e-3, "KL(π‖π') of sequence " + i + " = " + other[i]);   // every sequence has ≥ 1 completion position
            }
        }
    }

    @Test
    void batchedKlMatchesASlowOneSequenceAtATimeSum() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (PointerScope s = new PointerScope(); LlamaModel a = nano(3); LlamaModel b = nano(4)) {
            Sampled x = sample(a, tok);
            double[] fast = ModelEval.sequenceKl(a, b, x.prompts(), x.completions(), tok.padId);   // right-padded batches
            for (int i = 0; i < fast.length; i++) {
                double slow = naiveKl(a, b, x.prompts().get(i), x.completions().get(i));
                assertEquals(slow, fast[i], 1e-4 * Math.max(1, slow), "sequence " + i);
            }
        }
    }

    /** Σ over completion positions t of Σ_v p(v)·(log p(v) − log q(v)), one unpadded sequence, softmax in doubles in Java. */
    static double naiveKl(LlamaModel p, LlamaModel q, int[] prompt, int[] completion) {
        long[] ids = new long[prompt.length + completion.length];
        for (int i = 0; i < ids.length; i++) ids[i] = i < prompt.length ? prompt[i] : completion[i - prompt.length];
        float[] lp, lq;
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            lp = Torch.toFloats(p.logits(Torch.longs(ids, 1, ids.length), null));
            lq = Torch.toFloats(q.logits(Torch.longs(ids, 1, ids.length), null));
        }
        int v = p.config.vocabSize();
        double kl = 0;
        for (int t = prompt.length - 1; t < ids.length - 1; t++) {          // the logits at t predict completion token t + 1
            double[] logP = logSoftmax(lp, t * v, v), logQ = logSoftmax(lq, t * v, v);
            for (int k = 0; k < v; k++) kl += Math.exp(logP[k]) * (logP[k] - logQ[k]);
        }
        return kl;
    }

    static double[] logSoftmax(float[] x, int off, int v) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int k = 0; k < v; k++) max = Math.max(max, x[off + k]);
        for (int k = 0; k < v; k++) sum += Math.exp(x[off + k] - max);
        double[] out = new double[v];
        for (int k = 0; k < v; k++) out[k] = x[off + k] - max - Math.log(sum);
        return out;
    }

    @Test
    void headToHeadPairsSeedsAndIsExactOnAClassTask() {
        // cycle payoff: plain/correct (class 0) against paren/correct (class 2): equal quality, plain beats paren in the
        // cycle → M[0][2] = σ(s) = σ(2) = 0.880797; a mixture ½·class 0 + ½·class 2 against pure class 2:
        // ½·M[0][2] + ½·M[2][2] = ½·0.880797 + ½·0.5 = 0.690399
        var cycle = new dev.align4j.task.CycleTask();
        double s2 = 1 / (1 + Math.exp(-2));
        double[] plain = {1, 0, 0, 0, 0, 0, 0}, paren = {0, 0, 1, 0, 0, 0, 0}, mix = {0.5, 0, 0.5, 0, 0, 0, 0};
        ModelEval.Group a = new ModelEval.Group("a", List.of(Path.of("a0"), Path.of("a1")), List.of(Map.of(), Map.of()),
                List.of(new ModelEval.Profile(new double[]{0}, List.of(plain)), new ModelEval.Profile(new double[]{0}, List.of(mix))));
        ModelEval.Group b = new ModelEval.Group("b", List.of(Path.of("b")), List.of(Map.of()),
                List.of(new ModelEval.Profile(new double[]{0}, List.of(paren))));
        List<ModelEval.HeadToHead> h = ModelEval.headToHead(List.of(a, b), cycle);
        assertEquals(1, h.size());
        assertEquals("gold preference", h.get(0).judge());
        assertArrayEquals(new double[]{s2, 0.5 * s2 + 0.25}, h.get(0).perSeed(), 1e-12, "b's one run meets each of a's seeds");
        assertEquals((s2 + 0.5 * s2 + 0.25) / 2, h.get(0).mean(), 1e-12);
        // the other direction is read off the same pair: W(b ≻ a) = 1 − W(a ≻ b), min and max swap
        assertEquals(String.format("%.3f [%.3f, %.3f]", 1 - h.get(0).mean(), 1 - s2, 0.75 - 0.5 * s2), ModelEval.h2hCell(h, "b", "a"));

        // without classes (a task whose gold preference is a reward): greedy judged scores, ties count ½:
        // a = (1, 0, 1), c = (0, 0, 1) → (1 + ½ + ½) / 3 = 0.6667
        ModelEval.Group x = new ModelEval.Group("x", List.of(Path.of("x")), List.of(Map.of()), List.of(new ModelEval.Profile(new double[]{1, 0, 1}, null)));
        ModelEval.Group y = new ModelEval.Group("y", List.of(Path.of("y")), List.of(Map.of()), List.of(new ModelEval.Profile(new double[]{0, 0, 1}, null)));
        ModelEval.Group noProfiles = new ModelEval.Group("z", List.of(Path.of("z")), List.of(Map.of()));
        List<ModelEval.HeadToHead> g = ModelEval.headToHead(List.of(x, y, noProfiles), Task.byName("arithmetic"));
        assertEquals(1, g.size(), "a group without profiles meets no one");
        assertEquals("gold reward", g.get(0).judge());
        assertEquals(2.0 / 3, g.get(0).mean(), 1e-12);
        // seeds that cannot be paired (2 against 3) are left out
        ModelEval.Group two = new ModelEval.Group("two", List.of(Path.of("1"), Path.of("2")), List.of(Map.of(), Map.of()),
                List.of(x.profiles().get(0), x.profiles().get(0)));
        ModelEval.Group three = new ModelEval.Group("three", List.of(Path.of("1"), Path.of("2"), Path.of("3")), List.of(Map.of(), Map.of(), Map.of()),
                List.of(y.profiles().get(0), y.profiles().get(0), y.profiles().get(0)));
        assertTrue(ModelEval.headToHead(List.of(two, three), null).isEmpty());
    }

    @Test
    void passAtKIsAveragedOverPrompts() {
        // n = 5 samples per prompt with c = 2, 0, 5 correct:
        // pass@1 = mean(c/n) = (0.4 + 0 + 1) / 3 = 0.4667; pass@2 = mean(1 − C(3,2)/C(5,2), 1 − C(5,2)/C(5,2), 1) = (0.7 + 0 + 1) / 3 = 0.5667
        assertEquals(1.4 / 3, ModelEval.meanPassAtK(new int[]{2, 0, 5}, 5, 1), 1e-12);
        assertEquals(1.7 / 3, ModelEval.meanPassAtK(new int[]{2, 0, 5}, 5, 2), 1e-12);
    }

    @Test
    void aGroupReportsEachSeedAndItsIqmWithAnInterval() {
        // accuracy on four seeds 0, 0.2, 0.3, 1.0: IQM cuts one from each end → (0.2 + 0.3) / 2 = 0.25; mean 1.5 / 4 = 0.375
        List<Map<String, Double>> runs = List.of(Map.of("accuracy", 0.0), Map.of("accuracy", 0.2), Map.of("accuracy", 0.3), Map.of("accuracy", 1.0));
        List<Path> dirs = List.of(Path.of("s0"), Path.of("s1"), Path.of("s2"), Path.of("s3"));
        ModelEval.Group g = new ModelEval.Group("dpo", dirs, runs), one = new ModelEval.Group("sft", List.of(Path.of("sft")), List.of(Map.of("accuracy", 0.5)));
        var json = ModelEval.json(Json.object().put("task", "arithmetic"), List.of(g, one));
        var agg = json.get("models").get(0).get("aggregate").get("accuracy");
        assertEquals(0.25, agg.get("iqm").asDouble(), 1e-12);
        assertEquals(0.375, agg.get("mean").asDouble(), 1e-12);
        assertEquals(0.0, agg.get("min").asDouble());
        assertEquals(1.0, agg.get("max").asDouble());
        assertTrue(agg.get("ci_low").asDouble() < 0.25 && agg.get("ci_high").asDouble() > 0.25, agg.toString());
        assertEquals(4, json.get("models").get(0).get("runs").size());
        assertEquals(0.3, json.get("models").get(0).get("runs").get(2).get("metrics").get("accuracy").asDouble());
        assertEquals(0.5, json.get("models").get(1).get("aggregate").get("accuracy").get("ci_low").asDouble(), 0.0, "one seed: the interval is the value");
        String table = ModelEval.table(List.of(g, one));
        assertTrue(table.lines().anyMatch(l -> l.startsWith("dpo") && l.contains("0.250 [")), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("sft") && l.contains("0.500") && !l.contains("[")), table);
    }

    @Test
    void theParetoFrontKeepsTheModelsNoOtherDominates() {
        // (correct, brief): a (0.4, 0.9) and b (0.2, 1.0) trade off; c (0.3, 0.8) is dominated by a; d (0.4, 0.9) ties a (neither
        // dominates the other); e has a NaN and is left out
        boolean[] keep = ModelEval.nonDominated(new double[][]{{0.4, 0.9}, {0.2, 1.0}, {0.3, 0.8}, {0.4, 0.9}, {Double.NaN, 1.0}});
        assertArrayEquals(new boolean[]{true, true, false, true, false}, keep);
        assertArrayEquals(new boolean[]{true}, ModelEval.nonDominated(new double[][]{{0, 0}}));
        // groups: the front uses each model's mean over seeds (a: (0.3 + 0.5) / 2 = 0.4, (0.8 + 1.0) / 2 = 0.9)
        ModelEval.Group a = new ModelEval.Group("a", List.of(Path.of("a0"), Path.of("a1")),
                List.of(Map.of("objective/correct", 0.3, "objective/brief", 0.8), Map.of("objective/correct", 0.5, "objective/brief", 1.0)));
        ModelEval.Group c = new ModelEval.Group("c", List.of(Path.of("c")), List.of(Map.of("objective/correct", 0.3, "objective/brief", 0.85)));
        ModelEval.Group b = new ModelEval.Group("b", List.of(Path.of("b")), List.of(Map.of("objective/correct", 0.2, "objective/brief", 1.0)));
        ModelEval.Pareto pf = ModelEval.pareto(List.of(a, c, b));
        assertEquals(List.of("a", "b"), pf.front());
        assertEquals(2, pf.objectives().size());
        assertArrayEquals(new double[]{0.4, 0.9}, new double[]{pf.points()[0][pf.objectives().indexOf("objective/correct")], pf.points()[0][pf.objectives().indexOf("objective/brief")]}, 1e-12);
        // one objective: no front; the json and the report carry it otherwise
        assertNull(ModelEval.pareto(List.of(new ModelEval.Group("x", List.of(Path.of("x")), List.of(Map.of("accuracy", 0.5))))));
        assertEquals("[\"a\",\"b\"]", ModelEval.json(Json.object(), List.of(a, c, b)).path("pareto").path("front").toString());
        ModelEval.write(dir.resolve("pareto"), Json.object(), List.of(a, c, b));
        assertTrue(java.nio.file.Files.exists(dir.resolve("pareto/pareto.png")));
    }
}
