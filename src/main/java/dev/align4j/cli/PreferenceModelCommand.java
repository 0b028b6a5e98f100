package dev.align4j.cli;

import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.data.PairwiseInput;
import dev.align4j.data.PreferencePair;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.offline.PreferenceModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "preference-model", description = {"Train a pairwise preference model (PairRM-style): one sequence holds the prompt and both responses,",
        "P(A > B) = sigmoid(f(x, A, B) - f(x, B, A)), so P(A > B) + P(B > A) = 1; unlike a Bradley-Terry reward model it can hold",
        "intransitive preferences. Data: --data FILE (prompt/chosen/rejected, TRL's pairwise format) or --task NAME (pairs labelled",
        "by the simulated annotator; for --task cycle drawn from its intransitive gold preference). With --task the held-out",
        "test-split pairs give pm/accuracy (against the annotator's labels) and pm/accuracy_majority (against the gold",
        "preference's majority direction). final/ is a *ForSequenceClassification model with pairwise_preference.json",
        "saying how to read it; use it as --judge pm:OUTPUT/final.",
        "Example: ./align4j preference-model --init tiny --task cycle --steps 300 --output out/pm",
        "Example: ./align4j preference-model --init tiny --task cycle --baseline-judge rm:out/rm/final,gold --output out/pm"})
final class PreferenceModelCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.DataFlags d = new MethodFlags.DataFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();

    @Option(names = "--pairs", defaultValue = "4000", description = "Training pairs built from --task (default: ${DEFAULT-VALUE}).")
    int pairs;
    @Option(names = "--annotator-temperature", defaultValue = "0.1", description = {"Annotator noise for --task pairs (default: ${DEFAULT-VALUE}); for cycle any value > 0",
            "draws each label from the gold preference P*, 0 gives its majority direction."})
    double temperature;
    @Option(names = "--heldout-pairs", defaultValue = "500", description = "Held-out test-split pairs with --task (default: ${DEFAULT-VALUE}).")
    int heldoutPairs;
    @Option(names = "--baseline-judge", split = ",", paramLabel = "SPEC", description = {"Also score the held-out pairs with these judges (rm:DIR a Bradley-Terry reward model, pm:DIR, gold):",
            "NAME/accuracy, NAME/accuracy_majority (gold's accuracy is the ceiling the annotator's noise allows)."})
    List<String> baselines;

    @Override
    public Object defaults() { return PreferenceModel.Config.DEFAULTS; }

    @Override
    public Integer call() {
        d.requireOneSource(tf);
        PreferenceModel.Config cfg = f.config(PreferenceModel.Config.DEFAULTS);
        Task t = tf.task();
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = Metrics.ofRun(f.output)) {
            List<PreferencePair> rows = t != null ? TaskData.preferencePairs(t, Task.Split.TRAIN, pairs, 0.5, temperature, f.seed)
                    : d.rows("preference-model", PreferencePair.read(d.data, d.skipInvalid, l.tokenizer().chatTemplate()));
            List<TaskData.Labelled> test = t == null ? null : TaskData.labelledPairs(t, Task.Split.TEST, heldoutPairs, 0.5, temperature, f.seed + 1);
            List<Judge> base = new ArrayList<>();
            if (baselines != null) for (String b : baselines) base.add(Judges.parse(b, t, temperature));   // a bad spec fails before training
            try (Judges.All closeBase = new Judges.All(base);
                 LlamaModel pm = l.model().config.isCausalLm() ? l.model().withScoreHead(1, f.seed) : l.model().copy(l.model().dtype)) {
                TrainFlags.printConfig("preference-model", cfg, f.output);
                System.err.printf("preference-model: %d pairs, model %s (%,d parameters)%n", rows.size(), pm.config.architecture(), pm.parameterCount());
                int maxLength = cfg.batching().maxLength();
                PreferenceModel.train(pm, rows, cfg, f.session(l, metrics, test == null ? null : step -> {
                    try (Judge j = Judges.preferenceModel(pm, l.tokenizer(), maxLength)) { return heldOut(j, test, "pm/", t); }
                }));
                HfModel.save(f.output.resolve("final"), pm, l.tokenizer());
                PairwiseInput.mark(f.output.resolve("final"), maxLength);
                ModelCard.write(f.output.resolve("final"), "preference-model", f, cfg, d.describe(tf), metrics);
                if (test != null) {
                    Map<String, Double> m = new LinkedHashMap<>();
                    try (Judge j = Judges.preferenceModel(pm, l.tokenizer(), maxLength)) { m.putAll(heldOut(j, test, "pm/", t)); }
                    for (Judge j : base) m.putAll(heldOut(j, test, j.name() + "/", t));
                    m.forEach((k, v) -> System.err.printf("preference-model: held-out %s %.3f (%d test-split pairs)%n", k, v, test.size()));
                    var o = Json.object();
                    m.forEach(o::put);
                    o.put("pairs", test.size());
                    AtomicFiles.writeString(f.output.resolve("heldout.json"), o.toPrettyString() + "\n");
                }
                System.err.println("preference-model: final model in " + f.output.resolve("final") + " (read it as --judge pm:" + f.output.resolve("final") + ")");
            }
        }
        return 0;
    }

    /** Both sides styled, equally correct, in different styles: a pair of the cycle task decided by the style cycle alone. */
    static boolean cycleStylePair(dev.align4j.task.CycleTask cy, Task.Example e, String a, String b) {
        int x = cy.classOf(e, a), y = cy.classOf(e, b);
        return x != dev.align4j.task.CycleTask.MALFORMED && y != dev.align4j.task.CycleTask.MALFORMED
                && dev.align4j.task.CycleTask.quality(x) == dev.align4j.task.CycleTask.quality(y) && dev.align4j.task.CycleTask.styleOf(x) != dev.align4j.task.CycleTask.styleOf(y);
    }

    static <T> List<T> pick(List<T> l, List<Integer> idx) { return idx.stream().map(l::get).toList(); }

    /** {@code PREFIX accuracy} against the annotator's labels and {@code PREFIX accuracy_majority} against the gold majority direction. */
    static Map<String, Double> heldOut(Judge j, List<TaskData.Labelled> test, String prefix, Task t) {
        List<Task.Example> ex = new ArrayList<>();
        List<String> c = new ArrayList<>(), r = new ArrayList<>();
        double[] gold = new double[test.size()];
        for (int i = 0; i < test.size(); i++) {
            TaskData.Labelled x = test.get(i);
            ex.add(x.example());
            c.add(x.pair().chosen());
            r.add(x.pair().rejected());
            gold[i] = x.gold();
        }
        Judges.Accuracy a = Judges.accuracy(j, ex, c, r, gold);
        Map<String, Double> m = new LinkedHashMap<>();
        m.put(prefix + "accuracy", a.label());
        m.put(prefix + "accuracy_majority", a.majority());
        // cycle: the pairs the style cycle alone decides (same correctness, different styles) — a Bradley-Terry model can
        // order at most two of the three style pairs its majority way
        List<Integer> style = new ArrayList<>();
        for (int i = 0; i < test.size(); i++)
            if (t instanceof dev.align4j.task.CycleTask cy && cycleStylePair(cy, ex.get(i), c.get(i), r.get(i))) style.add(i);
        if (!style.isEmpty()) {
            Judges.Accuracy s = Judges.accuracy(j, pick(ex, style), pick(c, style), pick(r, style), style.stream().mapToDouble(i -> gold[i]).toArray());
            m.put(prefix + "style_accuracy_majority", s.majority());
        }
        return m;
    }
}
