package dev.align4j.cli;

import dev.align4j.core.Distributed;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.NonFinite;
import dev.align4j.train.Precision;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.global.torch.ScalarType;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Flags every trainer shares, declared once: where the model comes from, where output goes, and the run settings of
 * {@link RunConfig}. Their defaults are the method's own (its config's {@code defaults()}, through {@link ConfigFile}),
 * so {@code --help} shows them per command.
 */
final class TrainFlags {
    @Spec(Spec.Target.MIXEE) CommandLine.Model.CommandSpec spec;
    @Mixin Common.ModelSource m = new Common.ModelSource();         // --model, --threads, --debug
    @Option(names = "--dtype", converter = PrecisionConverter.class, description = {"Training precision: float32, bfloat16 (mixed precision: bf16 compute,",
            "fp32 master weights, optimizer state, norms and losses) or auto (bf16 where a short probe finds it clearly faster) (default: ${DEFAULT-VALUE})."})
    Precision dtype;
    @Option(names = "--gradient-checkpointing", description = {"Recompute each decoder block's activations in backward instead of keeping them: less",
            "memory for longer sequences or larger batches, about one more forward of the blocks per step, the same gradients."})
    boolean gradientCheckpointing;
    @Mixin LoraFlags lora = new LoraFlags();                        // --lora-r, --lora-alpha, …, --adapter
    @Option(names = "--init", paramLabel = "SIZE", description = "Start from a fresh built-in model: nano, tiny, small, medium (built-in char tokenizer).")
    String init;
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Checkpoints, metrics.jsonl, tb/ and final/ go here.")
    Path output;
    @Option(names = "--steps", description = "Optimizer steps (offline) or rollout + update rounds (online) (default: ${DEFAULT-VALUE}).")
    int steps;
    @Option(names = "--lr", description = "Peak learning rate; linear warm-up, then cosine decay to 10%% (default: ${DEFAULT-VALUE}).")
    double lr;
    @Option(names = "--weight-decay", description = "AdamW decoupled weight decay on matrices (default: ${DEFAULT-VALUE}).")
    double weightDecay;
    @Option(names = "--warmup-steps", description = "Linear warm-up, in optimizer updates (default: ${DEFAULT-VALUE}).")
    int warmupSteps;
    @Option(names = "--max-grad-norm", description = "Global gradient-norm clip; 0 = off (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;
    @Option(names = "--grad-accum", description = "Micro-batches per optimizer update (offline methods) (default: ${DEFAULT-VALUE}).")
    int gradAccum;
    @Option(names = "--eval-every", description = "Evaluate every N steps (needs --task); 0 = at the end (default: ${DEFAULT-VALUE}).")
    int evalEvery;
    @Option(names = "--save-every", description = "Checkpoint every N steps; 0 = at the end (default: ${DEFAULT-VALUE}).")
    int saveEvery;
    @Option(names = "--keep", description = "Checkpoints to keep (default: ${DEFAULT-VALUE}).")
    int keep;
    @Option(names = "--seed", description = "Seed for initialisation, data order and sampling (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--on-nan", converter = NonFiniteConverter.class,
            description = "When a loss or gradient is NaN/Inf: stop (naming the last good checkpoint) or skip the step (default: ${DEFAULT-VALUE}).")
    NonFinite onNonFinite;
    @Option(names = "--logging-steps", description = "Log every N steps, and the first and last; 0 = the method's default, 10 offline and 1 online (default: ${DEFAULT-VALUE}).")
    int loggingSteps;
    @Option(names = "--resume", arity = "0..1", fallbackValue = "", paramLabel = "DIR",
            description = "Continue from the newest checkpoint in --output, or from DIR.")
    Path resume;
    @Option(names = "--overwrite", description = "Start a fresh run in an --output that holds a previous one (its checkpoints, metrics, tb/ and final/ are removed).")
    boolean overwrite;
    @Option(names = "--config", paramLabel = "FILE", description = {"Flag values from a YAML or JSON file (kebab-case, snake_case, camelCase or TRL/TrainingArguments names,",
            "or a saved OUTPUT/NAME_config.json); flags on the command line win."})
    Path config;
    @Option(names = "--deterministic", description = "Bitwise-reproducible runs and resumes: one intra-op thread and deterministic kernels (slower).")
    boolean deterministic;

    static final class PrecisionConverter implements picocli.CommandLine.ITypeConverter<Precision> {
        public Precision convert(String v) {
            try {
                return Precision.parse(v);
            } catch (UserError e) {
                throw new picocli.CommandLine.TypeConversionException("expected auto, float32 or bfloat16, got '" + v + "'");
            }
        }
    }

    /** Training keeps its weights in fp32: with {@code --dtype bfloat16} they are the master weights ({@link Precision}). */
    static final ScalarType WEIGHTS = ScalarType.Float;

    static final class NonFiniteConverter implements picocli.CommandLine.ITypeConverter<NonFinite> {
        public NonFinite convert(String v) {
            return switch (v.toLowerCase()) {
                case "stop" -> NonFinite.STOP;
                case "skip" -> NonFinite.SKIP;
                default -> throw new picocli.CommandLine.TypeConversionException("expected stop or skip, got '" + v + "'");
            };
        }
    }

    /** The method's config: its defaults, each setting that has a flag on this command taking the flag's value ({@link ConfigFile#flagName}). */
    <R extends Record> R config(R defaults) { return ConfigFile.fromFlags(spec, defaults); }

    /** Loads --model or builds --init; a built-in tokenizer is written into OUTPUT/tokenizer. */
    HfModel.Loaded loadModel() {
        Torch.init();
        if (m.threads > 0) Torch.setThreads(m.threads);
        Torch.useDevice(m.device);
        if (deterministic) {
            if (m.threads > 1) throw new UserError("--deterministic runs on one thread; drop --threads " + m.threads);
            Torch.deterministic();
        }
        if ((m.model == null) == (init == null)) throw new UserError("give exactly one of --model DIR or --init SIZE");
        Distributed dist = Distributed.init();                             // joins the process group under ./align4j launch
        checkWritable(output);
        if (dist.isMain()) freshOrResumed(output, resume != null, overwrite);   // rank 0 alone removes a previous run (--overwrite)
        dist.barrier();
        HfModel.Loaded loaded;
        if (m.model != null) loaded = HfModel.load(m.model, WEIGHTS);
        else {
            Tokenizer tok = Tokenizer.writeBuiltin(output.resolve("tokenizer"));
            ModelConfig c = ModelConfig.builtin(init, Tokenizer.BUILTIN_VOCAB, Tokenizer.BUILTIN_BOS, new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD);
            loaded = new HfModel.Loaded(LlamaModel.init(c, seed, WEIGHTS), tok);
        }
        lora.apply(loaded, m.model, init != null, seed, spec.name());
        dev.align4j.train.Checkpoints.requireSpace(output, loaded.model(), keep + 2);   // keep + the one being written + final/
        return loaded;
    }

    /** The reference policy π_ref: {@code --ref-model DIR} when given, else the starting policy ({@link LlamaModel#reference}: with LoRA, the same weights with the adapters off). */
    LlamaModel reference(HfModel.Loaded l, Path refModel) {
        return refModel == null ? l.model().reference() : loadOther(refModel);
    }

    /** A model loaded in fp32 as the trained one (a reference or critic from another directory); --dtype bfloat16 computes with it in bf16. */
    LlamaModel loadOther(Path dir) {
        return HfModel.loadModel(dir, HfModel.config(dir), WEIGHTS);
    }

    /** Where the run reads and writes. */
    Session session(HfModel.Loaded l, dev.align4j.core.Metrics metrics, dev.align4j.train.EvalHook eval) {
        return new Session(l.tokenizer(), output, metrics, eval, resume);
    }

    /**
     * A new run needs an output directory without a previous run in it: resuming is asked for with --resume, starting
     * over with --overwrite (which removes the previous run's checkpoints, metrics, TensorBoard events and final model).
     */
    static void freshOrResumed(Path output, boolean resume, boolean overwrite) {
        List<Path> previous = new ArrayList<>(dev.align4j.train.Checkpoints.list(output));
        if (Files.exists(output.resolve("final"))) previous.add(output.resolve("final"));
        try {
            if (Files.exists(output.resolve("metrics.jsonl")) && Files.size(output.resolve("metrics.jsonl")) > 0) previous.add(output.resolve("metrics.jsonl"));
        } catch (java.io.IOException e) {
            throw new UserError(output + ": cannot read: " + e.getMessage());
        }
        if (previous.isEmpty() || resume) return;
        if (!overwrite)
            throw new UserError(output + ": holds a previous run (" + previous.get(0).getFileName() + (previous.size() > 1 ? ", …" : "")
                    + "); continue it with --resume, start over with --overwrite, or choose another --output");
        previous.add(output.resolve("tb"));
        previous.forEach(dev.align4j.core.AtomicFiles::deleteRecursively);
        System.err.println(output + ": previous run removed (--overwrite)");
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

    /** Prints the resolved config once and saves it as OUTPUT/NAME_config.json (which {@code --config} accepts back). */
    static void printConfig(String name, Object config, Path output) {
        if (!Distributed.get().isMain()) return;
        String json = Json.pretty(Json.MAPPER.valueToTree(config));
        System.err.println(name + " config: " + json.replaceAll("\\s*\\n\\s*", " "));
        Json.write(output.resolve(name + "_config.json"), Json.MAPPER.valueToTree(config));
    }
}
