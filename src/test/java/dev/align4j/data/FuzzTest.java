package dev.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.*;
import dev.align4j.model.ChatTemplateTestAccess;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Property-based fuzzing of every reader of user files: the JSONL dataset readers, the safetensors header
 * parser, config.json and tokenizer.json. Each case mutates a valid file (byte flips, insertions, deletions,
 * truncation, and structural JSON mutations: a field removed or replaced by a value of another type or an
 * extreme number). The property: the reader either accepts the input or throws a {@link UserError} whose
 * message starts with the file's path (and, for JSONL, the line). Anything else — a raw exception, an
 * error that does not say which file — fails the test, and the offending input is kept for reproduction.
 * Case counts are recorded in docs/reliability.md. Seeds are fixed, so every run checks the same cases.
 */
class FuzzTest {
    @TempDir Path dir;

    static final int JSONL_CASES = 1500, SAFETENSORS_CASES = 1500, CONFIG_CASES = 1500, TOKENIZER_CASES = 300;

    /** One reader under test; returns normally when it accepts the file. */
    interface Reader { void read(Path file) throws Exception; }

    record Outcome(int accepted, int rejected) {}

    /** Runs {@code n} mutated inputs through {@code reader}; fails on any input that breaks the property. */
    Outcome fuzz(String name, byte[] valid, int n, long seed, Reader reader, String messagePrefix) throws Exception {
        Random rnd = new Random(seed);
        Path file = dir.resolve(name);
        int accepted = 0, rejected = 0;
        for (int i = 0; i < n; i++) {
            byte[] input = i == 0 ? valid : mutate(valid, rnd);
            Files.write(file, input);
            try {
                reader.read(file);
                accepted++;
            } catch (UserError e) {
                rejected++;
                if (!e.getMessage().startsWith(messagePrefix.isEmpty() ? file.toString() : messagePrefix)) {
                    Path kept = keep(name, i, input);
                    fail(name + " case " + i + ": the error does not name the file: '" + e.getMessage() + "' (input kept at " + kept + ")");
                }
            } catch (Throwable t) {
                Path kept = keep(name, i, input);
                throw new AssertionError(name + " case " + i + ": not a user error: " + t + " (input kept at " + kept + ")", t);
            }
        }
        assertTrue(accepted >= 1, name + ": the valid input must be accepted");
        assertTrue(rejected >= n / 10, name + ": the mutations must reject a fair share of inputs, got " + rejected + " of " + n);
        System.err.printf("fuzz %s: %d cases, %d accepted, %d rejected with a user error%n", name, n, accepted, rejected);
        return new Outcome(accepted, rejected);
    }

    Path keep(String name, int i, byte[] input) throws Exception {
        Path kept = Path.of("target", "fuzz-failures", name + "-" + i);
        Files.createDirectories(kept.getParent());
        Files.write(kept, input);
        return kept.toAbsolutePath();
    }

    // ------------------------------------------------------------------------------------------ mutations

    static final JsonNode[] ODD = {null, Json.MAPPER.nullNode(), Json.MAPPER.getNodeFactory().numberNode(-1),
            Json.MAPPER.getNodeFactory().numberNode(0), Json.MAPPER.getNodeFactory().numberNode(1L << 40),
            Json.MAPPER.getNodeFactory().numberNode(1e308), Json.MAPPER.getNodeFactory().numberNode(2.5),
            Json.MAPPER.getNodeFactory().textNode(""), Json.MAPPER.getNodeFactory().textNode("x\u0000\uD83D\uDE00"),
            Json.MAPPER.getNodeFactory().booleanNode(true), Json.MAPPER.createArrayNode(), Json.MAPPER.createObjectNode(),
            Json.MAPPER.createArrayNode().add(1).add("a")};

    static byte[] mutate(byte[] valid, Random rnd) {
        int kind = rnd.nextInt(10);
        if (kind < 4) {                       // structural: parse (line by line for JSONL), mutate one node, re-encode
            byte[] s = structural(valid, rnd);
            if (s != null) return s;
        }
        byte[] b = valid.clone();
        int n = 1 + rnd.nextInt(4);
        for (int k = 0; k < n; k++) b = byteMutation(b, rnd);
        return b;
    }

    static byte[] byteMutation(byte[] b, Random rnd) {
        if (b.length == 0) return new byte[]{(byte) rnd.nextInt(256)};
        int at = rnd.nextInt(b.length);
        byte[] interesting = "{}[]\",:0-9e.\\\n \u00ff".getBytes(StandardCharsets.ISO_8859_1);
        switch (rnd.nextInt(6)) {
            case 0: b[at] ^= (byte) (1 << rnd.nextInt(8)); return b;
            case 1: b[at] = interesting[rnd.nextInt(interesting.length)]; return b;
            case 2: return Arrays.copyOf(b, at);                                           // truncation
            case 3: {                                                                      // deletion
                int len = Math.min(b.length - at, 1 + rnd.nextInt(16));
                byte[] o = new byte[b.length - len];
                System.arraycopy(b, 0, o, 0, at);
                System.arraycopy(b, at + len, o, at, b.length - at - len);
                return o;
            }
            case 4: {                                                                      // insertion
                byte[] o = new byte[b.length + 1];
                System.arraycopy(b, 0, o, 0, at);
                o[at] = interesting[rnd.nextInt(interesting.length)];
                System.arraycopy(b, at, o, at + 1, b.length - at);
                return o;
            }
            default: b[at] = (byte) rnd.nextInt(256); return b;
        }
    }

    /** Replaces or removes one random node of a JSON document (or of one line of a JSONL file). */
    static byte[] structural(byte[] valid, Random rnd) {
        String text = new String(valid, StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        boolean jsonl = lines.length > 2;
        int li = jsonl ? rnd.nextInt(lines.length - 1) : 0;
        String doc = jsonl ? lines[li] : text;
        try {
            JsonNode root = Json.MAPPER.readTree(doc);
            List<JsonNode> containers = new ArrayList<>();
            collect(root, containers);
            JsonNode c = containers.get(rnd.nextInt(containers.size()));
            JsonNode v = ODD[rnd.nextInt(ODD.length)];
            if (c instanceof ObjectNode o && o.size() > 0) {
                String field = new ArrayList<>(iterable(o.fieldNames())).get(rnd.nextInt(o.size()));
                if (v == null) o.remove(field); else o.set(field, v.deepCopy());
            } else if (c instanceof ArrayNode a && a.size() > 0) {
                int i = rnd.nextInt(a.size());
                if (v == null) a.remove(i); else a.set(i, v.deepCopy());
            }
            String out = Json.compact(root);
            if (!jsonl) return out.getBytes(StandardCharsets.UTF_8);
            lines[li] = out;
            return String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
        } catch (Exception e) {
            return null;
        }
    }

    static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            for (JsonNode c : n) collect(c, out);
        }
    }

    static <T> List<T> iterable(Iterator<T> it) {
        List<T> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    // ------------------------------------------------------------------------------------------ readers

    static String lines(String... rows) { return String.join("\n", rows) + "\n"; }

    @Test
    void datasetReaders() throws Exception {
        Random flag = new Random(7);
        byte[] pref = lines("{\"prompt\": \"2+2=\", \"chosen\": \"4\", \"rejected\": \"5\"}",
                "{\"chosen\": \"Q: hi A: yes\", \"rejected\": \"Q: hi A: no\"}",
                "{\"prompt\": [{\"role\": \"user\", \"content\": \"hi\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"yo\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"no\"}]}").getBytes(StandardCharsets.UTF_8);
        ChatTemplate chatml = ChatTemplateTestAccess.chatml();
        fuzz("preference.jsonl", pref, JSONL_CASES, 1, f -> PreferencePair.read(f, flag.nextBoolean(), chatml), "");
        byte[] sft = lines("{\"prompt\": \"a\", \"completion\": \"b\"}", "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}",
                "{\"prompt\": \"c\", \"completion\": \"d\"}").getBytes(StandardCharsets.UTF_8);
        fuzz("sft.jsonl", sft, JSONL_CASES, 2, f -> SftExample.read(f, flag.nextBoolean(), chatml), "");
        byte[] unpaired = lines("{\"prompt\": \"a\", \"completion\": \"b\", \"label\": true}", "{\"prompt\": \"a\", \"completion\": \"c\", \"label\": false}",
                "{\"prompt\": \"x\", \"completion\": \"y\", \"label\": true}").getBytes(StandardCharsets.UTF_8);
        fuzz("unpaired.jsonl", unpaired, JSONL_CASES, 3, f -> UnpairedExample.read(f, flag.nextBoolean()), "");
        byte[] ranked = lines("{\"prompt\": \"a\", \"completions\": [\"x\", \"y\", \"z\"], \"scores\": [1.0, 0.5, 0.0]}",
                "{\"prompt\": \"b\", \"completions\": [\"x\", \"y\"], \"ranks\": [2, 1]}",
                "{\"prompt\": \"c\", \"completions\": [\"p\", \"q\", \"r\"], \"ranks\": [1, 1, 3]}").getBytes(StandardCharsets.UTF_8);
        fuzz("ranked.jsonl", ranked, JSONL_CASES, 4, f -> RankedList.read(f, flag.nextBoolean()), "");
        byte[] scored = lines("{\"prompt\": \"a\", \"chosen\": \"x\", \"rejected\": \"y\", \"chosen_scores\": [1, 0.5], \"rejected_scores\": [0, 0.2]}",
                "{\"prompt\": \"b\", \"chosen\": \"x\", \"rejected\": \"y\", \"chosen_scores\": [0.3, 0.5], \"rejected_scores\": [0.1, 0.9]}",
                "{\"prompt\": \"c\", \"chosen\": \"x\", \"rejected\": \"z\", \"chosen_scores\": [1, 1], \"rejected_scores\": [0, 0]}").getBytes(StandardCharsets.UTF_8);
        fuzz("multi.jsonl", scored, JSONL_CASES, 5, f -> PreferencePair.readScored(f, flag.nextBoolean()), "");
    }

    @Test
    void safetensorsHeaderAndData() throws Exception {
        Torch.init();
        Path valid = dir.resolve("valid.safetensors");
        try (PointerScope s = new PointerScope()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("a.weight", Torch.floats(new float[]{1, 2, 3, 4, 5, 6}, 2, 3));
            t.put("b.bias", Torch.floats(new float[]{7, 8}, 2));
            t.put("c", Torch.floats(new float[]{9}, 1));
            Safetensors.write(valid, t, ScalarType.BFloat16, Map.of("format", "pt"));
        }
        byte[] bytes = Files.readAllBytes(valid);
        // mutate the header as JSON too (re-encoded with a correct length prefix), not only as bytes
        Random rnd = new Random(11);
        long hlen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) hlen, StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(bytes, 8 + (int) hlen, bytes.length);
        Reader read = f -> {
            try (PointerScope s = new PointerScope()) {
                Safetensors.read(f, ScalarType.Float, (k, x) -> x.close());
            }
        };
        Outcome bytesLevel = fuzz("model.safetensors", bytes, SAFETENSORS_CASES, 12, read, "");
        Outcome headerLevel = fuzz("header.safetensors", bytes, SAFETENSORS_CASES / 3, 13, f -> {
            byte[] h = structural(header.getBytes(StandardCharsets.UTF_8), rnd);
            if (h == null) h = byteMutation(header.getBytes(StandardCharsets.UTF_8), rnd);
            ByteBuffer bb = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
            bb.putLong(h.length).put(h).put(data);
            Files.write(f, bb.array());
            read.read(f);
        }, "");
        assertTrue(bytesLevel.rejected() + headerLevel.rejected() > 0);
    }

    @Test
    void configJson() throws Exception {
        ModelConfig c = ModelConfig.builtin("nano", 128, 1, new int[]{2}, 0);
        Path d = dir.resolve("cfg");
        try (PointerScope s = new PointerScope(); LlamaModel m = LlamaModel.init(c, 0, ScalarType.Float)) {
            HfModel.save(d, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
        }
        ObjectNode cfg = (ObjectNode) Json.read(d.resolve("config.json"));
        cfg.set("rope_scaling", Json.MAPPER.readTree("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}"));
        cfg.put("num_key_value_heads", cfg.get("num_attention_heads").asInt());
        fuzz("config.json", Json.pretty(cfg).getBytes(StandardCharsets.UTF_8), CONFIG_CASES, 21, f -> {
            ModelConfig mc = ModelConfig.read(f);
            // an accepted config is a buildable one
            assertTrue(mc.hiddenSize() > 0 && mc.numHeads() > 0 && mc.numHeads() % mc.numKvHeads() == 0 && mc.headDim() % 2 == 0);
        }, "");
    }

    @Test
    void tokenizerJson() throws Exception {
        Path tokDir = dir.resolve("tokdir");
        Tokenizer.writeBuiltin(tokDir);
        byte[] valid = Files.readAllBytes(tokDir.resolve("tokenizer.json"));
        ModelConfig c = ModelConfig.builtin("nano", 128, 1, new int[]{2}, 0);
        Files.createDirectories(dir.resolve("fuzz-tok"));
        fuzz("tokenizer.json", valid, TOKENIZER_CASES, 31, f -> {
            Path td = dir.resolve("fuzz-tok");
            Files.copy(f, td.resolve("tokenizer.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Tokenizer t = Tokenizer.load(td, c);
            t.encode("hello 12+3=", true);
        }, dir.resolve("fuzz-tok").toString());
    }
}
