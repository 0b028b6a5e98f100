package dev.align4j.cli;

import dev.align4j.data.Tokenized;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** Flags every trainer shares: where the model comes from, where output goes, and the optimisation loop. */
final class TrainFlags {
    @Option(names = "--model", paramLabel = "DIR", description = "Start from this Hugging Face model directory.")
    Path model;
    @Option(names = "--init", paramLabel = "SIZE", description = "Start from a fresh built-in model: nano, tiny, small, medium (built-in char tokenizer).")
    String init;
    @Option(names = "--dtype", defaultValue = "float32", description = "Compute dtype: float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
    String dtype;
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Checkpoints, metrics.jsonl, tb/ and final/ go here.")
    Path output;
    @Option(names = "--steps", description = "Optimizer steps.")
    Integer steps;
    @Option(names = "--batch-size", description = "Sequences (pairs for DPO) per micro-batch.")
    Integer batchSize;
    @Option(names = "--grad-accum", defaultValue = "1", description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
    int gradAccum;
    @Option(names = "--lr", description = "Peak learning rate.")
    Double lr;
    @Option(names = "--weight-decay", description = "AdamW decoupled weight decay on matrices.")
    Double weightDecay;
    @Option(names = "--warmup-steps", description = "Linear warm-up steps before cosine decay.")
    Integer warmupSteps;
    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Global gradient-norm clip; 0 = off (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;
    @Option(names = "--max-length", defaultValue = "512", description = "Longest prompt + completion in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--truncation", defaultValue = "keep_end", paramLabel = "MODE",
            description = "Which end of a prompt longer than --max-length allows survives: keep_end or keep_start (default: ${DEFAULT-VALUE}).")
    String truncation;
    @Option(names = "--eval-every", defaultValue = "0", description = "Evaluate every N steps (needs --task); 0 = at the end (default: ${DEFAULT-VALUE}).")
    int evalEvery;
    @Option(names = "--eval-prompts", defaultValue = "200", description = "Held-out prompts per evaluation (default: ${DEFAULT-VALUE}).")
    int evalPrompts;
    @Option(names = "--save-every", defaultValue = "0", description = "Checkpoint every N steps; 0 = at the end (default: ${DEFAULT-VALUE}).")
    int saveEvery;
    @Option(names = "--keep", defaultValue = "2", description = "Checkpoints to keep (default: ${DEFAULT-VALUE}).")
    int keep;
    @Option(names = "--seed", defaultValue = "0", description = "Seed for initialisation and data order (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--resume", arity = "0..1", fallbackValue = "", paramLabel = "DIR",
            description = "Continue from the newest checkpoint in --output, or from DIR.")
    Path resume;
    @Option(names = "--skip-invalid", description = "Skip (and count) malformed dataset lines instead of stopping.")
    boolean skipInvalid;
    @Option(names = "--on-nan", defaultValue = "stop", converter = NonFiniteConverter.class,
            description = "When a loss or gradient is NaN/Inf: stop (naming the last good checkpoint) or skip the step (default: ${DEFAULT-VALUE}).")
    dev.align4j.train.NonFinite onNonFinite;

    static final class NonFiniteConverter implements picocli.CommandLine.ITypeConverter<dev.align4j.train.NonFinite> {
        public dev.align4j.train.NonFinite convert(String v) {
            return switch (v.toLowerCase()) {
                case "stop" -> dev.align4j.train.NonFinite.STOP;
                case "skip" -> dev.align4j.train.NonFinite.SKIP;
                default -> throw new picocli.CommandLine.TypeConversionException("expected stop or skip, got '" + v + "'");
            };
        }
    }

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = default (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--deterministic", description = "Bitwise-reproducible runs and resumes: one intra-op thread and deterministic kernels (slower).")
    boolean deterministic;
    @Option(names = "--debug", description = "Print stack traces.")
    boolean debug;

    /** Loads --model or builds --init; a built-in tokenizer is written into OUTPUT/tokenizer. */
    HfModel.Loaded loadModel() {
        Torch.init();
        if (threads > 0) Torch.setThreads(threads);
        if (deterministic) {
            if (threads > 1) throw new UserError("--deterministic runs on one thread; drop --threads " + threads);
            Torch.deterministic();
        }
        if ((model == null) == (init == null)) throw new UserError("give exactly one of --model DIR or --init SIZE");
        Tokenized.Truncation mode = Tokenized.Truncation.parse(truncation);
        checkWritable(output);
        HfModel.Loaded loaded;
        if (model != null) loaded = HfModel.load(model, Torch.dtype(dtype));
        else {
            Tokenizer tok = Tokenizer.writeBuiltin(output.resolve("tokenizer"));
            ModelConfig c = ModelConfig.builtin(init, Tokenizer.BUILTIN_VOCAB, Tokenizer.BUILTIN_BOS, new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD);
            loaded = new HfModel.Loaded(LlamaModel.init(c, seed, Torch.dtype(dtype)), tok);
        }
        loaded.tokenizer().promptTruncation(mode);
        dev.align4j.train.Checkpoints.requireSpace(output, loaded.model(), keep + 2);   // keep + the one being written + final/
        return loaded;
    }

    /** Fails before training if the output directory cannot be written. */
    static void checkWritable(Path dir) {
        try {
            Files.createDirectories(dir);
            Path probe = Files.createTempFile(dir, ".write-probe", "");
            Files.delete(probe);
        } catch (Exception e) {
            throw new UserError(dir + ": output directory is not writable: " + e.getMessage());
        }
    }

    static void printConfig(String name, Object config, Path output) {
        String json = Json.pretty(Json.MAPPER.valueToTree(config));
        System.err.println(name + " config: " + json.replaceAll("\\s*\\n\\s*", " "));
        Json.write(output.resolve(name + "_config.json"), Json.MAPPER.valueToTree(config));
    }
}
