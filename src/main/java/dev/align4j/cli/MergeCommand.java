package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Lora;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Folds a LoRA / DoRA adapter into its base model's weights and writes a full Hugging Face model directory (peft's merge_and_unload). */
@Command(name = "merge", description = {"Fold a PEFT LoRA adapter into its base model and write a full Hugging Face model (peft's merge_and_unload):",
        "W + (alpha/r)·B·A per adapted layer, DoRA's m/||W + (alpha/r)·B·A|| · (W + (alpha/r)·B·A) with --use-dora adapters.",
        "--model is the base model and --adapter the adapter directory, or --model alone an adapter directory naming its base.",
        "Example: ./align4j merge --model /work/models/arith-sft-0 --adapter out/grpo-lora/final --output out/grpo-lora-merged"})
final class MergeCommand implements Callable<Integer> {
    @Mixin Common.ModelOptions m = new Common.ModelOptions();
    @Option(names = "--adapter", paramLabel = "DIR", description = "The PEFT adapter directory (adapter_config.json, adapter_model.safetensors).")
    Path adapter;
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the merged model (config.json, model.safetensors, tokenizer) goes.")
    Path output;

    @Override
    public Integer call() {
        if (Files.exists(output.resolve("config.json")) || Files.exists(output.resolve(Lora.CONFIG_FILE)))
            throw new UserError(output + ": already holds a model; choose another --output");
        try (HfModel.Loaded l = m.load()) {
            if (adapter != null) l.model().attach(Lora.load(adapter, l.model()));
            if (l.model().lora() == null)
                throw new UserError(m.model + ": a full model without adapters; give the adapter with --adapter DIR");
            Lora a = l.model().lora();
            try (LlamaModel merged = l.model().copy(l.model().dtype)) {
                HfModel.save(output, merged, l.tokenizer());
            }
            System.err.printf("merge: r=%d alpha=%s%s on %s folded into %,d parameters -> %s%n", a.config.loraR(), a.config.loraAlpha(),
                    a.config.useDora() ? " (dora)" : "", String.join(",", a.config.modules()), l.model().parameterCount(), output);
        }
        return 0;
    }
}
