package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.StepPair;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Dpo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "dpo", description = {"Offline preference optimization with the DPO family.",
        "Data: --data FILE with prompt/chosen/rejected (or chosen/rejected sharing a prompt prefix), or --task NAME (annotated pairs).",
        "Losses: sigmoid, hinge, ipo, robust, exo_pair, nca_pair, bco_pair, sppo_hard, apo_zero, apo_down, discopop, sigmoid_norm,",
        "aot, aot_unpaired (aot_pair); reference-free: simpo (--simpo-gamma), cpo, orpo (lambda = --beta), sft (NLL of chosen);",
        "step_apo (Step-APO: step pairs with chosen_advantage / rejected_advantage, --apo-alpha);",
        "several combine as sum of --loss-weights x loss; --rpo-alpha adds NLL on chosen (RPO).",
        "Step pairs as ./align4j mcts writes them (chosen_final / rejected_final columns) train each intermediate step without EOS.",
        "Example: ./align4j dpo --model out/quickstart/sft --task arithmetic --loss sigmoid --beta 0.1 --output out/dpo"})
final class DpoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.DataFlags d = new MethodFlags.DataFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();

    @Option(names = "--ref-model", paramLabel = "DIR", description = "Reference model (default: the starting model).")
    Path refModel;
    @Option(names = "--loss", split = ",", description = "Loss variant(s) (default: ${DEFAULT-VALUE}).")
    List<String> loss;
    @Option(names = "--loss-weights", split = ",", description = "One weight per --loss (default: all 1).")
    List<Double> lossWeights;
    @Option(names = "--label-smoothing", description = "cDPO / robust / EXO epsilon (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;
    @Option(names = "--rpo-alpha", description = "Weight of NLL on chosen (RPO); 0 = off (default: ${DEFAULT-VALUE}).")
    double rpoAlpha;
    @Option(names = "--simpo-gamma", description = "SimPO target margin gamma (default: ${DEFAULT-VALUE}).")
    double simpoGamma;
    @Option(names = "--apo-alpha", description = "Step-APO: weight of the pair's advantage gap in the margin (default: ${DEFAULT-VALUE}).")
    double apoAlpha;
    @Option(names = "--modpo-weights", split = ",", description = "MODPO: one weight per objective (data needs chosen_scores / rejected_scores).")
    List<Double> modpoWeights;
    @Option(names = "--modpo-objective", defaultValue = "0", description = "MODPO: the objective k the pairs are labelled for (default: ${DEFAULT-VALUE}).")
    int modpoObjective;
    @Option(names = "--pairs", defaultValue = "4000", description = "Pairs built from --task (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Override
    public Object defaults() { return Dpo.Config.DEFAULTS; }

    @Override
    public Integer call() {
        d.requireOneSource(tf);
        Dpo.Config cfg = f.config(Dpo.Config.DEFAULTS);
        Task t = tf.task();
        if (modpoWeights != null && d.data == null)
            throw new UserError("--modpo-weights needs --data FILE with chosen_scores and rejected_scores (see ./align4j export --format multi)");
        boolean steps = d.data != null && (cfg.needsAdvantages() || StepPair.isStepFile(d.data));
        if (cfg.needsAdvantages() && d.data == null) throw new UserError("--loss step_apo needs --data FILE of step pairs with advantages (./align4j mcts writes them to OUTPUT/round-R/pairs.jsonl)");
        TrainRun.offline("dpo", f, cfg, d.describe(tf), (l, metrics) -> {
            if (steps) {
                List<StepPair> sp = d.rows("dpo", StepPair.read(d.data, d.skipInvalid));
                System.err.printf("dpo: %d step pairs (EOS only after a final step)%n", sp.size());
                try (LlamaModel ref = f.reference(l, refModel)) {
                    Dpo.trainSteps(l.model(), ref, sp, cfg, f.session(l, metrics, tf.eval(t, l, f.seed)));
                }
                return l.model();
            }
            Dpo.Modpo modpo = null;
            List<PreferencePair> rows;
            if (modpoWeights != null) {
                modpo = Dpo.Modpo.of(d.rows("dpo", PreferencePair.readScored(d.data, d.skipInvalid)), modpoWeights, modpoObjective, d.data);
                rows = modpo.pairs();
                System.err.printf("dpo: MODPO on objective %d with weights %s (%d pairs; ties on objective %d dropped)%n", modpoObjective, modpoWeights, rows.size(), modpoObjective);
            } else if (t != null) rows = TaskData.preferencePairs(t, Task.Split.TRAIN, pairs, 0.5, 0.1, f.seed);
            else rows = d.rows("dpo", PreferencePair.read(d.data, d.skipInvalid, l.tokenizer().chatTemplate()));
            System.err.printf("dpo: %d pairs, model %s (%,d parameters)%n", rows.size(), l.model().config.architecture(), l.model().parameterCount());
            Session io = f.session(l, metrics, tf.eval(t, l, f.seed));
            try (LlamaModel ref = cfg.referenceFree() && modpo == null ? null : f.reference(l, refModel)) {
                if (modpo != null) Dpo.train(l.model(), ref, modpo, cfg, io);
                else Dpo.train(l.model(), ref, rows, cfg, io);
            }
            return l.model();
        });
        return 0;
    }
}
