package dev.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * Reads and writes Hugging Face model directories: config.json, model.safetensors or
 * model-0000k-of-0000n.safetensors + model.safetensors.index.json, and the tokenizer files. Tensor names
 * are exactly those of transformers, so a directory written here loads there and the other way round.
 */
public final class HfModel {
    private HfModel() {}

    /** A model and its tokenizer, loaded together. */
    public record Loaded(LlamaModel model, Tokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
            tokenizer.close();
        }
    }

    /**
     * Loads a model directory, or a PEFT adapter directory (adapter_config.json without config.json) onto the base model
     * it names in {@code base_model_name_or_path} (its adapters then train when the model is trained).
     */
    public static Loaded load(Path dir, ScalarType dtype) {
        checkDir(dir);
        if (Lora.isAdapterDir(dir)) {
            Loaded base = load(Lora.baseOf(dir), dtype);
            base.model().attach(Lora.load(dir, base.model()));
            return base;
        }
        ModelConfig c = ModelConfig.read(dir.resolve("config.json"));
        Tokenizer tok = Tokenizer.load(dir, c);
        return new Loaded(loadModel(dir, c, dtype), tok);
    }

    public static ModelConfig config(Path dir) {
        checkDir(dir);
        if (Lora.isAdapterDir(dir)) return config(Lora.baseOf(dir));
        return ModelConfig.read(dir.resolve("config.json"));
    }

    private static void checkDir(Path dir) {
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not a model directory (expected config.json, *.safetensors, tokenizer.json)");
    }

    public static LlamaModel loadModel(Path dir, ModelConfig c, ScalarType dtype) {
        Torch.init();
        if (Lora.isAdapterDir(dir)) {
            LlamaModel base = loadModel(Lora.baseOf(dir), c, dtype);
            base.attach(Lora.load(dir, base));
            return base;
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Path f : weightFiles(dir)) Safetensors.read(f, dtype, tensors::put);
        return LlamaModel.fromTensors(c, tensors, dtype, dir.toString());
    }

    /** The safetensors files of a model directory: single, or the shards listed in the index. */
    public static List<Path> weightFiles(Path dir) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.exists(index)) {
            JsonNode wm = Json.read(index).get("weight_map");
            if (wm == null || !wm.isObject()) throw new UserError(index + ": missing field 'weight_map'");
            TreeSet<String> files = new TreeSet<>();
            wm.fields().forEachRemaining(e -> files.add(e.getValue().asText()));
            List<Path> out = new ArrayList<>();
            for (String f : files) {
                Path p = dir.resolve(f);
                if (!Files.exists(p)) throw new UserError(index + ": shard '" + f + "' listed in weight_map does not exist");
                out.add(p);
            }
            return out;
        }
        if (Files.exists(single)) return List.of(single);
        throw new UserError(dir + ": no model.safetensors or model.safetensors.index.json");
    }

    /**
     * Writes config.json, the weights (as {@code diskDtype}; sharded when larger than {@code maxShardBytes})
     * and the tokenizer files. Each file is written to a temporary name and renamed into place.
     */
    public static void save(Path dir, LlamaModel model, Tokenizer tok, ScalarType diskDtype, long maxShardBytes) {
        try {
            Files.createDirectories(dir);
        } catch (Exception e) {
            throw new UserError(dir + ": cannot create directory: " + e.getMessage());
        }
        if (model.lora() != null) {                                    // the adapter only, in PEFT's layout (./align4j merge folds it in)
            model.lora().save(dir);
            if (tok != null) tok.saveTo(dir);
            return;
        }
        Map<String, Tensor> params = model.parameters();
        int elem = diskDtype == ScalarType.Float ? 4 : 2;
        List<Map<String, Tensor>> shards = new ArrayList<>();
        Map<String, Tensor> cur = new LinkedHashMap<>();
        long curBytes = 0, total = 0;
        for (var e : params.entrySet()) {
            long n = e.getValue().numel() * elem;
            if (!cur.isEmpty() && curBytes + n > maxShardBytes) {
                shards.add(cur);
                cur = new LinkedHashMap<>();
                curBytes = 0;
            }
            cur.put(e.getKey(), e.getValue());
            curBytes += n;
            total += n;
        }
        shards.add(cur);
        try {
            Files.deleteIfExists(dir.resolve(shards.size() == 1 ? "model.safetensors.index.json" : "model.safetensors"));
        } catch (Exception ignored) {
            // stale file from an earlier layout; harmless if it stays
        }
        if (shards.size() == 1) {
            Safetensors.write(dir.resolve("model.safetensors"), shards.get(0), diskDtype, null);
        } else {
            ObjectNode idx = Json.object();
            idx.putObject("metadata").put("total_size", total);
            ObjectNode wm = idx.putObject("weight_map");
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                Safetensors.write(dir.resolve(name), shards.get(i), diskDtype, null);
                for (String k : shards.get(i).keySet()) wm.put(k, name);
            }
            Json.write(dir.resolve("model.safetensors.index.json"), idx);
        }
        ObjectNode cfg = model.config.toJson();
        cfg.put("torch_dtype", Torch.dtypeName(diskDtype));
        Json.write(dir.resolve("config.json"), cfg);
        if (tok != null) tok.saveTo(dir);
    }

    public static void save(Path dir, LlamaModel model, Tokenizer tok) {
        save(dir, model, tok, ScalarType.Float, 2L << 30);
    }
}
