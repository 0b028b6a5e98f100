package dev.align4j.model;

import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** *ForTokenClassification (process reward models): the Hugging Face layout, a round trip, and how the step logit is read. */
class TokenClassificationTest {
    @TempDir Path dir;

    static final long[] IDS = {1, 40, 41, 42, 43, 32, 44, 32};

    @Test
    void aTokenClassifierRoundTripsThroughAHuggingFaceDirectory() {
        try (PointerScope s = new PointerScope(); LlamaModel base = ModelTest.randomModel(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 3);
             LlamaModel prm = base.withTokenClassificationHead(2, 7)) {
            assertEquals("LlamaForTokenClassification", prm.config.architecture());
            assertEquals(Torch.toFloats(base.hidden(Torch.longs(IDS, 1, 8), null, null)).length, 8 * 32, "trunk kept");
            assertArrayEquals(new float[]{0, 0}, Torch.toFloats(prm.parameters().get("score.bias")), "a fresh head's bias is zero, as HF initialises nn.Linear biases");
            assertFalse(prm.parameters().containsKey("lm_head.weight"));
            try (var ng = new org.bytedeco.pytorch.NoGradGuard()) { prm.parameters().get("score.bias").copy_(Torch.floats(new float[]{0.25f, -0.5f}, 2)); }
            Tokenizer tok = TestModels.tokenizer(dir.resolve("tok"));
            HfModel.save(dir.resolve("prm"), prm, tok);
            var cfg = Json.read(dir.resolve("prm/config.json"));
            assertEquals("LlamaForTokenClassification", cfg.get("architectures").get(0).asText());
            assertEquals(2, cfg.get("id2label").size(), "num_labels as transformers reads it back");
            var names = Safetensors.header(dir.resolve("prm/model.safetensors")).keySet();
            assertTrue(names.contains("score.weight") && names.contains("score.bias") && !names.contains("lm_head.weight"), names.toString());
            try (HfModel.Loaded l = HfModel.load(dir.resolve("prm"), ScalarType.Float)) {
                assertTrue(l.model().config.tokenClassification());
                assertEquals(2, l.model().config.numLabels());
                assertEquals(prm.config, l.model().config);
                Tensor ids = Torch.longs(IDS, 1, 8);
                assertArrayEquals(Torch.toFloats(Scoring.stepLogits(prm, ids)), Torch.toFloats(Scoring.stepLogits(l.model(), ids)), 0f);
            }
            assertEquals(prm.parameterCount(), prm.config.parameterCount(), "the config counts the head's bias too");
        }
    }

    @Test
    void theStepLogitIsTheClassOneMarginForTwoLabelsAndTheLogitItselfForOne() {
        try (PointerScope s = new PointerScope(); LlamaModel base = ModelTest.randomModel(TestModels.qwen2(Tokenizer.BUILTIN_VOCAB), 4);
             LlamaModel two = base.withTokenClassificationHead(2, 1); LlamaModel one = base.withTokenClassificationHead(1, 1)) {
            Tensor ids = Torch.longs(IDS, 1, 8);
            float[] l2 = Torch.toFloats(two.scoreHead(two.hidden(ids, null, null)));                      // (1, 8, 2) flattened
            float[] z2 = Torch.toFloats(Scoring.stepLogits(two, ids));
            for (int t = 0; t < 8; t++) assertEquals(l2[2 * t + 1] - l2[2 * t], z2[t], 1e-6f, "z = l1 − l0 at token " + t);
            float[] l1 = Torch.toFloats(one.scoreHead(one.hidden(ids, null, null)));
            assertArrayEquals(l1, Torch.toFloats(Scoring.stepLogits(one, ids)), 0f);
            assertThrows(IllegalArgumentException.class, () -> Scoring.stepLogits(base.withScoreHead(1, 0), ids), "a sequence classifier is not a PRM");
        }
    }

    @Test
    void aConfigWithoutNumLabelsHasTwoAndAMissingBiasLoadsAsZero() throws Exception {
        try (PointerScope s = new PointerScope(); LlamaModel base = ModelTest.randomModel(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 5);
             LlamaModel prm = base.withTokenClassificationHead(2, 2)) {
            HfModel.save(dir.resolve("p"), prm, null);
            var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(dir.resolve("p/config.json"));
            cfg.remove("id2label");
            cfg.remove("label2id");
            Json.write(dir.resolve("p/config.json"), cfg);
            assertEquals(2, HfModel.config(dir.resolve("p")).numLabels(), "transformers' default num_labels");
            var tensors = new java.util.LinkedHashMap<String, Tensor>();
            Safetensors.read(dir.resolve("p/model.safetensors"), ScalarType.Float, tensors::put);
            tensors.remove("score.bias");
            try (LlamaModel r = LlamaModel.fromTensors(HfModel.config(dir.resolve("p")), tensors, ScalarType.Float, "test")) {
                assertArrayEquals(new float[]{0, 0}, Torch.toFloats(r.parameters().get("score.bias")));
            }
            assertTrue(Files.exists(dir.resolve("p/config.json")));
        }
    }
}
