package dev.align4j.cli;

import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.SftExample;
import dev.align4j.eval.Evaluator;
import dev.align4j.model.HfModel;
import dev.align4j.task.Task;
import dev.align4j.train.SftConfig;
import dev.align4j.train.SftTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "sft", description = {"Supervised fine-tuning on prompt/completion pairs (loss on the completion only).",
        "Data: --data FILE with {\"prompt\": ..., \"completion\": ...} lines, or --task NAME (noisy demonstrations of a built-in task).",
        "Example: ./align4j sft --init tiny --task arithmetic --steps 1500 --output out/sft"})
final class SftCommand implements Callable<Integer> {
    @Mixin TrainFlags f = new TrainFlags();

    @Option(names = "--data", paramLabel = "FILE", description = "JSONL with prompt and completion columns.")
    Path data;
    @Option(names = "--task", description = "Built-in task: arithmetic, sort, phrase, brief-arith.")
    String task;
    @Option(names = "--examples", defaultValue = "20000", description = "Demonstrations drawn from --task (default: ${DEFAULT-VALUE}).")
    int examples;
    @Option(names = "--error-rate", defaultValue = "0.1", description = "Share of flawed --task demonstrations (default: ${DEFAULT-VALUE}).")
    double errorRate;

    @Override
    public Integer call() {
        if ((data == null) == (task == null)) throw new UserError("give exactly one of --data FILE or --task NAME");
        SftConfig d = SftConfig.defaults();
        SftConfig cfg = new SftConfig(or(f.steps, d.steps()), or(f.batchSize, d.batchSize()), f.gradAccum, or(f.lr, d.lr()),
                or(f.weightDecay, d.weightDecay()), or(f.warmupSteps, d.warmupSteps()), f.maxGradNorm, f.maxLength,
                f.evalEvery, f.saveEvery, f.keep, f.seed, f.onNonFinite);
        Task t = task == null ? null : Task.byName(task);
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output)) {
            List<SftExample> rows;
            if (t != null) rows = SftExample.fromTask(t, examples, errorRate, f.seed);
            else {
                Jsonl.Read<SftExample> read = SftExample.read(data, f.skipInvalid, l.tokenizer().chatTemplate());
                if (read.skipped() > 0) System.err.println("sft: skipped " + read.skipped() + " invalid lines of " + data + " (first: " + read.problems().get(0) + ")");
                rows = read.rows();
            }
            TrainFlags.printConfig("sft", cfg, f.output);
            System.err.printf("sft: %d examples, model %s (%,d parameters)%n", rows.size(), l.model().config.architecture(), l.model().parameterCount());
            List<Task.Example> test = t == null ? null : t.examples(Task.Split.TEST, f.evalPrompts, f.seed + 1);
            SftTrainer.EvalHook eval = t == null ? null : step -> {
                Evaluator.Result r = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
                return Map.of("gold_reward", r.reward(), "accuracy", r.accuracy(), "completion_length", r.length());
            };
            SftTrainer.train(l.model(), l.tokenizer(), rows, cfg, f.output, metrics, eval, f.resume);
            HfModel.save(f.output.resolve("final"), l.model(), l.tokenizer());
            System.err.println("sft: final model in " + f.output.resolve("final"));
        }
        return 0;
    }

    static <T> T or(T v, T d) { return v != null ? v : d; }
}
