package dev.align4j.model;

import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Hugging Face directory IO: round trips, dtypes, shards, and the errors a broken directory gives. */
class CheckpointIoTest {
    @TempDir Path dir;

    static float[] logits(LlamaModel m) {
        return Torch.toFloats(m.logits(Torch.longs(new long[]{1, 40, 41, 42, 43, 2}, 1, 6), null));
    }

    @Test
    void saveThenLoadGivesIdenticalLogits() {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTest.randomModel(TestModels.qwen2(Tokenizer.BUILTIN_VOCAB), 1)) {
            Tokenizer tok = TestModels.tokenizer(dir.resolve("tok"));
            HfModel.save(dir.resolve("m"), m, tok);
            assertTrue(Files.exists(dir.resolve("m/model.safetensors")));
            assertTrue(Files.exists(dir.resolve("m/tokenizer.json")));
            assertEquals("Qwen2ForCausalLM", Json.read(dir.resolve("m/config.json")).get("architectures").get(0).asText());
            try (HfModel.Loaded l = HfModel.load(dir.resolve("m"), ScalarType.Float)) {
                assertArrayEquals(logits(m), logits(l.model()), 0f);
                assertEquals(m.config, l.model().config);
                assertEquals(tok.encode("12+3=", true).length, l.tokenizer().encode("12+3=", true).length);
            }
        }
    }

    @Test
    void halfPrecisionFilesLoadAsTheRoundedWeights() {
        for (ScalarType disk : new ScalarType[]{ScalarType.BFloat16, ScalarType.Half}) {
            try (PointerScope s = new PointerScope(); LlamaModel m = ModelTest.randomModel(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 2)) {
                Path out = dir.resolve("m-" + disk);
                HfModel.save(out, m, null, disk, 1L << 30);
                String code = disk == ScalarType.BFloat16 ? "BF16" : "F16";
                assertEquals(code, Safetensors.header(out.resolve("model.safetensors")).values().iterator().next().dtype());
                try (LlamaModel r = HfModel.loadModel(out, HfModel.config(out), ScalarType.Float)) {
                    for (var e : m.parameters().entrySet()) {
                        float[] want = Torch.toFloats(e.getValue().to(disk).to(ScalarType.Float));
                        assertArrayEquals(want, Torch.toFloats(r.parameters().get(e.getKey())), 0f, e.getKey());
                    }
                }
            }
        }
    }

    @Test
    void shardedCheckpointLoads() throws Exception {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTest.randomModel(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 3)) {
            Path out = dir.resolve("sharded");
            HfModel.save(out, m, null, ScalarType.Float, 20_000);
            assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
            long shards;
            try (var l = Files.list(out)) { shards = l.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count(); }
            assertTrue(shards > 1, "expected several shards, got " + shards);
            try (LlamaModel r = HfModel.loadModel(out, HfModel.config(out), ScalarType.Float)) {
                assertArrayEquals(logits(m), logits(r), 0f);
            }
        }
    }

    private Path savedModel() {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTest.randomModel(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 4)) {
            Path out = dir.resolve("m");
            HfModel.save(out, m, TestModels.tokenizer(dir.resolve("tok")));
            return out;
        }
    }

    @Test
    void truncatedSafetensorsNamesTheFile() throws Exception {
        Path out = savedModel();
        Path f = out.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) { raf.setLength(raf.length() - 100); }
        UserError e = assertThrows(UserError.class, () -> HfModel.load(out, ScalarType.Float));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void corruptHeaderNamesTheFile() throws Exception {
        Path out = savedModel();
        Path f = out.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) { raf.seek(9); raf.write("@@@@".getBytes()); }
        UserError e = assertThrows(UserError.class, () -> HfModel.load(out, ScalarType.Float));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("header"), e.getMessage());
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) { raf.seek(0); raf.writeLong(Long.MAX_VALUE); }
        e = assertThrows(UserError.class, () -> HfModel.load(out, ScalarType.Float));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
    }

    @Test
    void missingConfigFieldIsNamed() throws Exception {
        Path out = savedModel();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(out.resolve("config.json"));
        cfg.remove("num_hidden_layers");
        Json.write(out.resolve("config.json"), cfg);
        UserError e = assertThrows(UserError.class, () -> HfModel.load(out, ScalarType.Float));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("num_hidden_layers"), e.getMessage());
    }

    @Test
    void unsupportedArchitectureIsNamed() throws Exception {
        Path out = savedModel();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(out.resolve("config.json"));
        cfg.putArray("architectures").add("GPT2LMHeadModel");
        Json.write(out.resolve("config.json"), cfg);
        UserError e = assertThrows(UserError.class, () -> HfModel.load(out, ScalarType.Float));
        assertTrue(e.getMessage().contains("GPT2LMHeadModel") && e.getMessage().contains("not supported"), e.getMessage());
    }

    @Test
    void tensorOfWrongShapeIsNamed() throws Exception {
        Path out = savedModel();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(out.resolve("config.json"));
        cfg.put("intermediate_size", 50);
        Json.write(out.resolve("config.json"), cfg);
        UserError e = assertThrows(UserError.class, () -> HfModel.load(out, ScalarType.Float));
        assertTrue(e.getMessage().contains("mlp.gate_proj.weight") && e.getMessage().contains("shape"), e.getMessage());
    }

    @Test
    void tokenizerLargerThanEmbeddingIsNamed() throws Exception {
        Path out = savedModel();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(out.resolve("config.json"));
        cfg.put("vocab_size", 50);
        Json.write(out.resolve("config.json"), cfg);
        UserError e = assertThrows(UserError.class, () -> HfModel.load(out, ScalarType.Float));
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("vocab_size"), e.getMessage());
    }

    @Test
    void safetensorsHeaderMatchesTheSpec() throws Exception {
        try (PointerScope s = new PointerScope()) {
            Tensor t = Torch.floats(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            Path f = dir.resolve("x.safetensors");
            Safetensors.write(f, java.util.Map.of("x", t), null, null);
            byte[] b = Files.readAllBytes(f);
            long hlen = java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, hlen % 8, "header is padded to 8 bytes");
            assertEquals(8 + hlen + 24, b.length);
            String header = new String(b, 8, (int) hlen);
            assertTrue(header.contains("\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"), header);
            assertEquals(1.0f, java.nio.ByteBuffer.wrap(b, (int) (8 + hlen), 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat());
        }
    }

    @Test
    void builtinTokenizerRoundTripsText() {
        Tokenizer tok = TestModels.tokenizer(dir);
        int[] ids = tok.encode("37+85=122", true);
        assertEquals(Tokenizer.BUILTIN_BOS, ids[0], "add_bos_token adds <s>");
        assertEquals(10, ids.length);
        assertEquals("37+85=122", tok.decode(ids, true));
        assertEquals(Tokenizer.BUILTIN_EOS, tok.eosIds[0]);
        assertEquals(Tokenizer.BUILTIN_PAD, tok.padId);
        assertEquals(1, tok.encode("a b", false)[0] == tok.encode("a", false)[0] ? 1 : 0);
        assertEquals("a b\nc", tok.decode(tok.encode("a b\nc", false), true));
    }
}
