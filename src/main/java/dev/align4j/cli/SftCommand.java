package dev.align4j.cli;

import dev.align4j.data.SftExample;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.offline.Sft;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "sft", description = {"Supervised fine-tuning on prompt/completion pairs (loss on the completion only).",
        "Data: --data FILE with {\"prompt\": ..., \"completion\": ...} lines, or --task NAME (noisy demonstrations of a built-in task).",
        "Example: ./align4j sft --init tiny --task arithmetic --steps 1500 --output out/sft"})
final class SftCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.DataFlags d = new MethodFlags.DataFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();

    @Option(names = "--examples", defaultValue = "20000", description = "Demonstrations drawn from --task (default: ${DEFAULT-VALUE}).")
    int examples;
    @Option(names = "--error-rate", defaultValue = "0.1", description = "Share of flawed --task demonstrations (default: ${DEFAULT-VALUE}).")
    double errorRate;
    @Option(names = "--slip-rate", defaultValue = "0", description = {"Share of --task prompts on which the demonstrator makes its systematic mistake",
            "(arithmetic: drops a negative result's sign, forgets a sum's final carry); above 0.5 imitation copies it (default: ${DEFAULT-VALUE})."})
    double slipRate;
    @Option(names = "--assistant-only-loss", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "For {\"messages\"} rows, train on every assistant turn (default: ${DEFAULT-VALUE}); --no-assistant-only-loss trains on the whole conversation.")
    boolean assistantOnlyLoss;

    @Override
    public Object defaults() { return Sft.Config.DEFAULTS; }

    @Override
    public Integer call() {
        d.requireOneSource(tf);
        Sft.Config cfg = f.config(Sft.Config.DEFAULTS);
        Task t = tf.task();
        TrainRun.offline("sft", f, cfg, d.describe(tf), (l, metrics) -> {
            List<SftExample> rows = t != null ? TaskData.demonstrations(t, examples, errorRate, slipRate, f.seed)
                    : d.rows("sft", SftExample.read(d.data, d.skipInvalid, l.tokenizer().chatTemplate(),
                    assistantOnlyLoss ? SftExample.Loss.ASSISTANT : SftExample.Loss.ALL));
            System.err.printf("sft: %d examples, model %s (%,d parameters)%n", rows.size(), l.model().config.architecture(), l.model().parameterCount());
            Sft.train(l.model(), rows, cfg, f.session(l, metrics, tf.eval(t, l, f.seed)));
            return l.model();
        });
        return 0;
    }
}
