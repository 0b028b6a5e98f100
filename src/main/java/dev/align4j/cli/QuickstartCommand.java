package dev.align4j.cli;

import dev.align4j.core.Torch;
import dev.align4j.pipeline.Quickstart;
import picocli.CommandLine.Command;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "quickstart", description = {
        "The whole loop on a built-in task, on CPU, in minutes: tiny model -> SFT on noisy demonstrations -> sample -> simulated",
        "annotator labels pairs -> DPO -> held-out evaluation of every stage -> OUTPUT/report.html (+ metrics.jsonl, tb/, models).",
        "Example: ./align4j quickstart --task arithmetic --seed 1"})
final class QuickstartCommand implements Callable<Integer>, ConfigFile.Configured {
    @Spec CommandLine.Model.CommandSpec spec;
    @Option(names = "--task", description = "arithmetic, sort, phrase, brief-arith or chain (default: ${DEFAULT-VALUE}).")
    String task;
    @Option(names = "--init", description = "Built-in model size: nano, tiny, small (default: ${DEFAULT-VALUE}).")
    String init;
    @Option(names = "--output", defaultValue = "out/quickstart", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path output;
    @Option(names = "--seed", description = "Seed for every random choice (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--sft-steps", description = "SFT steps (default: ${DEFAULT-VALUE}).")
    int sftSteps;
    @Option(names = "--sft-batch", description = "SFT batch size (default: ${DEFAULT-VALUE}).")
    int sftBatch;
    @Option(names = "--sft-lr", description = "SFT peak learning rate (default: ${DEFAULT-VALUE}).")
    double sftLr;
    @Option(names = "--preference-prompts", description = "Prompts the SFT policy samples for preference pairs (default: ${DEFAULT-VALUE}).")
    int preferencePrompts;
    @Option(names = "--samples-per-prompt", description = "Samples per prompt; the annotator's best vs worst is a pair (default: ${DEFAULT-VALUE}).")
    int samplesPerPrompt;
    @Option(names = "--dpo-batch", description = "RPO pairs per step (default: ${DEFAULT-VALUE}).")
    int dpoBatch;
    @Option(names = "--dpo-lr", description = "RPO peak learning rate (default: ${DEFAULT-VALUE}).")
    double dpoLr;
    @Option(names = "--rpo-alpha", description = "Weight of the NLL on chosen; 0 = plain DPO (default: ${DEFAULT-VALUE}).")
    double rpoAlpha;
    @Option(names = "--grpo-lr", description = "GRPO peak learning rate (default: ${DEFAULT-VALUE}).")
    double grpoLr;
    @Option(names = "--dpo-steps", description = "RPO steps; 0 skips the stage (default: ${DEFAULT-VALUE}).")
    int dpoSteps;
    @Option(names = "--grpo-steps", description = "GRPO steps on the gold reward after RPO; 0 skips the stage (default: ${DEFAULT-VALUE}).")
    int grpoSteps;
    @Option(names = "--error-rate", description = "Share of demonstrations with a random flaw (default: ${DEFAULT-VALUE}).")
    double errorRate;
    @Option(names = "--slip-rate", description = {"Share of the prompts where the demonstrator can make its systematic slip on which it does",
            "(sort: a repeated digit written once; arithmetic: a dropped sign or final carry) (default: ${DEFAULT-VALUE})."})
    double slipRate;
    @Option(names = "--annotator-temperature", description = "Annotator noise, Bradley-Terry temperature; 0 = perfect (default: ${DEFAULT-VALUE}).")
    double annotatorTemperature;
    @Option(names = "--beta", description = "RPO beta (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--eval-prompts", description = "Held-out prompts per evaluation (default: ${DEFAULT-VALUE}).")
    int evalPrompts;
    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = default (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--device", defaultValue = "auto", description = "Where tensors live and compute: cpu, cuda, cuda:N, or auto (CUDA when this build and machine have it; the default build is CPU-only, mvn -Pcuda builds the CUDA one) (default: ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--debug", description = "Print stack traces.")
    boolean debug;

    @Override public Object defaults() { return Quickstart.DEFAULTS; }

    @Override
    public Integer call() {
        Torch.init();
        if (threads > 0) Torch.setThreads(threads);
        Torch.useDevice(device);
        ConfigFile.fromFlags(spec, Quickstart.DEFAULTS).run(output);
        return 0;
    }
}
