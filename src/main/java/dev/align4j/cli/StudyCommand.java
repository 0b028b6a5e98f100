package dev.align4j.cli;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.pipeline.Overoptimization;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "study", description = {
        "Reproduce a published finding on a built-in task, end to end on CPU. Studies:",
        "  overoptimization  Gao et al. 2023 / Coste et al. 2024: best-of-N and GRPO against a proxy reward model learned from a few",
        "                    hundred annotated pairs, and against an ensemble (mean, min, mean-std); gold reward, proxy and KL along",
        "                    the way -> OUTPUT/study.json, study.html, bon_*.png, grpo_*.png.",
        "Example: ./align4j study overoptimization",
        "Example: ./align4j study overoptimization --model out/quickstart/sft --seed 1 --output out/study-seed1"})
final class StudyCommand implements Callable<Integer>, ConfigFile.Configured {
    static final List<String> STUDIES = List.of("overoptimization");

    @Spec CommandLine.Model.CommandSpec spec;
    @Parameters(index = "0", paramLabel = "STUDY", description = "The study to run: overoptimization.")
    String study;
    @Option(names = "--model", paramLabel = "DIR", description = "π_ref: an SFT model in Hugging Face layout (e.g. out/quickstart/sft); default: train one as the quickstart does.")
    Path model;
    @Option(names = "--output", paramLabel = "DIR", description = "Output directory (default: out/study-STUDY).")
    Path output;
    @Option(names = "--task", description = "Built-in task; its gold reward plays the human (default: ${DEFAULT-VALUE}).")
    String task;
    @Option(names = "--init", description = "Model size of π_ref when --model is not given: nano, tiny, small (default: ${DEFAULT-VALUE}).")
    String init;
    @Option(names = "--sft-steps", description = "SFT steps of π_ref when --model is not given (default: ${DEFAULT-VALUE}).")
    int sftSteps;
    @Option(names = "--rm-pairs", description = "Annotated pairs of π_ref's samples the proxy reward models learn from (default: ${DEFAULT-VALUE}).")
    int rmPairs;
    @Option(names = "--rm-steps", description = "Training steps of each proxy reward model, 32 pairs each (default: ${DEFAULT-VALUE}).")
    int rmSteps;
    @Option(names = "--rm-lr", description = "Proxy reward-model learning rate (default: ${DEFAULT-VALUE}).")
    double rmLr;
    @Option(names = "--ensemble-size", description = "Proxies in the ensemble; member 0 is also the single proxy (default: ${DEFAULT-VALUE}).")
    int ensembleSize;
    @Option(names = "--annotator-temperature", description = "Annotator noise, Bradley-Terry temperature; 0 = perfect (default: ${DEFAULT-VALUE}).")
    double annotatorTemperature;
    @Option(names = "--prompts", description = "Held-out prompts for best-of-N and the GRPO checkpoints (default: ${DEFAULT-VALUE}).")
    int prompts;
    @Option(names = "--bon-max", description = "Largest N of best-of-N, a power of two; N = 1, 2, 4, ... (default: ${DEFAULT-VALUE}).")
    int bonMax;
    @Option(names = "--grpo-steps", description = "GRPO steps against each objective; 0 skips GRPO (default: ${DEFAULT-VALUE}).")
    int grpoSteps;
    @Option(names = "--grpo-lr", description = "GRPO learning rate (default: ${DEFAULT-VALUE}).")
    double grpoLr;
    @Option(names = "--eval-every", description = "GRPO steps between checkpoint evaluations (default: ${DEFAULT-VALUE}).")
    int evalEvery;
    @Option(names = "--eval-samples", description = "Samples per held-out prompt at each GRPO checkpoint (default: ${DEFAULT-VALUE}).")
    int evalSamples;
    @Option(names = "--std-weight", description = "lambda of the uncertainty-weighted objective mean - lambda * std (default: ${DEFAULT-VALUE}).")
    double stdWeight;
    @Option(names = "--seed", description = "Seed for every random choice (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = default (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--device", defaultValue = "auto", description = "Where tensors live and compute: cpu, cuda, cuda:N, or auto (CUDA when this build and machine have it; the default build is CPU-only, mvn -Pcuda builds the CUDA one) (default: ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--debug", description = "Print stack traces.")
    boolean debug;

    @Override public Object defaults() { return Overoptimization.DEFAULTS; }

    @Override
    public Integer call() {
        if (!STUDIES.contains(study)) throw new UserError("study " + study + ": unknown study; expected one of " + String.join(", ", STUDIES));
        Overoptimization cfg = ConfigFile.fromFlags(spec, Overoptimization.DEFAULTS);      // validates every setting before any work
        Torch.init();
        if (threads > 0) Torch.setThreads(threads);
        Torch.useDevice(device);
        cfg.run(model, output != null ? output : Path.of("out", "study-" + study));
        return 0;
    }
}
