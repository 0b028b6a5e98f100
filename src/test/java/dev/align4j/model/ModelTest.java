package dev.align4j.model;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The fused libtorch forward against the loop-level reference, and the scorer's indexing. */
class ModelTest {

    /** Random values everywhere (norm gains and biases too), so an ignored weight shows. */
    static LlamaModel randomModel(ModelConfig c, long seed) {
        LlamaModel m = LlamaModel.init(c, seed, ScalarType.Float);
        var g = torch.make_generator_cpu(seed + 1);
        try (NoGradGuard ng = new NoGradGuard()) {
            for (var e : m.parameters().entrySet()) {
                Tensor t = e.getValue();
                if (e.getKey().endsWith("norm.weight")) t.uniform_(0.5, 1.5, new GeneratorOptional(g));
                else t.normal_(0.0, 0.3, new GeneratorOptional(g));
            }
        }
        return m;
    }

    static void assertMatchesNaive(ModelConfig c, int[] ids) {
        try (PointerScope s = new PointerScope(); LlamaModel m = randomModel(c, 7)) {
            double[][] want = new NaiveLlama(m).logits(ids);
            long[] l = new long[ids.length];
            for (int i = 0; i < ids.length; i++) l[i] = ids[i];
            // both forward paths: stacked q/k/v and gate/up products (no autograd), and separate ones (training)
            for (boolean training : new boolean[]{false, true}) {
                m.requiresGrad(training);
                float[] got = Torch.toFloats(m.logits(Torch.longs(l, 1, ids.length), null).detach());
                double maxDiff = 0;
                for (int t = 0; t < ids.length; t++)
                    for (int v = 0; v < c.vocabSize(); v++) maxDiff = Math.max(maxDiff, Math.abs(want[t][v] - got[t * c.vocabSize() + v]));
                assertTrue(maxDiff <= 1e-4, c.architecture() + (training ? " (training path)" : " (inference path)") + ": max |fused − naive| = " + maxDiff);
            }
        }
    }

    static final int[] SEQ = {1, 5, 9, 33, 17, 4, 60, 2, 11, 12, 13, 40};

    @Test
    void llamaWithLlama3RopeScalingMatchesNaive() {
        assertMatchesNaive(TestModels.llama(64), SEQ);
    }

    @Test
    void qwen2WithGqaBiasesAndTiedEmbeddingsMatchesNaive() {
        ModelConfig c = TestModels.qwen2(64);
        assertTrue(c.numKvHeads() < c.numHeads() && c.tieWordEmbeddings() && c.attentionBias());
        assertMatchesNaive(c, SEQ);
    }

    @Test
    void mistralWithSlidingWindowAndLinearRopeMatchesNaive() {
        ModelConfig c = TestModels.mistral(64);
        assertTrue(SEQ.length > c.slidingWindow());
        assertMatchesNaive(c, SEQ);
    }

    /**
     * The decode path (one new token per call against the KV cache, where GQA runs the grouped-query SDPA
     * layout) gives the full forward's logits at every position: a left-padded batch of two rows, a 3-token
     * prefill and 9 single-token steps, for plain MHA (llama), GQA with biases (qwen2) and GQA with a
     * 4-token sliding window that the sequence outgrows (mistral).
     */
    @Test
    void decodeStepsWithTheCacheMatchTheFullForward() {
        long[] ids = {0, 0, 5, 9, 33, 17, 4, 60, 2, 11, 12, 13,   // row 0: two pads, then 10 tokens
                      1, 7, 8, 40, 41, 42, 43, 44, 45, 46, 47, 48}; // row 1: 12 tokens
        boolean[] real = new boolean[24];
        for (int i = 0; i < 24; i++) real[i] = !(i == 0 || i == 1);
        int prefill = 3, n = 12;
        for (ModelConfig c : java.util.List.of(TestModels.llama(64), TestModels.qwen2(64), TestModels.mistral(64)))
            for (int rows : new int[]{2, 1}) // one row takes the single-row paths (matrix-vector products, the one-row norm)
            try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard(); LlamaModel m = randomModel(c, 5);
                 KVCache cache = new KVCache(c, rows, n, ScalarType.Float)) {
                Tensor all = Torch.longs(ids, 2, n).narrow(0, 2 - rows, rows), mask = Torch.bools(real, 2, n).narrow(0, 2 - rows, rows);
                float[] want = Torch.toFloats(m.logits(all, mask));                  // (rows, n, V)
                double maxDiff = 0;
                for (int pos = 0; pos < n; ) {
                    int t = pos == 0 ? prefill : 1;
                    Tensor step = m.lmHead(m.hidden(all.narrow(1, pos, t), mask.narrow(1, 0, pos + t), cache)); // (rows, t, V)
                    float[] got = Torch.toFloats(step.contiguous());
                    int v = c.vocabSize();
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < t; j++)
                            for (int x = 0; x < v; x++) {
                                if (rows == 2 && r == 0 && pos + j < 2) continue;       // a padding query: no meaning
                                maxDiff = Math.max(maxDiff, Math.abs(want[(r * n + pos + j) * v + x] - got[(r * t + j) * v + x]));
                            }
                    pos += t;
                }
                assertEquals(n, cache.length());
                assertTrue(maxDiff <= 1e-4, c.architecture() + " rows " + rows + ": max |decode − full| = " + maxDiff);
            }
    }

    /**
     * x · Wᵀ + b through a oneDNN-packed W equals libtorch's linear (OpenBLAS) for the row counts decoding
     * uses, with and without a bias, keeping the leading shape. The build must have oneDNN, or every packed
     * path would silently fall back and the tests below would not exercise it.
     */
    @Test
    void packedLinearEqualsLinear() {
        assertTrue(PackedLinear.available(ScalarType.Float));
        assertFalse(PackedLinear.available(ScalarType.BFloat16));
        try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            Tensor w = torch.randn(40, 24), b = torch.randn(40), wp = PackedLinear.pack(w);
            for (long[] shape : new long[][]{{2, 24}, {3, 5, 24}, {64, 1, 24}}) {
                Tensor x = torch.randn(shape);
                long[] want = shape.clone();
                want[want.length - 1] = 40;
                Tensor got = PackedLinear.linear(x, wp, null, 40), gotB = PackedLinear.linear(x, wp, b, 40);
                assertArrayEquals(want, Torch.shape(got));
                assertArrayEquals(Torch.toFloats(torch.linear(x, w)), Torch.toFloats(got), 1e-4f);
                assertArrayEquals(Torch.toFloats(torch.linear(x, w, new org.bytedeco.pytorch.TensorOptional(b))), Torch.toFloats(gotB), 1e-4f);
            }
        }
    }

    @Test
    void packedDecodingSettingReadsTheEnvironmentVariable() {
        assertTrue(LlamaModel.packedDecodingSetting(null));
        assertTrue(LlamaModel.packedDecodingSetting(" "));
        assertTrue(LlamaModel.packedDecodingSetting("ON"));
        assertFalse(LlamaModel.packedDecodingSetting("0"));
        assertFalse(LlamaModel.packedDecodingSetting("false"));
        var e = assertThrows(dev.align4j.core.UserError.class, () -> LlamaModel.packedDecodingSetting("maybe"));
        assertTrue(e.getMessage().contains("ALIGN4J_PACKED_DECODING") && e.getMessage().contains("'maybe'"), e.getMessage());
    }

    /**
     * Decode steps of 2–64 rows run their products on oneDNN-packed copies of the block weights: the same
     * hidden states as the training path (separate OpenBLAS products, full forward), for layouts with and without
     * biases, and again after in-place updates of a stacked weight (q_proj, a view of the q/k/v stack) and of a
     * plain one (o_proj), which must remake the copies rather than reuse stale ones.
     */
    @Test
    void packedDecodeStepsMatchTheTrainingPathAndFollowWeightUpdates() {
        for (ModelConfig c : java.util.List.of(TestModels.llama(64), TestModels.qwen2(64))) {
            try (PointerScope s = new PointerScope(); LlamaModel m = randomModel(c, 11)) {
                Tensor ids = Torch.longs(new long[]{3, 5, 7, 9, 11, 13}, 2, 3);
                float[] previous = null;
                for (int round = 0; round < 2; round++) {
                    m.requiresGrad(false);
                    if (round == 1) try (NoGradGuard ng = new NoGradGuard()) {              // what an optimizer step does
                        m.parameters().get("model.layers.0.self_attn.q_proj.weight").mul_(Torch.s(-0.5));
                        m.parameters().get("model.layers.1.self_attn.o_proj.weight").add_(Torch.s(0.1));
                    }
                    float[] step;
                    try (NoGradGuard ng = new NoGradGuard(); KVCache cache = new KVCache(c, 2, 4, ScalarType.Float)) {
                        m.hidden(ids.narrow(1, 0, 2), null, cache);                        // prefill: plain products
                        step = Torch.toFloats(m.hidden(ids.narrow(1, 2, 1), null, cache));  // decode step, 2 rows: packed
                    }
                    m.requiresGrad(true);
                    float[] training = Torch.toFloats(m.hidden(ids, null, null).narrow(1, 2, 1).detach());
                    assertArrayEquals(training, step, 1e-4f, c.architecture() + " round " + round);
                    if (previous != null) assertFalse(java.util.Arrays.equals(previous, step), "the update changed nothing");
                    previous = step;
                }
            }
        }
    }

    /**
     * The decode head (a oneDNN-packed copy of the LM head weight, kept while the weight is unchanged) gives
     * lmHead's logits, for tied (qwen2) and untied (llama) heads, and again after an in-place update of the
     * weight (what an optimizer step does), which must rebuild the copy rather than reuse stale values.
     */
    @Test
    void nextTokenLogitsEqualTheLmHeadAndFollowWeightUpdates() {
        for (ModelConfig c : java.util.List.of(TestModels.llama(64), TestModels.qwen2(64))) {
            try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard(); LlamaModel m = randomModel(c, 9)) {
                Tensor h = torch.randn(new long[]{5, c.hiddenSize()}, Torch.opts(ScalarType.Float));
                String head = c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
                for (int round = 0; round < 2; round++) {
                    if (round == 1) m.parameters().get(head).mul_(Torch.s(-0.5));      // an in-place update
                    assertArrayEquals(Torch.toFloats(m.lmHead(h)), Torch.toFloats(m.nextTokenLogits(h)), 1e-5f, c.architecture() + " round " + round);
                    assertArrayEquals(Torch.toFloats(m.lmHead(h.narrow(0, 0, 1))), Torch.toFloats(m.nextTokenLogits(h.narrow(0, 0, 1))), 1e-5f);
                }
            }
        }
    }

    @Test
    void leftPaddedRowEqualsUnpaddedRow() {
        try (PointerScope s = new PointerScope(); LlamaModel m = randomModel(TestModels.qwen2(64), 3)) {
            float[] alone = Torch.toFloats(m.logits(Torch.longs(new long[]{5, 6, 7}, 1, 3), null));
            Tensor ids = Torch.longs(new long[]{0, 0, 5, 6, 7}, 1, 5);
            Tensor mask = Torch.bools(new boolean[]{false, false, true, true, true}, 1, 5);
            float[] padded = Torch.toFloats(m.logits(ids, mask).narrow(1, 2, 3));
            assertArrayEquals(alone, padded, 1e-5f);
        }
    }

    @Test
    void scorerLogProbsAreLogSoftmaxAtThePreviousPosition() {
        try (PointerScope s = new PointerScope(); LlamaModel m = randomModel(TestModels.llama(64), 5)) {
            // prompt [1, 7, 8], completion [9, 10]; second row prompt [1, 4], completion [20, 21, 22] → T = 5
            SeqBatch b = SeqBatch.of(java.util.List.of(new int[]{1, 7, 8}, new int[]{1, 4}),
                    java.util.List.of(new int[]{9, 10}, new int[]{20, 21, 22}), 0);
            Scoring.Scores sc = Scoring.score(m, b, true);
            float[] logits = Torch.toFloats(m.logits(b.ids(), null));     // (2, 5, 64)
            float[] tok = Torch.toFloats(sc.tokenLogps());                 // (2, 4)
            int V = 64, T = 5;
            long[][] rows = {{1, 7, 8, 9, 10}, {1, 4, 20, 21, 22}};
            int[] promptLen = {3, 2};
            for (int r = 0; r < 2; r++) {
                double sum = 0;
                for (int j = 0; j < T - 1; j++) {
                    boolean isCompletion = j + 1 >= promptLen[r];
                    // the token at position j+1 is scored by the logits at position j
                    double lse = 0, max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < V; v++) max = Math.max(max, logits[(r * T + j) * V + v]);
                    for (int v = 0; v < V; v++) lse += Math.exp(logits[(r * T + j) * V + v] - max);
                    double want = isCompletion ? logits[(r * T + j) * V + (int) rows[r][j + 1]] - max - Math.log(lse) : 0;
                    assertEquals(want, tok[r * (T - 1) + j], 1e-5, "row " + r + " col " + j);
                    sum += want;
                }
                assertEquals(sum, Torch.toFloats(sc.sum())[r], 1e-4);
                int n = r == 0 ? 2 : 3;
                assertEquals(sum / n, Torch.toFloats(sc.mean())[r], 1e-4);
            }
            // the wrong alignment (same position) must differ: guards the off-by-one
            double same = logits[(0 * T + 3) * V + 9];
            double shifted = logits[(0 * T + 2) * V + 9];
            assertNotEquals(same, shifted);
            float[] ent = Torch.toFloats(sc.entropy());
            assertEquals(0f, ent[0], 0f, "entropy is masked at prompt positions");
            assertTrue(ent[2] > 0 && ent[2] <= Math.log(V) + 1e-4);
        }
    }

    @Test
    void gradientsReachEveryParameter() {
        try (PointerScope s = new PointerScope(); LlamaModel m = randomModel(TestModels.qwen2(64), 9)) {
            m.requiresGrad(true);
            SeqBatch b = SeqBatch.of(java.util.List.of(new int[]{1, 7, 8}), java.util.List.of(new int[]{9, 10}), 0);
            Scoring.score(m, b, false).sum().sum().backward();
            for (var e : m.parameters().entrySet()) {
                Tensor g = e.getValue().grad();
                assertTrue(g.defined(), e.getKey() + " has no gradient");
                assertTrue(Torch.item(g.abs().sum()) > 0, e.getKey() + " gradient is zero");
            }
        }
    }

    @Test
    void bf16ComputeIsCloseToFp32() {
        try (PointerScope s = new PointerScope(); LlamaModel m = randomModel(TestModels.llama(64), 11); LlamaModel h = m.copy(ScalarType.BFloat16)) {
            Tensor ids = Torch.longs(new long[]{1, 5, 9, 33}, 1, 4);
            float[] a = Torch.toFloats(torch.softmax(m.logits(ids, null), -1));
            float[] b = Torch.toFloats(torch.softmax(h.logits(ids, null), -1));
            double max = 0;
            for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
            assertTrue(max < 0.05, "bf16 probabilities differ by " + max);
        }
    }
}
