package dev.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The shape of a Llama-family decoder, read from and written to a Hugging Face {@code config.json}.
 * Covers LlamaForCausalLM, Qwen2ForCausalLM and MistralForCausalLM (and their
 * *ForSequenceClassification variants, used for reward models, and *ForTokenClassification, used for process reward
 * models). Validated on construction.
 *
 * @param family          layout family: decides q/k/v biases and the {@code model_type} written
 * @param numLabels       0 for a causal LM; otherwise the size of the {@code score} head (reward model)
 * @param tokenClassification the {@code score} head (with a bias, as transformers' *ForTokenClassification has) reads every
 *                        token, not only the last: *ForTokenClassification (a process reward model); needs numLabels &gt; 0
 * @param headDim         per-head width; HF default hidden_size / num_attention_heads
 * @param ropeScaling     null, or the {@code llama3} / {@code linear} scaling of rotary frequencies
 * @param attentionBias   q/k/v (and, for Llama's attention_bias, o) projection biases
 * @param slidingWindow   0 = full attention; otherwise each token sees at most this many previous ones
 * @param eosTokenIds     every id that ends generation (generation_config.json may list several)
 */
public record ModelConfig(
        Family family, int numLabels,
        int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
        int numHeads, int numKvHeads, int headDim,
        int maxPositionEmbeddings, double rmsNormEps, double ropeTheta, RopeScaling ropeScaling,
        boolean tieWordEmbeddings, boolean attentionBias, boolean oProjBias, boolean mlpBias, int slidingWindow,
        int bosTokenId, int[] eosTokenIds, int padTokenId, double initializerRange, String torchDtype, boolean tokenClassification) {

    public enum Family {
        LLAMA("llama", "Llama"), QWEN2("qwen2", "Qwen2"), MISTRAL("mistral", "Mistral");
        public final String modelType, prefix;

        Family(String modelType, String prefix) { this.modelType = modelType; this.prefix = prefix; }
    }

    /** Rotary scaling as found in config.json: type {@code llama3} or {@code linear}. */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
        public RopeScaling {
            if (!type.equals("llama3") && !type.equals("linear"))
                throw new UserError("rope_scaling.rope_type '" + type + "' is not supported: expected llama3 or linear");
            UserError.check(factor > 0, "rope_scaling.factor must be > 0: %s", factor);
        }
    }

    public ModelConfig {
        check(vocabSize > 0, "vocab_size", vocabSize);
        check(hiddenSize > 0, "hidden_size", hiddenSize);
        check(intermediateSize > 0, "intermediate_size", intermediateSize);
        check(numLayers > 0, "num_hidden_layers", numLayers);
        check(numHeads > 0, "num_attention_heads", numHeads);
        check(numKvHeads > 0 && numHeads % numKvHeads == 0, "num_key_value_heads (must divide num_attention_heads)", numKvHeads);
        check(headDim > 0 && headDim % 2 == 0, "head_dim (must be even)", headDim);
        check(maxPositionEmbeddings > 0, "max_position_embeddings", maxPositionEmbeddings);
        check(rmsNormEps > 0, "rms_norm_eps", rmsNormEps);
        check(ropeTheta > 0, "rope_theta", ropeTheta);
        check(numLabels >= 0, "num_labels", numLabels);
        check(slidingWindow >= 0, "sliding_window", slidingWindow);
        check(!tokenClassification || numLabels > 0, "num_labels (a token-classification head needs at least one label)", numLabels);
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
    }

    /** A causal LM or a sequence classifier: every field but {@code tokenClassification}. */
    public ModelConfig(Family family, int numLabels, int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
                       int numHeads, int numKvHeads, int headDim, int maxPositionEmbeddings, double rmsNormEps, double ropeTheta,
                       RopeScaling ropeScaling, boolean tieWordEmbeddings, boolean attentionBias, boolean oProjBias, boolean mlpBias,
                       int slidingWindow, int bosTokenId, int[] eosTokenIds, int padTokenId, double initializerRange, String torchDtype) {
        this(family, numLabels, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, maxPositionEmbeddings,
                rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings, attentionBias, oProjBias, mlpBias, slidingWindow, bosTokenId,
                eosTokenIds, padTokenId, initializerRange, torchDtype, false);
    }

    private static void check(boolean ok, String field, Object value) {
        if (!ok) throw new UserError("config field " + field + " has an invalid value: " + value);
    }

    public boolean isCausalLm() { return numLabels == 0; }

    public String architecture() {
        return family.prefix + (isCausalLm() ? "ForCausalLM" : tokenClassification ? "ForTokenClassification" : "ForSequenceClassification");
    }

    /** The same model with a reward / value head of {@code labels} outputs (read at the last token) instead of the LM head. */
    public ModelConfig withNumLabels(int labels) {
        return withHead(labels, false);
    }

    /** The same model with a per-token classification head of {@code labels} outputs (a process reward model). */
    public ModelConfig withTokenLabels(int labels) {
        return withHead(labels, true);
    }

    private ModelConfig withHead(int labels, boolean perToken) {
        return new ModelConfig(family, labels, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings, attentionBias,
                oProjBias, mlpBias, slidingWindow, bosTokenId, eosTokenIds, padTokenId, initializerRange, torchDtype, perToken);
    }

    public ModelConfig withVocab(int vocab, int bos, int[] eos, int pad) {
        return new ModelConfig(family, numLabels, vocab, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings, attentionBias,
                oProjBias, mlpBias, slidingWindow, bos, eos, pad, initializerRange, torchDtype, tokenClassification);
    }

    /** A small Llama-layout config for built-in models; {@code size} is tiny (~1M), small (~20M) or medium (~100M). */
    public static ModelConfig builtin(String size, int vocab, int bos, int[] eos, int pad) {
        int h, inter, layers, heads, kv, maxPos;
        switch (size) {
            case "nano" -> { h = 32; inter = 64; layers = 2; heads = 4; kv = 2; maxPos = 128; }
            case "tiny" -> { h = 128; inter = 384; layers = 4; heads = 4; kv = 2; maxPos = 256; }
            case "small" -> { h = 384; inter = 1024; layers = 8; heads = 6; kv = 2; maxPos = 512; }
            case "medium" -> { h = 768; inter = 2048; layers = 12; heads = 12; kv = 4; maxPos = 1024; }
            default -> throw new UserError("--init " + size + ": expected nano, tiny, small or medium");
        }
        return new ModelConfig(Family.LLAMA, 0, vocab, h, inter, layers, heads, kv, h / heads, maxPos, 1e-5, 10000.0,
                null, true, false, false, false, 0, bos, eos, pad, 0.02, "float32");
    }

    // ---------------------------------------------------------------------------------------------- config.json

    public static ModelConfig read(Path file) {
        JsonNode n = Json.read(file);
        try {
            return parse(n, file);
        } catch (UserError e) {
            throw e.getMessage().startsWith(file.toString()) ? e : new UserError(file + ": " + e.getMessage());
        }
    }

    private static ModelConfig parse(JsonNode n, Path file) {
        if (!n.isObject()) throw new UserError(file + ": expected a JSON object");
        String arch = n.path("architectures").path(0).asText(null);
        String modelType = n.path("model_type").asText(null);
        if (arch == null && modelType == null)
            throw new UserError(file + ": missing field 'architectures' (e.g. [\"LlamaForCausalLM\"])");
        Family family = null;
        for (Family f : Family.values())
            if ((arch != null && arch.startsWith(f.prefix + "For")) || (arch == null && f.modelType.equals(modelType))) family = f;
        if (family == null)
            throw new UserError(file + ": architecture '" + (arch != null ? arch : modelType)
                    + "' is not supported: expected LlamaForCausalLM, Qwen2ForCausalLM or MistralForCausalLM (or *ForSequenceClassification, *ForTokenClassification)");
        int numLabels = 0;
        boolean perToken = arch != null && arch.endsWith("ForTokenClassification");
        if (arch != null && (arch.endsWith("ForSequenceClassification") || perToken)) {
            // transformers' PretrainedConfig defaults to two labels when neither num_labels nor id2label is given
            numLabels = n.has("num_labels") ? n.get("num_labels").asInt() : n.has("id2label") ? n.get("id2label").size() : perToken ? 2 : 1;
        } else if (arch != null && !arch.endsWith("ForCausalLM")) {
            throw new UserError(file + ": architecture '" + arch + "' is not supported: expected a *ForCausalLM, *ForSequenceClassification or *ForTokenClassification");
        }
        int hidden = req(n, "hidden_size", file);
        int heads = req(n, "num_attention_heads", file);
        int kv = n.has("num_key_value_heads") && !n.get("num_key_value_heads").isNull() ? n.get("num_key_value_heads").asInt() : heads;
        int headDim = n.has("head_dim") && !n.get("head_dim").isNull() ? n.get("head_dim").asInt() : heads > 0 ? hidden / heads : 0;
        RopeScaling rs = null;
        JsonNode r = n.get("rope_scaling");
        if (r != null && !r.isNull()) {
            String type = r.has("rope_type") ? r.get("rope_type").asText() : r.path("type").asText("");
            if (!type.equals("default")) {
                if (!r.has("factor")) throw new UserError(file + ": rope_scaling is missing field 'factor'");
                rs = new RopeScaling(type, r.get("factor").asDouble(), r.path("low_freq_factor").asDouble(1.0),
                        r.path("high_freq_factor").asDouble(4.0), r.path("original_max_position_embeddings").asInt(8192));
            }
        }
        boolean qkvBias = family == Family.QWEN2 || n.path("attention_bias").asBoolean(false);
        boolean oBias = family == Family.LLAMA && n.path("attention_bias").asBoolean(false);
        int sliding = 0;
        JsonNode sw = n.get("sliding_window");
        boolean useSliding = family == Family.MISTRAL || n.path("use_sliding_window").asBoolean(false);
        if (useSliding && sw != null && !sw.isNull()) sliding = sw.asInt();
        int[] eos = ids(n.get("eos_token_id"));
        JsonNode pad = n.get("pad_token_id");
        JsonNode bos = n.get("bos_token_id");
        {
            return new ModelConfig(family, numLabels, req(n, "vocab_size", file), hidden, req(n, "intermediate_size", file),
                    req(n, "num_hidden_layers", file), heads, kv, headDim,
                    n.path("max_position_embeddings").asInt(2048), n.path("rms_norm_eps").asDouble(1e-6),
                    n.path("rope_theta").asDouble(10000.0), rs, n.path("tie_word_embeddings").asBoolean(false),
                    qkvBias, oBias, n.path("mlp_bias").asBoolean(false), sliding,
                    bos == null || bos.isNull() ? -1 : bos.asInt(), eos, pad == null || pad.isNull() ? -1 : pad.asInt(),
                    n.path("initializer_range").asDouble(0.02), n.path("torch_dtype").asText(n.path("dtype").asText("float32")), perToken);
        }
    }

    private static int req(JsonNode n, String field, Path file) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw new UserError(file + ": missing field '" + field + "'");
        if (!v.canConvertToInt()) throw new UserError(file + ": field '" + field + "' must be an integer, got " + v);
        return v.asInt();
    }

    static int[] ids(JsonNode v) {
        if (v == null || v.isNull()) return new int[0];
        if (v.isArray()) {
            int[] out = new int[v.size()];
            for (int i = 0; i < out.length; i++) out[i] = v.get(i).asInt();
            return out;
        }
        return new int[]{v.asInt()};
    }

    public ObjectNode toJson() {
        ObjectNode n = Json.object();
        n.putArray("architectures").add(architecture());
        n.put("model_type", family.modelType);
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("num_hidden_layers", numLayers);
        n.put("num_attention_heads", numHeads);
        n.put("num_key_value_heads", numKvHeads);
        n.put("head_dim", headDim);
        n.put("hidden_act", "silu");
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_theta", ropeTheta);
        if (ropeScaling == null) n.putNull("rope_scaling");
        else {
            ObjectNode r = n.putObject("rope_scaling");
            r.put("rope_type", ropeScaling.type());
            r.put("factor", ropeScaling.factor());
            if (ropeScaling.type().equals("llama3")) {
                r.put("low_freq_factor", ropeScaling.lowFreqFactor());
                r.put("high_freq_factor", ropeScaling.highFreqFactor());
                r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            }
        }
        n.put("tie_word_embeddings", tieWordEmbeddings);
        if (family == Family.LLAMA) {
            n.put("attention_bias", attentionBias);
            n.put("mlp_bias", mlpBias);
        }
        if (family == Family.QWEN2) {
            n.put("use_sliding_window", slidingWindow > 0);
            n.put("sliding_window", slidingWindow > 0 ? slidingWindow : maxPositionEmbeddings);
        }
        if (family == Family.MISTRAL) {
            if (slidingWindow > 0) n.put("sliding_window", slidingWindow); else n.putNull("sliding_window");
        }
        if (bosTokenId >= 0) n.put("bos_token_id", bosTokenId);
        if (eosTokenIds.length == 1) n.put("eos_token_id", eosTokenIds[0]);
        else if (eosTokenIds.length > 1) {
            ArrayNode a = n.putArray("eos_token_id");
            for (int e : eosTokenIds) a.add(e);
        }
        if (padTokenId >= 0) n.put("pad_token_id", padTokenId);
        n.put("initializer_range", initializerRange);
        n.put("torch_dtype", torchDtype);
        if (!isCausalLm()) {
            ObjectNode id2label = n.putObject("id2label"), label2id = n.putObject("label2id");
            for (int i = 0; i < numLabels; i++) {
                id2label.put(String.valueOf(i), "LABEL_" + i);
                label2id.put("LABEL_" + i, i);
            }
        }
        return n;
    }

    /** Parameter count (embedding counted once when tied). */
    public long parameterCount() {
        long attn = (long) hiddenSize * headDim * (numHeads * 2L + numKvHeads * 2L);
        if (attentionBias) attn += (long) headDim * (numHeads + 2L * numKvHeads);
        long mlp = 3L * hiddenSize * intermediateSize;
        long layer = attn + mlp + 2L * hiddenSize;
        long head = isCausalLm() ? (tieWordEmbeddings ? 0 : (long) vocabSize * hiddenSize) : (long) numLabels * (hiddenSize + (tokenClassification ? 1 : 0));
        return (long) vocabSize * hiddenSize + numLayers * layer + hiddenSize + head;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelConfig c && c.toJson().equals(toJson());
    }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    @Override
    public String toString() {
        return architecture() + "[vocab=" + vocabSize + ", hidden=" + hiddenSize + ", layers=" + numLayers + ", heads=" + numHeads
                + "/" + numKvHeads + ", eos=" + Arrays.toString(eosTokenIds) + "]";
    }
}
