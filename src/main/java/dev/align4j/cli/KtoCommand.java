package dev.align4j.cli;

import dev.align4j.data.UnpairedExample;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.offline.Kto;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "kto", description = {"KTO from unpaired feedback: completions labelled good (true) or bad (false).",
        "Data: --data FILE with prompt/completion/label lines, or --task NAME (annotator thumbs on demonstrations).",
        "Example: ./align4j kto --model out/quickstart/sft --task arithmetic --output out/kto"})
final class KtoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.DataFlags d = new MethodFlags.DataFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();

    @Option(names = "--examples", defaultValue = "4000", description = "Labelled examples built from --task (default: ${DEFAULT-VALUE}).")
    int examples;
    @Option(names = "--ref-model", paramLabel = "DIR", description = "Reference model (default: the starting model).")
    Path refModel;
    @Option(names = "--desirable-weight", description = "lambda_D (default: ${DEFAULT-VALUE}).")
    double desirableWeight;
    @Option(names = "--undesirable-weight", description = "lambda_U (default: ${DEFAULT-VALUE}).")
    double undesirableWeight;
    @Option(names = "--loss", description = "kto, or apo_zero_unpaired (APO-zero without a reference point) (default: ${DEFAULT-VALUE}).")
    String loss;

    @Override
    public Object defaults() { return Kto.Config.DEFAULTS; }

    @Override
    public Integer call() {
        d.requireOneSource(tf);
        Kto.Config cfg = f.config(Kto.Config.DEFAULTS);
        Task t = tf.task();
        TrainRun.offline("kto", f, cfg, d.describe(tf), (l, metrics) -> {
            List<UnpairedExample> rows = t != null ? TaskData.unpaired(t, Task.Split.TRAIN, examples, 0.5, 0.1, f.seed)
                    : d.rows("kto", UnpairedExample.read(d.data, d.skipInvalid, l.tokenizer().chatTemplate()));
            long good = rows.stream().filter(UnpairedExample::label).count();
            System.err.printf("kto: %d examples (%d desirable, %d undesirable)%n", rows.size(), good, rows.size() - good);
            try (LlamaModel ref = f.reference(l, refModel)) {
                Kto.train(l.model(), ref, rows, cfg, f.session(l, metrics, tf.eval(t, l, f.seed)));
            }
            return l.model();
        });
        return 0;
    }
}
