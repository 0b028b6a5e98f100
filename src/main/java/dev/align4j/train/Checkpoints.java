package dev.align4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Safetensors;
import dev.align4j.model.Tokenizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;
import java.util.stream.Stream;

/**
 * Checkpoints: {@code OUTPUT/checkpoint-STEP/} holds the model in Hugging Face layout (loadable by
 * {@code --model}), {@code optimizer.safetensors} and {@code trainer_state.json} (step, resolved
 * config, trainer-specific state). The directory is assembled under a temporary name and renamed into
 * place, so a crash never leaves a half-written checkpoint; only the newest {@code keep} are kept.
 */
public final class Checkpoints {
    private Checkpoints() {}

    /** The copy of metrics.jsonl a checkpoint holds: the metrics logged up to its step. */
    public static final String METRICS = "metrics.jsonl";

    /**
     * Writes checkpoint-STEP (model, optimizer, trainer state, and a copy of the metrics so far). Any failure
     * (a full disk, a vanished directory) removes the partial temporary directory and becomes one user error
     * naming the last good checkpoint {@code lastGood}; existing checkpoints are never touched before the new
     * one is complete. {@code extra} (may be null) writes more into the temporary directory first, e.g. PPO's
     * critic, and may add to {@code state}.
     */
    public static Path save(Path output, long step, LlamaModel model, Tokenizer tok, AdamW opt, ObjectNode state, int keep,
                            dev.align4j.core.Metrics metrics, Path lastGood, java.util.function.Consumer<Path> extra) {
        Path dir = output.resolve("checkpoint-" + step);
        Path tmp = AtomicFiles.tempSibling(dir);
        try {
            HfModel.save(tmp, model, tok);                        // with LoRA: the adapter in PEFT's layout
            if (model.lora() != null) state.put(dev.align4j.model.Lora.DRAWS_KEY, model.lora().draws());
            if (opt != null) Safetensors.write(tmp.resolve("optimizer.safetensors"), opt.state(), ScalarType.Float, Map.of("steps", String.valueOf(opt.steps())));
            if (extra != null) extra.accept(tmp);                  // may add to state before it is written
            state.put("step", step);
            Json.write(tmp.resolve("trainer_state.json"), state);
            if (metrics != null) metrics.snapshot(tmp.resolve(METRICS));
            AtomicFiles.move(tmp, dir);
        } catch (IOException | RuntimeException e) {
            AtomicFiles.deleteRecursively(tmp);
            String why = e.getMessage() != null && e.getMessage().contains("No space left") ? "the disk is full" : String.valueOf(e.getMessage());
            throw new UserError(dir + ": cannot write checkpoint (" + why + "); nothing partial was left behind; last good checkpoint: "
                    + (lastGood == null ? "none" : lastGood), e);
        }
        prune(output, keep);
        return dir;
    }

    /** Bytes one checkpoint of {@code model} takes: the weights in their dtype plus two fp32 AdamW moments. */
    public static long checkpointBytes(LlamaModel model) {
        long n = model.trainableParameters().values().stream().mapToLong(org.bytedeco.pytorch.Tensor::numel).sum();
        long weight = model.dtype == ScalarType.Float ? 4 : 2;
        return n * (weight + 8) + (1 << 20);
    }

    /**
     * Refuses to start when the output directory's disk cannot hold {@code copies} checkpoints: better a clear
     * message now than a full disk at step 9,000.
     */
    public static void requireSpace(Path output, LlamaModel model, int copies) {
        long need = checkpointBytes(model) * copies;
        long free;
        try {
            Files.createDirectories(output);
            free = Files.getFileStore(output).getUsableSpace();
        } catch (IOException e) {
            throw new UserError(output + ": cannot check free space: " + e.getMessage());
        }
        if (free < need)
            throw new UserError(String.format("%s: %.1f MB free on its disk, but training writes about %.1f MB (%d checkpoints of %.1f MB: weights + optimizer state); free space, lower --keep or choose another --output",
                    output, free / 1e6, need / 1e6, copies, checkpointBytes(model) / 1e6));
    }

    static void prune(Path output, int keep) {
        if (keep <= 0) return;
        List<Path> all = list(output);
        for (int i = 0; i < all.size() - keep; i++) AtomicFiles.deleteRecursively(all.get(i));
    }

    /** Complete checkpoints in {@code output}, oldest first. */
    public static List<Path> list(Path output) {
        if (!Files.isDirectory(output)) return List.of();
        try (Stream<Path> s = Files.list(output)) {
            return s.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+") && Files.exists(p.resolve("trainer_state.json")))
                    .sorted(Comparator.comparingLong(Checkpoints::stepOf)).toList();
        } catch (IOException e) {
            throw new UserError(output + ": cannot list checkpoints: " + e.getMessage());
        }
    }

    public static long stepOf(Path checkpoint) {
        return Long.parseLong(checkpoint.getFileName().toString().substring("checkpoint-".length()));
    }

    /** The checkpoint to resume: {@code resume} itself if it is one, else the newest in {@code output}; null if none. */
    public static Path resolve(Path output, Path resume) {
        if (resume != null && !resume.toString().isEmpty()) {
            if (!Files.exists(resume.resolve("trainer_state.json"))) throw new UserError(resume + ": not a checkpoint (no trainer_state.json)");
            return resume;
        }
        List<Path> all = list(output);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** Writes a second model with its optimizer into {@code dir} (inside a checkpoint being assembled). */
    public static void saveModel(Path dir, LlamaModel model, Tokenizer tok, AdamW opt) {
        HfModel.save(dir, model, tok);
        Safetensors.write(dir.resolve("optimizer.safetensors"), opt.state(), ScalarType.Float, Map.of("steps", String.valueOf(opt.steps())));
        ObjectNode st = Json.object();
        st.put("step", 0);
        st.put("optimizer_steps", opt.steps());
        Json.write(dir.resolve("trainer_state.json"), st);
    }

    /**
     * For pipelines that checkpoint once per round or iteration ({@code rft}, {@code mcts}): restores the newest (or the
     * {@code --resume}d) checkpoint of {@code trainer} into {@code policy} and rewinds the metrics to it; null when starting
     * fresh. A directory that holds a previous run's checkpoints, without {@code --resume}, is refused.
     */
    public static Path resumeRound(LlamaModel policy, Session io, String trainer, String unit) {
        if (io.output() == null) return null;
        if (io.resume() == null) {
            List<Path> previous = list(io.output());
            if (!previous.isEmpty())
                throw new UserError(io.output() + ": holds checkpoints of a previous run (" + previous.get(previous.size() - 1).getFileName()
                        + "); resume it or train into another directory");
            return null;
        }
        Path from = resolve(io.output(), io.resume());
        if (from == null) return null;
        JsonNode state = restore(from, policy, null);
        if (!state.path("trainer").asText().equals(trainer))
            throw new UserError(from + ": a checkpoint of " + state.path("trainer").asText("another trainer") + ", not of " + trainer);
        io.metrics().rewind(from.resolve(METRICS), stepOf(from));
        System.err.println(trainer + ": resumed from " + from + " after " + unit + " " + stepOf(from));
        return from;
    }

    /** Restores weights and optimizer state in place; returns trainer_state.json. */
    public static JsonNode restore(Path checkpoint, LlamaModel model, AdamW opt) {
        JsonNode state = Json.read(checkpoint.resolve("trainer_state.json"));
        if (model.lora() != null) {                                  // an adapter checkpoint: its tensors into the live adapters
            if (!dev.align4j.model.Lora.isAdapterDir(checkpoint))
                throw new UserError(checkpoint + ": holds a full model, but this run trains LoRA adapters (drop --lora-r, or resume a LoRA run)");
            try (dev.align4j.model.Lora saved = dev.align4j.model.Lora.load(checkpoint, model)) {
                model.lora().loadFrom(saved);
            }
            model.lora().draws(state.path(dev.align4j.model.Lora.DRAWS_KEY).asLong(0));
        } else {
            if (dev.align4j.model.Lora.isAdapterDir(checkpoint))
                throw new UserError(checkpoint + ": holds a LoRA adapter, but this run trains the full model (resume with the same --lora-* flags)");
            try (LlamaModel saved = HfModel.loadModel(checkpoint, HfModel.config(checkpoint), model.dtype)) {
                model.loadFrom(saved);
            }
        }
        if (opt != null) {
            Map<String, Tensor> s = new LinkedHashMap<>();
            Safetensors.read(checkpoint.resolve("optimizer.safetensors"), ScalarType.Float, s::put);
            opt.load(s, state.path("optimizer_steps").asLong(state.path("step").asLong()));
            s.values().forEach(Tensor::close);
        }
        return state;
    }
}
