package dev.align4j.cli;

import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.PreferencePair;
import dev.align4j.eval.Evaluator;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.DpoConfig;
import dev.align4j.train.DpoTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "dpo", description = {"Offline preference optimization with the DPO family.",
        "Data: --data FILE with prompt/chosen/rejected (or chosen/rejected sharing a prompt prefix), or --task NAME (annotated pairs).",
        "Losses: sigmoid, hinge, ipo, robust, exo_pair, nca_pair, bco_pair, sppo_hard, apo_zero, apo_down, discopop, sigmoid_norm;",
        "reference-free: simpo (--simpo-gamma), cpo, orpo (lambda = --beta), which need no reference model;",
        "several combine as sum of --loss-weights x loss; --rpo-alpha adds NLL on chosen (RPO).",
        "Example: ./align4j dpo --model out/quickstart/sft --task arithmetic --loss sigmoid --beta 0.1 --output out/dpo"})
final class DpoCommand implements Callable<Integer> {
    @Mixin TrainFlags f = new TrainFlags();

    @Option(names = "--data", paramLabel = "FILE", description = "Preference JSONL.")
    Path data;
    @Option(names = "--task", description = "Built-in task whose annotated demonstration pairs to train on (and evaluate with).")
    String task;
    @Option(names = "--ref-model", paramLabel = "DIR", description = "Reference model (default: the starting model).")
    Path refModel;
    @Option(names = "--loss", split = ",", defaultValue = "sigmoid", description = "Loss variant(s) (default: ${DEFAULT-VALUE}).")
    List<String> loss;
    @Option(names = "--loss-weights", split = ",", description = "One weight per --loss (default: all 1).")
    List<Double> lossWeights;
    @Option(names = "--beta", defaultValue = "0.1", description = "DPO temperature beta (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--label-smoothing", defaultValue = "0", description = "cDPO / robust / EXO epsilon (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;
    @Option(names = "--rpo-alpha", defaultValue = "0", description = "Weight of NLL on chosen (RPO); 0 = off (default: ${DEFAULT-VALUE}).")
    double rpoAlpha;
    @Option(names = "--simpo-gamma", defaultValue = "0.5", description = "SimPO target margin gamma (default: ${DEFAULT-VALUE}).")
    double simpoGamma;
    @Option(names = "--modpo-weights", split = ",", description = "MODPO: one weight per objective (data needs chosen_scores / rejected_scores).")
    List<Double> modpoWeights;
    @Option(names = "--modpo-objective", defaultValue = "0", description = "MODPO: the objective k the pairs are labelled for (default: ${DEFAULT-VALUE}).")
    int modpoObjective;
    @Option(names = "--pairs", defaultValue = "4000", description = "Pairs built from --task (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Override
    public Integer call() {
        if ((data == null) == (task == null)) throw new UserError("give exactly one of --data FILE or --task NAME");
        DpoConfig d = DpoConfig.defaults();
        DpoConfig cfg = new DpoConfig(loss.stream().map(PreferenceLoss.Variant::parse).toList(), lossWeights, beta, labelSmoothing, rpoAlpha,
                SftCommand.or(f.steps, d.steps()), SftCommand.or(f.batchSize, d.batchSize()), f.gradAccum, SftCommand.or(f.lr, d.lr()),
                SftCommand.or(f.weightDecay, d.weightDecay()), SftCommand.or(f.warmupSteps, d.warmupSteps()), f.maxGradNorm, f.maxLength,
                f.evalEvery, f.saveEvery, f.keep, f.seed, f.onNonFinite, simpoGamma);
        Task t = task == null ? null : Task.byName(task);
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output)) {
            List<PreferencePair> rows;
            double[] margins = null;
            double wk = 1;
            if (modpoWeights != null) {
                if (data == null) throw new UserError("--modpo-weights needs --data FILE with chosen_scores and rejected_scores (see ./align4j export --format multi)");
                var read = PreferencePair.readScored(data, f.skipInvalid);
                int k = modpoObjective, m = read.rows().get(0).chosenScores().length;
                UserError.check(modpoWeights.size() == m, "--modpo-weights has %s values but the data has %s objectives", modpoWeights.size(), m);
                UserError.check(k >= 0 && k < m, "--modpo-objective must be in [0, %s): %s", m, k);
                wk = modpoWeights.get(k);
                UserError.check(wk > 0, "--modpo-weights: the weight of objective %s must be > 0", k);
                rows = new java.util.ArrayList<>();
                java.util.List<Double> mg = new java.util.ArrayList<>();
                for (PreferencePair.Scored sp : read.rows()) {
                    double[] c = sp.chosenScores(), r = sp.rejectedScores();
                    if (c.length != m) throw new UserError(data + ": every row needs " + m + " scores");
                    if (c[k] == r[k]) continue;                       // a tie on objective k: no label for it
                    boolean swap = c[k] < r[k];                       // orient the pair by objective k
                    PreferencePair p = sp.pair();
                    rows.add(swap ? new PreferencePair(p.prompt(), p.rejected(), p.chosen()) : p);
                    double margin = 0;
                    for (int j = 0; j < m; j++) if (j != k) margin += modpoWeights.get(j) * (swap ? r[j] - c[j] : c[j] - r[j]);
                    mg.add(margin);
                }
                if (rows.isEmpty()) throw new UserError(data + ": no pair differs on objective " + k);
                margins = mg.stream().mapToDouble(Double::doubleValue).toArray();
                System.err.printf("dpo: MODPO on objective %d with weights %s (%d pairs; ties on objective %d dropped)%n", k, modpoWeights, rows.size(), k);
            } else if (t != null) rows = TaskData.preferencePairs(t, Task.Split.TRAIN, pairs, 0.5, 0.1, f.seed);
            else {
                Jsonl.Read<PreferencePair> read = PreferencePair.read(data, f.skipInvalid, l.tokenizer().chatTemplate());
                if (read.skipped() > 0) System.err.println("dpo: skipped " + read.skipped() + " invalid lines of " + data + " (first: " + read.problems().get(0) + ")");
                rows = read.rows();
            }
            TrainFlags.printConfig("dpo", cfg, f.output);
            System.err.printf("dpo: %d pairs, model %s (%,d parameters)%n", rows.size(), l.model().config.architecture(), l.model().parameterCount());
            List<Task.Example> test = t == null ? null : t.examples(Task.Split.TEST, f.evalPrompts, f.seed + 1);
            boolean refFree = cfg.losses().stream().allMatch(PreferenceLoss.Variant::referenceFree) && modpoWeights == null;
            try (LlamaModel ref = refFree ? null : refModel == null ? l.model().copy(l.model().dtype)
                    : HfModel.loadModel(refModel, HfModel.config(refModel), Torch.dtype(f.dtype))) {
                DpoTrainer.train(l.model(), ref, l.tokenizer(), rows, margins, wk, cfg, f.output, metrics, t == null ? null : step -> {
                    Evaluator.Result r = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
                    return Map.of("gold_reward", r.reward(), "accuracy", r.accuracy(), "completion_length", r.length());
                }, f.resume);
            }
            HfModel.save(f.output.resolve("final"), l.model(), l.tokenizer());
            System.err.println("dpo: final model in " + f.output.resolve("final"));
        }
        return 0;
    }
}
