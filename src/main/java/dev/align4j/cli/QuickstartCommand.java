package dev.align4j.cli;

import dev.align4j.core.Torch;
import dev.align4j.pipeline.Quickstart;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "quickstart", description = {
        "The whole loop on a built-in task, on CPU, in minutes: tiny model -> SFT on noisy demonstrations -> sample -> simulated",
        "annotator labels pairs -> DPO -> held-out evaluation of every stage -> OUTPUT/report.html (+ metrics.jsonl, tb/, models).",
        "Example: ./align4j quickstart --task arithmetic --seed 1"})
final class QuickstartCommand implements Callable<Integer> {
    private static final Quickstart D = Quickstart.defaults();

    @Option(names = "--task", defaultValue = "arithmetic", description = "arithmetic, sort, phrase or brief-arith (default: ${DEFAULT-VALUE}).")
    String task;
    @Option(names = "--init", defaultValue = "tiny", description = "Built-in model size: nano, tiny, small (default: ${DEFAULT-VALUE}).")
    String init;
    @Option(names = "--output", defaultValue = "out/quickstart", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path output;
    @Option(names = "--seed", defaultValue = "0", description = "Seed for every random choice (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--sft-steps", description = "SFT steps (default: 1500).")
    Integer sftSteps;
    @Option(names = "--dpo-steps", description = "DPO steps; 0 ends after SFT (default: 150).")
    Integer dpoSteps;
    @Option(names = "--grpo-steps", description = "GRPO steps after DPO on the gold reward; 0 skips the stage (default: 0, see docs/results.md).")
    Integer grpoSteps;
    @Option(names = "--error-rate", description = "Share of flawed demonstrations (default: 0.1).")
    Double errorRate;
    @Option(names = "--annotator-temperature", description = "Annotator noise, Bradley-Terry temperature; 0 = perfect (default: 0.1).")
    Double annotatorTemperature;
    @Option(names = "--beta", description = "DPO beta (default: 0.1).")
    Double beta;
    @Option(names = "--eval-prompts", description = "Held-out prompts per evaluation (default: 300).")
    Integer evalPrompts;
    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = default (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--debug", description = "Print stack traces.")
    boolean debug;

    @Override
    public Integer call() {
        Torch.init();
        if (threads > 0) Torch.setThreads(threads);
        Quickstart q = new Quickstart(task, init, or(sftSteps, D.sftSteps()), D.sftBatch(), D.sftLr(), or(errorRate, D.demoErrorRate()),
                D.preferencePrompts(), D.samplesPerPrompt(), or(annotatorTemperature, D.annotatorTemperature()),
                or(dpoSteps, D.dpoSteps()), D.dpoBatch(), D.dpoLr(), or(beta, D.beta()), or(evalPrompts, D.evalPrompts()), seed,
                or(grpoSteps, D.grpoSteps()), D.grpoLr());
        q.run(output);
        return 0;
    }

    static <T> T or(T v, T d) { return v != null ? v : d; }
}
