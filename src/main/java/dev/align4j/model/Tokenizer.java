package dev.align4j.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.*;

/**
 * A Hugging Face {@code tokenizer.json} (through DJL's bindings to the Rust tokenizers) plus the special
 * tokens from {@code tokenizer_config.json} and {@code generation_config.json}, resolved as transformers
 * does: BOS follows {@code add_bos_token} when given, else the tokenizer.json post-processor; EOS ids come
 * from generation_config.json, then config.json, then the tokenizer's eos_token; PAD from pad_token,
 * else EOS. Also the built-in character-level tokenizer of the built-in tasks, written as a standard
 * tokenizer.json so built-in models round-trip like any other.
 */
public final class Tokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer hf;
    public final int bosId, padId;
    public final int[] eosIds;
    public final boolean addBos;
    public final int vocabSize;
    public final String chatTemplate;
    private final Path dir;
    private final String bosText;   // the BOS token as text, to recognise already-templated input

    private Tokenizer(HuggingFaceTokenizer hf, int vocabSize, int bosId, int[] eosIds, int padId, boolean addBos, String chatTemplate, Path dir) {
        this.hf = hf;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosIds = eosIds;
        this.padId = padId;
        this.addBos = addBos;
        this.chatTemplate = chatTemplate;
        this.dir = dir;
        this.bosText = bosId >= 0 ? hf.decode(new long[]{bosId}, false) : null;
    }

    /** Loads tokenizer.json, tokenizer_config.json and generation_config.json from a model directory. */
    public static Tokenizer load(Path dir, ModelConfig config) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.exists(file)) throw new UserError(dir + ": no tokenizer.json");
        JsonNode tj = Json.read(file);
        JsonNode model = tj.path("model");
        if (!model.has("vocab")) throw new UserError(file + ": missing field 'model.vocab'");
        Map<String, Integer> vocab = new HashMap<>();
        if (model.get("vocab").isObject()) model.get("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        else if (model.get("vocab").isArray()) { // Unigram: [[piece, score], ...]
            int i = 0;
            for (JsonNode p : model.get("vocab")) vocab.put(p.path(0).asText(), i++);
        }
        for (JsonNode a : tj.path("added_tokens")) vocab.put(a.path("content").asText(), a.path("id").asInt());
        int maxId = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "true", "modelMaxLength", "1000000000"));
        } catch (Exception e) {
            throw new UserError(file + ": cannot load tokenizer: " + e.getMessage());
        }
        JsonNode tc = Json.readIfExists(dir.resolve("tokenizer_config.json"));
        JsonNode gc = Json.readIfExists(dir.resolve("generation_config.json"));
        int bos = tokenId(tc, "bos_token", vocab, config == null ? -1 : config.bosTokenId());
        int[] eos = gc != null && gc.has("eos_token_id") ? ModelConfig.ids(gc.get("eos_token_id"))
                : config != null && config.eosTokenIds().length > 0 ? config.eosTokenIds()
                : new int[]{tokenId(tc, "eos_token", vocab, -1)};
        if (eos.length == 1 && eos[0] < 0) eos = new int[0];
        int pad = tokenId(tc, "pad_token", vocab, config != null && config.padTokenId() >= 0 ? config.padTokenId() : eos.length > 0 ? eos[0] : 0);
        boolean addBos = tc != null && tc.has("add_bos_token") ? tc.get("add_bos_token").asBoolean() : postProcessorAddsBos(hf, bos);
        String template = chatTemplate(dir, tc);
        if (config != null && maxId >= config.vocabSize())
            throw new UserError(file + ": tokenizer has token id " + maxId + " but the model's embedding has only "
                    + config.vocabSize() + " rows (config.json vocab_size)");
        return new Tokenizer(hf, maxId + 1, bos, eos, pad, addBos && bos >= 0, template, dir);
    }

    /**
     * The chat template as transformers finds it: {@code chat_template.jinja} beside the tokenizer (newer transformers save it
     * there), else tokenizer_config.json's {@code chat_template}: a string, or a list of {@code {"name", "template"}} of which
     * the one named {@code default} is used. A template that is empty or not a string is an error, never a silent "".
     */
    static String chatTemplate(Path dir, JsonNode tc) {
        Path jinja = dir.resolve("chat_template.jinja");
        try {
            if (Files.exists(jinja)) {
                String t = Files.readString(jinja);
                if (t.isBlank()) throw new UserError(jinja + ": empty chat template");
                return t;
            }
        } catch (java.io.IOException e) {
            throw new UserError(jinja + ": cannot read: " + e.getMessage());
        }
        if (tc == null || !tc.hasNonNull("chat_template")) return null;
        JsonNode v = tc.get("chat_template");
        Path where = dir.resolve("tokenizer_config.json");
        if (v.isArray()) {
            List<String> names = new ArrayList<>();
            for (JsonNode named : v) {
                names.add(named.path("name").asText());
                if (named.path("name").asText().equals("default")) v = named.get("template");
            }
            if (v == null || v.isArray()) throw new UserError(where + ": chat_template is a list of named templates " + names + " without one named 'default'");
        }
        if (!v.isTextual() || v.asText().isBlank())
            throw new UserError(where + ": chat_template must be a non-empty string (or a list of {name, template} with a 'default'), got " + (v.isTextual() ? "an empty string" : v.getNodeType()));
        return v.asText();
    }

    private static boolean postProcessorAddsBos(HuggingFaceTokenizer hf, int bos) {
        if (bos < 0) return false;
        long[] ids = hf.encode("a", true, false).getIds();
        return ids.length > 0 && ids[0] == bos;
    }

    private static int tokenId(JsonNode tc, String field, Map<String, Integer> vocab, int fallback) {
        if (tc == null || !tc.hasNonNull(field)) return fallback;
        JsonNode v = tc.get(field);
        String content = v.isObject() ? v.path("content").asText() : v.asText();
        Integer id = vocab.get(content);
        return id == null ? fallback : id;
    }

    /** The chat template of tokenizer_config.json, or null when the model has none. */
    public ChatTemplate chatTemplate() {
        if (chatTemplate == null) return null;
        String bos = bosText == null ? "" : bosText, eos = eosIds.length > 0 ? decode(new int[]{eosIds[0]}, false) : "";
        return new ChatTemplate(chatTemplate, bos, eos);
    }

    /**
     * Token ids of {@code text}; with {@code specialTokens} the BOS rule applies (as transformers' add_special_tokens).
     * Text that already starts with the BOS token (a rendered chat template) gets no second BOS.
     */
    public int[] encode(String text, boolean specialTokens) {
        if (specialTokens && bosText != null && !bosText.isEmpty() && text.startsWith(bosText)) specialTokens = false;
        Encoding e = hf.encode(text, specialTokens, false);
        long[] ids = e.getIds();
        List<Integer> out = new ArrayList<>(ids.length + 1);
        for (long id : ids) out.add((int) id);
        if (specialTokens) {
            boolean startsWithBos = !out.isEmpty() && out.get(0) == bosId;
            if (addBos && !startsWithBos) out.add(0, bosId);
            if (!addBos && startsWithBos && bosId >= 0) out.remove(0);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    public int[] encode(String text) { return encode(text, false); }

    public String decode(int[] ids, boolean skipSpecial) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return hf.decode(l, skipSpecial);
    }

    public String decode(int[] ids) { return decode(ids, true); }

    public boolean isEos(int id) {
        for (int e : eosIds) if (e == id) return true;
        return false;
    }

    /** Copies the tokenizer files next to a saved model (atomically, file by file). */
    public void saveTo(Path out) {
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json")) {
            Path src = dir.resolve(f);
            if (!Files.exists(src) || src.toAbsolutePath().normalize().equals(out.resolve(f).toAbsolutePath().normalize())) continue;
            Path tmp = AtomicFiles.tempSibling(out.resolve(f));
            try {
                Files.copy(src, tmp, StandardCopyOption.REPLACE_EXISTING);
                AtomicFiles.move(tmp, out.resolve(f));
            } catch (IOException e) {
                AtomicFiles.deleteQuietly(tmp);
                throw new UserError(out.resolve(f) + ": cannot write: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public void close() { hf.close(); }

    // ------------------------------------------------------------------------------- built-in tokenizer

    /** Special tokens of the built-in character tokenizer. */
    public static final int BUILTIN_PAD = 0, BUILTIN_BOS = 1, BUILTIN_EOS = 2, BUILTIN_UNK = 3;
    /** Vocabulary size of the built-in tokenizer: 4 specials + printable ASCII (95) + newline, padded to 128. */
    public static final int BUILTIN_VOCAB = 128;

    /**
     * Writes the built-in character-level tokenizer (BPE with no merges: one token per character) as
     * tokenizer.json, tokenizer_config.json and generation_config.json into {@code dir}, and loads it.
     */
    public static Tokenizer writeBuiltin(Path dir) {
        ObjectNode root = Json.object();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<pad>", "<s>", "</s>", "<unk>"};
        for (int i = 0; i < specials.length; i++) {
            ObjectNode a = added.addObject();
            a.put("id", i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putNull("pre_tokenizer");
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "Fuse");
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE").putNull("dropout");
        m.put("unk_token", "<unk>").putNull("continuing_subword_prefix");
        m.putNull("end_of_word_suffix");
        m.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = m.putObject("vocab");
        for (int i = 0; i < specials.length; i++) vocab.put(specials[i], i);
        int id = specials.length;
        vocab.put("\n", id++);
        for (char c = 32; c < 127; c++) vocab.put(String.valueOf(c), id++);
        m.putArray("merges");
        Json.write(dir.resolve("tokenizer.json"), root);
        ObjectNode tc = Json.object();
        tc.put("tokenizer_class", "PreTrainedTokenizerFast");
        tc.put("bos_token", "<s>").put("eos_token", "</s>").put("pad_token", "<pad>").put("unk_token", "<unk>");
        tc.put("add_bos_token", true).put("add_eos_token", false);
        tc.put("model_max_length", 1 << 20);
        tc.put("chat_template", "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}");
        Json.write(dir.resolve("tokenizer_config.json"), tc);
        ObjectNode gc = Json.object();
        gc.put("bos_token_id", BUILTIN_BOS).put("eos_token_id", BUILTIN_EOS).put("pad_token_id", BUILTIN_PAD);
        Json.write(dir.resolve("generation_config.json"), gc);
        return load(dir, null);
    }
}
