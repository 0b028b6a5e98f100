package dev.align4j.model;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Activation checkpointing: the gradients of a checkpointed forward equal the plain backward's, for every layout and with LoRA dropout. */
class RecomputeTest {
    static final long[] IDS = {1, 5, 9, 13, 17, 21, 25, 29, 1, 7, 11, 3, 40, 41, 42, 43};

    /**
     * The gradient of every trainable parameter under a fixed loss, Σ w ⊙ log_softmax(logits) with fixed random w,
     * through the loop's backward ({@link Recompute#backward}), with checkpointing on or off; the grads are zeroed after.
     */
    static Map<String, float[]> grads(LlamaModel m, boolean checkpointing) {
        m.gradientCheckpointing(checkpointing);
        Map<String, float[]> out = new LinkedHashMap<>();
        boolean was = GradMode.is_enabled();
        try (PointerScope s = new PointerScope()) {
            GradMode.set_enabled(true);
            m.requiresGrad(true);
            Tensor logits = m.logits(Torch.longs(IDS, 2, 8), null);                        // (2, 8, V)
            Tensor w = torch.randn(logits.sizes().vec().get(), new GeneratorOptional(torch.make_generator_cpu(7)), Torch.opts(ScalarType.Float));
            if (checkpointing) assertEquals(1, Recompute.pending(), "one checkpointed forward waits for its blocks' backward");
            Recompute.backward(torch.log_softmax(logits, -1).mul(w).sum());
            assertEquals(0, Recompute.pending());
            m.trainableParameters().forEach((k, t) -> {
                assertTrue(t.grad().defined(), k + " has a gradient");
                out.put(k, Torch.toFloats(t.grad()));
                t.grad().zero_();
            });
        } finally {
            m.requiresGrad(false);
            GradMode.set_enabled(was);
            m.gradientCheckpointing(false);
        }
        return out;
    }

    static void assertSame(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        double max = 0, scale = 0;
        for (String k : a.keySet()) {
            float[] x = a.get(k), y = b.get(k);
            for (int i = 0; i < x.length; i++) {
                max = Math.max(max, Math.abs(x[i] - y[i]));
                scale = Math.max(scale, Math.abs(x[i]));
            }
        }
        assertTrue(scale > 1e-3, "the loss reaches the parameters");
        assertTrue(max <= 1e-6 * Math.max(1, scale), "largest gradient difference " + max + " (largest gradient " + scale + ")");
    }

    @Test
    void gradientsEqualThePlainBackwardInEveryLayout() {
        // llama (rope scaling), qwen2 (q/k/v biases, tied embeddings), mistral (sliding window: an explicit mask)
        for (ModelConfig c : List.of(TestModels.llama(64), TestModels.qwen2(64), TestModels.mistral(64))) {
            try (LlamaModel m = LlamaModel.init(c, 3, ScalarType.Float)) {
                assertSame(grads(m, false), grads(m, true));
            }
        }
    }

    @Test
    void withLoraDropoutTheRecomputeSeesTheFirstForwardsMasks() {
        try (LlamaModel m = LlamaModel.init(TestModels.llama(64), 3, ScalarType.Float)) {
            Lora lora = Lora.create(m, new Lora.Config(4, 8, 0.3, List.of(Lora.ALL_LINEAR), false, false), null, 11);
            m.attach(lora);
            LoraTest.perturb(lora, 5);
            long d0 = lora.draws();
            Map<String, float[]> plain = grads(m, false);
            long perForward = lora.draws() - d0;
            assertTrue(perForward > 0, "dropout drew masks");
            lora.draws(d0);                                          // the same masks again
            Map<String, float[]> ckpt = grads(m, true);
            assertEquals(d0 + perForward, lora.draws(), "the recompute rewinds the draws, then leaves them where the forward did");
            assertSame(plain, ckpt);
        }
    }

    @Test
    void onlyTrainingForwardsAreCheckpointed() {
        try (LlamaModel m = LlamaModel.init(TestModels.llama(64), 3, ScalarType.Float); PointerScope s = new PointerScope()) {
            m.gradientCheckpointing(true);
            float[] plain;
            try (NoGradGuard ng = new NoGradGuard()) {
                plain = Torch.toFloats(m.logits(Torch.longs(IDS, 2, 8), null));    // scoring without autograd
            }
            assertEquals(0, Recompute.pending());
            boolean was = GradMode.is_enabled();
            GradMode.set_enabled(true);
            try {
                float[] frozen = Torch.toFloats(m.logits(Torch.longs(IDS, 2, 8), null));   // autograd on, nothing trainable
                assertEquals(0, Recompute.pending(), "a reference's forward with frozen weights keeps nothing");
                assertArrayEquals(plain, frozen, 1e-5f);
                m.requiresGrad(true);
                float[] trained = Torch.toFloats(m.logits(Torch.longs(IDS, 2, 8), null).detach());
                assertEquals(1, Recompute.pending());
                assertArrayEquals(plain, trained, 1e-5f, "the checkpointed forward computes the same logits");
            } finally {
                Recompute.clear();
                m.requiresGrad(false);
                GradMode.set_enabled(was);
            }
        }
    }
}
