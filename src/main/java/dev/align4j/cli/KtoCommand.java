package dev.align4j.cli;

import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.UnpairedExample;
import dev.align4j.eval.Evaluator;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.KtoConfig;
import dev.align4j.train.KtoTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "kto", description = {"KTO from unpaired feedback: completions labelled good (true) or bad (false).",
        "Data: --data FILE with prompt/completion/label lines, or --task NAME (annotator thumbs on demonstrations).",
        "Example: ./align4j kto --model out/quickstart/sft --task arithmetic --output out/kto"})
final class KtoCommand implements Callable<Integer> {
    @Mixin TrainFlags f = new TrainFlags();

    @Option(names = "--data", paramLabel = "FILE", description = "Unpaired JSONL (prompt, completion, label).")
    Path data;
    @Option(names = "--task", description = "Built-in task to build labelled examples from (and evaluate with).")
    String task;
    @Option(names = "--examples", defaultValue = "4000", description = "Labelled examples built from --task (default: ${DEFAULT-VALUE}).")
    int examples;
    @Option(names = "--ref-model", paramLabel = "DIR", description = "Reference model (default: the starting model).")
    Path refModel;
    @Option(names = "--beta", defaultValue = "0.1", description = "KTO beta (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--desirable-weight", defaultValue = "1.0", description = "lambda_D (default: ${DEFAULT-VALUE}).")
    double desirableWeight;
    @Option(names = "--undesirable-weight", defaultValue = "1.0", description = "lambda_U (default: ${DEFAULT-VALUE}).")
    double undesirableWeight;

    @Override
    public Integer call() {
        if ((data == null) == (task == null)) throw new UserError("give exactly one of --data FILE or --task NAME");
        KtoConfig d = KtoConfig.defaults();
        KtoConfig cfg = new KtoConfig(beta, desirableWeight, undesirableWeight, SftCommand.or(f.steps, d.steps()), SftCommand.or(f.batchSize, d.batchSize()),
                SftCommand.or(f.lr, d.lr()), SftCommand.or(f.weightDecay, d.weightDecay()), SftCommand.or(f.warmupSteps, d.warmupSteps()),
                f.maxGradNorm, f.maxLength, f.evalEvery, f.saveEvery, f.keep, f.seed, f.onNonFinite);
        Task t = task == null ? null : Task.byName(task);
        List<UnpairedExample> rows;
        if (t != null) rows = TaskData.unpaired(t, Task.Split.TRAIN, examples, 0.5, 0.1, f.seed);
        else {
            Jsonl.Read<UnpairedExample> read = UnpairedExample.read(data, f.skipInvalid);
            if (read.skipped() > 0) System.err.println("kto: skipped " + read.skipped() + " invalid lines of " + data + " (first: " + read.problems().get(0) + ")");
            rows = read.rows();
        }
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output);
             LlamaModel ref = refModel == null ? l.model().copy(l.model().dtype) : HfModel.loadModel(refModel, HfModel.config(refModel), Torch.dtype(f.dtype))) {
            TrainFlags.printConfig("kto", cfg, f.output);
            long good = rows.stream().filter(UnpairedExample::label).count();
            System.err.printf("kto: %d examples (%d desirable, %d undesirable)%n", rows.size(), good, rows.size() - good);
            List<Task.Example> test = t == null ? null : t.examples(Task.Split.TEST, f.evalPrompts, f.seed + 1);
            KtoTrainer.train(l.model(), ref, l.tokenizer(), rows, cfg, f.output, metrics, t == null ? null : step -> {
                Evaluator.Result r = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
                return Map.of("gold_reward", r.reward(), "accuracy", r.accuracy());
            }, f.resume);
            HfModel.save(f.output.resolve("final"), l.model(), l.tokenizer());
            System.err.println("kto: final model in " + f.output.resolve("final"));
        }
        return 0;
    }
}
