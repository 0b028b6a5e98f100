package dev.align4j.cli;

import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.PreferencePair;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.offline.RewardModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "reward", description = {"Train a Bradley-Terry reward model (the decoder plus a score head) on preference pairs.",
        "Data: --data FILE (prompt/chosen/rejected) or --task NAME (annotated pairs; held-out pairs from the test split are evaluated).",
        "--multi-objective: one head per objective, from chosen_scores / rejected_scores vectors (or the task's objectives).",
        "Example: ./align4j reward --init tiny --task phrase --steps 300 --output out/rm",
        "With --data, --eval-data FILE (pairs in the same format) is the held-out set: accuracy and margin on it are reported.",
        "Example: ./align4j reward --init tiny --task brief-arith --multi-objective --output out/rm-multi",
        "Example: ./align4j reward --model out/sft/final --data out/judge/comparisons.jsonl --eval-data out/judge/heldout_comparisons.jsonl --output out/rm"})
final class RewardCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.DataFlags d = new MethodFlags.DataFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();

    @Option(names = "--pairs", defaultValue = "4000", description = "Training pairs built from --task (default: ${DEFAULT-VALUE}).")
    int pairs;
    @Option(names = "--annotator-temperature", defaultValue = "0.1", description = "Annotator noise for --task pairs (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--center-rewards", description = "Reward-centering coefficient eta (default: ${DEFAULT-VALUE}).")
    double center;
    @Option(names = "--multi-objective", description = "One score head per objective: --data rows need chosen_scores and rejected_scores vectors; --task uses the task's objectives.")
    boolean multi;
    @Option(names = "--eval-data", paramLabel = "FILE", description = "Held-out pairs (same format as --data) whose accuracy and margin are reported.")
    Path evalData;

    @Override
    public Object defaults() { return RewardModel.Config.DEFAULTS; }

    @Override
    public Integer call() {
        d.requireOneSource(tf);
        RewardModel.Config cfg = f.config(RewardModel.Config.DEFAULTS);
        Task t = tf.task();
        Path data = d.data;
        if (evalData != null && (t != null || multi)) throw new UserError("--eval-data is for --data pairs (one objective); --task evaluates its own test split");
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = Metrics.ofRun(f.output)) {
            // every pair as a scored pair: plain pairs are one objective ("reward") with chosen 1, rejected 0
            List<PreferencePair.Scored> rows, heldOut = null;
            List<String> names;
            if (t != null) {
                rows = multi ? TaskData.scoredPairs(t, Task.Split.TRAIN, pairs, 0.5, temperature, f.seed)
                        : RewardModel.scalar(TaskData.preferencePairs(t, Task.Split.TRAIN, pairs, 0.5, temperature, f.seed));
                heldOut = multi ? TaskData.scoredPairs(t, Task.Split.TEST, 500, 0.5, 0.0, f.seed + 1)
                        : RewardModel.scalar(TaskData.preferencePairs(t, Task.Split.TEST, 500, 0.5, 0.0, f.seed + 1));
                names = multi ? t.objectives() : List.of("reward");
            } else if (multi) {
                Jsonl.Read<PreferencePair.Scored> read = PreferencePair.readScored(data, d.skipInvalid);
                reportSkipped(read);
                rows = read.rows();
                if (rows.isEmpty()) throw new UserError(data + ": no rows");
                int k = rows.get(0).chosenScores().length;
                for (int i = 0; i < rows.size(); i++)
                    if (rows.get(i).chosenScores().length != k)
                        throw new UserError(data + ": row " + (i + 1) + " has " + rows.get(i).chosenScores().length + " scores, the first row " + k
                                + " (every row needs one score per objective)");
                names = PreferencePair.objectiveNames(data, k);
            } else {
                Jsonl.Read<PreferencePair> read = PreferencePair.read(data, d.skipInvalid, l.tokenizer().chatTemplate());
                reportSkipped(read);
                rows = RewardModel.scalar(read.rows());
                names = List.of("reward");
                if (evalData != null) heldOut = RewardModel.scalar(PreferencePair.read(evalData, d.skipInvalid, l.tokenizer().chatTemplate()).rows());
            }
            List<PreferencePair.Scored> test = heldOut;
            try (LlamaModel rm = l.model().config.isCausalLm() ? l.model().withScoreHead(names.size(), f.seed) : l.model().copy(l.model().dtype)) {
                TrainFlags.printConfig("reward", cfg, f.output);
                System.err.printf("reward: %d pairs, %d objective(s) %s, model %s (%,d parameters)%n", rows.size(), names.size(), names,
                        rm.config.architecture(), rm.parameterCount());
                RewardModel.trainScored(rm, rows, names, cfg, f.session(l, metrics, test == null ? null : step -> heldOutMetrics(rm, l, test, names, cfg)));
                HfModel.save(f.output.resolve("final"), rm, l.tokenizer());
                ModelCard.write(f.output.resolve("final"), "reward", f, cfg, d.describe(tf), metrics);
                if (test != null)
                    heldOutMetrics(rm, l, test, names, cfg).forEach((k, v) ->
                            System.err.printf("reward: held-out %s %.3f (%d test-split pairs, perfect labels)%n", k, v, test.size()));
                System.err.println("reward: final model in " + f.output.resolve("final"));
            }
        }
        return 0;
    }

    private void reportSkipped(Jsonl.Read<?> read) { d.rows("reward", read); }

    /** Held-out accuracy and margin: {@code accuracy}, {@code margin} for one head; per objective ({@code accuracy/NAME}) for several. */
    private static Map<String, Double> heldOutMetrics(LlamaModel rm, HfModel.Loaded l, List<PreferencePair.Scored> test, List<String> names, RewardModel.Config cfg) {
        double[][] r = RewardModel.evaluateScored(rm, l.tokenizer(), test, cfg.batching().maxLength());
        Map<String, Double> m = new java.util.LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            String suffix = names.size() == 1 ? "" : "/" + names.get(k);
            m.put("accuracy" + suffix, r[k][0]);
            m.put("margin" + suffix, r[k][1]);
        }
        return m;
    }
}
