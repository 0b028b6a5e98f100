package dev.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/** LoRA and DoRA: PEFT's file layout and names, the forward against naive references, merge, the adapter-free view. */
class LoraTest {
    @TempDir Path dir;

    static final long[] IDS = {1, 5, 9, 13, 17, 21, 25, 29, 1, 7, 11, 3, 40, 41, 42, 43};

    static Lora.Config cfg(int r, List<String> targets, boolean rslora, boolean dora) {
        return new Lora.Config(r, 8, 0.0, targets, rslora, dora);
    }

    /** Gives every B (and DoRA magnitude) random values, so that the adapters change the function. */
    static void perturb(Lora lora, long seed) {
        var g = torch.make_generator_cpu(seed);
        try (NoGradGuard ng = new NoGradGuard()) {
            lora.parameters().forEach((k, t) -> {
                if (k.endsWith("lora_B.weight")) t.normal_(0.0, 0.1, new org.bytedeco.pytorch.GeneratorOptional(g));
                if (k.endsWith("lora_magnitude_vector")) t.mul_(Torch.s(1.3));
            });
        }
    }

    static float[] logits(LlamaModel m) {
        try (PointerScope s = new PointerScope()) {
            return Torch.toFloats(m.logits(Torch.longs(IDS, 2, 8), null));
        }
    }

    /** Logits with autograd on (the training path: separate q/k/v and gate/up products). */
    static float[] logitsTraining(LlamaModel m) {
        try (PointerScope s = new PointerScope()) {
            m.requiresGrad(true);
            boolean was = GradMode.is_enabled();
            GradMode.set_enabled(true);
            try {
                return Torch.toFloats(m.logits(Torch.longs(IDS, 2, 8), null).detach());
            } finally {
                GradMode.set_enabled(was);
                m.requiresGrad(false);
            }
        }
    }

    static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }

    @Test
    void peftRoundTripWritesPeftsConfigNamesAndShapesAndReadsThemBack() {
        // Qwen2 layout (q/k/v biases, GQA: k/v 16 wide), 2 layers, hidden 32, intermediate 64; all-linear DoRA, r = 4
        ModelConfig c = TestModels.qwen2(Tokenizer.BUILTIN_VOCAB);
        try (LlamaModel m = ModelTestAccess.random(c, 1); LlamaModel fresh = ModelTestAccess.random(c, 1)) {
            m.attach(Lora.create(m, cfg(4, List.of("all-linear"), false, true), "/models/base", 7));
            perturb(m.lora(), 3);
            m.lora().save(dir);
            // adapter_config.json: peft's LoraConfig fields (peft/tuners/lora/config.py), target_modules expanded as peft saves them
            JsonNode j = Json.read(dir.resolve("adapter_config.json"));
            assertEquals("LORA", j.get("peft_type").asText());
            assertEquals("CAUSAL_LM", j.get("task_type").asText());
            assertEquals("/models/base", j.get("base_model_name_or_path").asText());
            assertEquals(4, j.get("r").asInt());
            assertEquals(8.0, j.get("lora_alpha").asDouble());
            assertEquals(0.0, j.get("lora_dropout").asDouble());
            assertEquals("none", j.get("bias").asText());
            assertFalse(j.get("fan_in_fan_out").asBoolean());
            assertFalse(j.get("use_rslora").asBoolean());
            assertTrue(j.get("use_dora").asBoolean());
            List<String> targets = new ArrayList<>();
            j.get("target_modules").forEach(t -> targets.add(t.asText()));
            assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), targets);
            // adapter_model.safetensors: peft's names (prefix base_model.model., adapter name removed, DoRA's magnitude without .weight)
            Map<String, Safetensors.Entry> h = Safetensors.header(dir.resolve("adapter_model.safetensors"));
            assertEquals(2 * 7 * 3, h.size(), h.keySet().toString());
            assertArrayEquals(new long[]{4, 32}, h.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape());
            assertArrayEquals(new long[]{32, 4}, h.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").shape());
            assertArrayEquals(new long[]{32}, h.get("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector").shape());
            assertArrayEquals(new long[]{16, 4}, h.get("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight").shape());
            assertArrayEquals(new long[]{4, 64}, h.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").shape());
            assertArrayEquals(new long[]{32, 4}, h.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").shape());
            assertArrayEquals(new long[]{64}, h.get("base_model.model.model.layers.1.mlp.gate_proj.lora_magnitude_vector").shape());
            assertEquals("F32", h.get("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight").dtype());
            // read back onto the same base: same tensors, same function
            fresh.attach(Lora.load(dir, fresh));
            assertEquals(m.lora().parameters().keySet(), fresh.lora().parameters().keySet());
            for (var e : m.lora().parameters().entrySet())
                assertArrayEquals(Torch.toFloats(e.getValue()), Torch.toFloats(fresh.lora().parameters().get(e.getKey())), e.getKey());
            assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), fresh.lora().config.loraTargets());
            assertTrue(fresh.lora().config.useDora());
            assertEquals(0, maxDiff(logits(m), logits(fresh)), 1e-6);
        }
    }

    @Test
    void aPeftFileWithAWrongShapeOrAForeignModuleIsAUserError() {
        ModelConfig c = TestModels.llama(Tokenizer.BUILTIN_VOCAB);
        try (LlamaModel m = ModelTestAccess.random(c, 1); LlamaModel other = ModelTestAccess.random(c, 1)) {
            m.attach(Lora.create(m, cfg(4, List.of("q_proj"), false, false), null, 1));
            m.lora().save(dir);
            Json.write(dir.resolve("adapter_config.json"), ((com.fasterxml.jackson.databind.node.ObjectNode) Json.read(dir.resolve("adapter_config.json"))).put("r", 8));
            UserError e = assertThrows(UserError.class, () -> Lora.load(dir, other));
            assertTrue(e.getMessage().contains("q_proj.lora_A.weight") && e.getMessage().contains("[8, 32]"), e.getMessage());
            Map<String, Tensor> t = new LinkedHashMap<>(m.lora().parameters());
            t.put("base_model.model.lm_head.lora_A.weight", torch.zeros(4, 32));
            Safetensors.write(dir.resolve("adapter_model.safetensors"), t, ScalarType.Float, null);
            Json.write(dir.resolve("adapter_config.json"), ((com.fasterxml.jackson.databind.node.ObjectNode) Json.read(dir.resolve("adapter_config.json"))).put("r", 4));
            e = assertThrows(UserError.class, () -> Lora.load(dir, other));
            assertTrue(e.getMessage().contains("lm_head") && e.getMessage().contains("q_proj"), e.getMessage());
        }
    }

    @Test
    void freshAdaptersLeaveTheFunctionUnchanged() {
        // B = 0 (LoRA) and m = ||W|| per row (DoRA): the adapted model computes the base model's logits
        ModelConfig c = TestModels.qwen2(Tokenizer.BUILTIN_VOCAB);
        for (boolean dora : new boolean[]{false, true})
            try (LlamaModel m = ModelTestAccess.random(c, 2)) {
                float[] base = logits(m);
                m.attach(Lora.create(m, cfg(4, List.of("all-linear"), false, dora), null, 5));
                for (var e : m.lora().parameters().entrySet())
                    if (e.getKey().endsWith("lora_B.weight")) assertEquals(0.0, Torch.item(e.getValue().abs().sum()));
                    else if (e.getKey().endsWith("lora_A.weight")) {     // kaiming-uniform(a=√5): U(±1/√in), in = 32 or 64
                        double bound = 1 / Math.sqrt(e.getValue().size(1)), max = Torch.item(e.getValue().abs().max());
                        assertTrue(max <= bound && max > 0.8 * bound, e.getKey() + ": max |A| " + max + " vs bound " + bound);
                    }
                assertEquals(0, maxDiff(base, logits(m)), 1e-5, "dora " + dora);
                assertEquals(0, maxDiff(base, logitsTraining(m)), 1e-5, "dora " + dora + " (training path)");
            }
    }

    @Test
    void mergedModelComputesWhatTheAdaptedModelComputes() {
        ModelConfig c = TestModels.qwen2(Tokenizer.BUILTIN_VOCAB);
        for (boolean dora : new boolean[]{false, true})
            for (boolean rslora : new boolean[]{false, true})
                try (LlamaModel m = ModelTestAccess.random(c, 3)) {
                    float[] base = logits(m);
                    m.attach(Lora.create(m, cfg(4, List.of("q_proj", "v_proj", "o_proj", "down_proj"), rslora, dora), null, 5));
                    perturb(m.lora(), 11);
                    float[] adapted = logits(m);
                    assertTrue(maxDiff(base, adapted) > 1e-2, "the adapters change the function");
                    assertEquals(0, maxDiff(adapted, logitsTraining(m)), 1e-5, "packed inference path = training path");
                    try (LlamaModel merged = m.copy(ScalarType.Float)) {
                        assertNull(merged.lora());
                        assertEquals(0, maxDiff(adapted, logits(merged)), 1e-5, "dora " + dora + " rslora " + rslora);
                    }
                    // the view without adapters is the base model, sharing its tensors
                    try (LlamaModel ref = m.reference()) {
                        assertEquals(0, maxDiff(base, logits(ref)), 1e-6);
                        for (var e : m.parameters().entrySet())
                            assertEquals(e.getValue().data_ptr(), ref.parameters().get(e.getKey()).data_ptr(), "no copy of " + e.getKey());
                    }
                    assertEquals(0, maxDiff(adapted, logits(m)), 1e-6, "closing the view left the model intact");
                }
    }

    @Test
    void doraLayerMatchesANaiveReference() {
        // y = m ⊙ (W + s·BA) x / ||W + s·BA||_row + b, computed in doubles from the definition (DoRA eq. 5)
        ModelConfig c = TestModels.qwen2(Tokenizer.BUILTIN_VOCAB);
        try (LlamaModel m = ModelTestAccess.random(c, 4); PointerScope s = new PointerScope()) {
            m.attach(Lora.create(m, cfg(2, List.of("q_proj"), false, true), null, 5));
            perturb(m.lora(), 12);
            String p = "base_model.model.model.layers.1.self_attn.q_proj.";
            Tensor w = m.parameters().get("model.layers.1.self_attn.q_proj.weight"), bias = m.parameters().get("model.layers.1.self_attn.q_proj.bias");
            Tensor a = m.lora().parameters().get(p + "lora_A.weight"), b = m.lora().parameters().get(p + "lora_B.weight"),
                    mag = m.lora().parameters().get(p + "lora_magnitude_vector");
            Tensor x = torch.randn(3, 32);
            Tensor got = m.lora().apply(1, Lora.Q, x, torch.linear(x, w, new org.bytedeco.pytorch.TensorOptional(bias)), w, bias);
            double sc = 8.0 / 2;
            double[] W = Torch.toDoubles(w), A = Torch.toDoubles(a), B = Torch.toDoubles(b), M = Torch.toDoubles(mag), X = Torch.toDoubles(x), bb = Torch.toDoubles(bias);
            double[] G = Torch.toDoubles(got);
            int out = 32, in = 32, r = 2;
            for (int o = 0; o < out; o++) {
                double[] row = new double[in];
                double norm = 0;
                for (int i = 0; i < in; i++) {
                    double ba = 0;
                    for (int k = 0; k < r; k++) ba += B[o * r + k] * A[k * in + i];
                    row[i] = W[o * in + i] + sc * ba;
                    norm += row[i] * row[i];
                }
                norm = Math.sqrt(norm);
                for (int n = 0; n < 3; n++) {
                    double y = 0;
                    for (int i = 0; i < in; i++) y += row[i] * X[n * in + i];
                    y = M[o] * y / norm + bb[o];
                    assertEquals(y, G[n * out + o], 1e-4, "row " + n + " out " + o);
                }
            }
        }
    }

    @Test
    void doraDetachesTheNormFromTheGradient() {
        // With n detached, d(sum y)/dm = Σ_n (W' x_n)_o / n_o and B's gradient flows only through the numerator.
        ModelConfig c = TestModels.qwen2(Tokenizer.BUILTIN_VOCAB);
        try (LlamaModel m = ModelTestAccess.random(c, 4); PointerScope s = new PointerScope()) {
            m.attach(Lora.create(m, cfg(2, List.of("q_proj"), false, true), null, 5));
            perturb(m.lora(), 12);
            String p = "base_model.model.model.layers.0.self_attn.q_proj.";
            Tensor w = m.parameters().get("model.layers.0.self_attn.q_proj.weight"), bias = m.parameters().get("model.layers.0.self_attn.q_proj.bias");
            Tensor a = m.lora().parameters().get(p + "lora_A.weight"), b = m.lora().parameters().get(p + "lora_B.weight"),
                    mag = m.lora().parameters().get(p + "lora_magnitude_vector");
            Tensor x = torch.randn(3, 32);
            m.requiresGrad(true);
            try {
                Tensor y = m.lora().apply(0, Lora.Q, x, torch.linear(x, w, new org.bytedeco.pytorch.TensorOptional(bias)), w, bias);
                y.sum().backward();
                // naive with the norm as a constant
                Tensor a2 = a.detach().clone().requires_grad_(true), b2 = b.detach().clone().requires_grad_(true), m2 = mag.detach().clone().requires_grad_(true);
                Tensor wp = w.add(b2.matmul(a2), Torch.s(4.0));
                Tensor n = wp.detach().pow(Torch.s(2.0)).sum(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).sqrt();
                Tensor y2 = torch.linear(x, wp.mul(m2.div(n).unsqueeze(1)), new org.bytedeco.pytorch.TensorOptional(bias));
                y2.sum().backward();
                assertEquals(0, maxDiff(Torch.toFloats(y.detach()), Torch.toFloats(y2.detach())), 1e-4);
                assertEquals(0, maxDiff(Torch.toFloats(b.grad()), Torch.toFloats(b2.grad())), 1e-4);
                assertEquals(0, maxDiff(Torch.toFloats(a.grad()), Torch.toFloats(a2.grad())), 1e-4);
                assertEquals(0, maxDiff(Torch.toFloats(mag.grad()), Torch.toFloats(m2.grad())), 1e-4);
            } finally {
                m.requiresGrad(false);
            }
        }
    }

    @Test
    void rsloraScalesByTheSquareRootOfTheRank() {
        assertEquals(8.0 / 4, cfg(4, List.of("q_proj"), false, false).scaling());    // α / r = 8 / 4
        assertEquals(8.0 / 2, cfg(4, List.of("q_proj"), true, false).scaling());     // α / √r = 8 / 2
        UserError e = assertThrows(UserError.class, () -> cfg(4, List.of("qproj"), false, false));
        assertTrue(e.getMessage().contains("'qproj'") && e.getMessage().contains("q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"), e.getMessage());
    }

    @Test
    void anAdapterDirectoryLoadsOntoTheBaseItNames() throws Exception {
        ModelConfig c = TestModels.llama(Tokenizer.BUILTIN_VOCAB);
        Path base = dir.resolve("base"), ad = dir.resolve("adapter");
        try (LlamaModel m = ModelTestAccess.random(c, 6)) {
            HfModel.save(base, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            m.attach(Lora.create(m, cfg(4, List.of("all-linear"), false, false), base.toString(), 5));
            perturb(m.lora(), 1);
            HfModel.save(ad, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            assertFalse(Files.exists(ad.resolve("config.json")));
            assertTrue(Files.exists(ad.resolve("adapter_model.safetensors")));
            try (HfModel.Loaded l = HfModel.load(ad, ScalarType.Float)) {
                assertNotNull(l.model().lora());
                assertEquals(0, maxDiff(logits(m), logits(l.model())), 1e-6);
            }
        }
    }
}
