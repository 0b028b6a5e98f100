package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.model.Lora;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;

/**
 * LoRA flags, shared by every trainer through {@link TrainFlags}: {@code --lora-r R} (&gt; 0) trains adapters on the
 * {@code --lora-targets} layers of a frozen {@code --model} instead of every weight; {@code --adapter DIR} (or a
 * {@code --model} that is an adapter directory) continues training a saved PEFT adapter. Defaults are those of
 * {@link Lora.Config#DEFAULTS} (installed by {@link ConfigFile}), which are peft's LoraConfig defaults except α (16).
 */
final class LoraFlags {
    @Spec(Spec.Target.MIXEE) CommandLine.Model.CommandSpec spec;
    @Option(names = "--lora-r", paramLabel = "R", description = "LoRA rank; 0 = train every weight, no adapters (default: ${DEFAULT-VALUE}).")
    int loraR;
    @Option(names = "--lora-alpha", description = "LoRA alpha: the adapter's output is scaled by alpha/r (default: ${DEFAULT-VALUE}).")
    double loraAlpha;
    @Option(names = "--lora-dropout", description = "Dropout on the adapters' input while training (default: ${DEFAULT-VALUE}).")
    double loraDropout;
    @Option(names = "--lora-targets", split = ",", paramLabel = "MODULES",
            description = "Adapted layers: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj or all-linear (default: ${DEFAULT-VALUE}).")
    List<String> loraTargets;
    @Option(names = "--use-rslora", description = "Rank-stabilised scaling alpha/sqrt(r) instead of alpha/r.")
    boolean useRslora;
    @Option(names = "--use-dora", description = "DoRA: a trained magnitude per output row times the normalised adapted direction.")
    boolean useDora;
    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter directory to load onto --model and keep training.")
    Path adapter;

    /** Trainers of a model with a new score head, which LoRA does not cover (peft would need modules_to_save for the head). */
    static final java.util.Set<String> SCORE_HEAD_COMMANDS = java.util.Set.of("reward", "preference-model", "prm", "value-model");

    /** The adapter settings from the flags ({@link ConfigFile#fromFlags}). */
    Lora.Config config() { return ConfigFile.fromFlags(spec, Lora.Config.DEFAULTS); }

    /**
     * Puts adapters on the loaded model when asked: {@code --adapter DIR} loads one, {@code --lora-r R} creates fresh ones
     * (A from {@code seed}); {@code base} is the --model directory, recorded as base_model_name_or_path.
     */
    void apply(HfModel.Loaded l, Path base, boolean init, long seed, String command) {
        Lora.Config c = config();
        if ((c.enabled() || adapter != null) && SCORE_HEAD_COMMANDS.contains(command))
            throw new UserError(command + ": LoRA adapters are for causal-LM policies; a model with a new score head trains in full (drop --lora-r / --adapter)");
        if (adapter != null) {
            if (c.enabled()) throw new UserError("give either --adapter DIR (continue a saved adapter) or --lora-r R (new adapters), not both");
            if (base == null) throw new UserError("--adapter needs the base model as --model DIR");
            l.model().attach(Lora.load(adapter, l.model()));
        } else if (c.enabled()) {
            if (init) throw new UserError("--lora-r adapts a pretrained model: give --model DIR (with --init the frozen base would be random weights saved nowhere)");
            l.model().attach(Lora.create(l.model(), c, base.toAbsolutePath().normalize().toString(), seed));
        } else return;
        Lora a = l.model().lora();
        System.err.printf("lora: r=%d alpha=%s%s%s on %s: %,d trainable parameters (%.2f%% of %,d)%n", a.config.loraR(), a.config.loraAlpha(),
                a.config.useRslora() ? " rslora" : "", a.config.useDora() ? " dora" : "", String.join(",", a.config.modules()),
                a.parameterCount(), 100.0 * a.parameterCount() / l.model().parameterCount(), l.model().parameterCount());
    }
}
