package dev.align4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.StepwiseExample;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.pipeline.StepwiseData;
import dev.align4j.task.Task;
import dev.align4j.train.offline.ProcessRewardModel;
import dev.align4j.train.offline.ProcessRewardModel.Trajectory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "prm", description = {"Train a process reward model: the decoder plus a per-token classification head (saved as *ForTokenClassification,",
        "num_labels 2, class 1 = step correct) that judges each step at its last token (step + separator), as TRL's PRMTrainer.",
        "Data: --data FILE in TRL's stepwise format ({\"prompt\", \"completions\": [steps], \"labels\": [bools]}), or --task NAME:",
        "trajectories sampled from --policy (N per prompt) and labelled by the task's gold step labels (--labels gold) or by",
        "Math-Shepherd's Monte Carlo rollouts (--labels mc: a step is right if rollouts from it reach the right answer).",
        "With --task, held-out trajectories of test-split prompts are evaluated (step and trajectory accuracy vs the majority class).",
        "The step separator is saved with the model (final/process_reward.json), so --reward prm scores steps the same way.",
        "Example: ./align4j prm --model out/sft/final --task chain --samples 8 --output out/prm",
        "Example: ./align4j prm --model out/sft/final --task chain --labels mc --mc-rollouts 8 --output out/prm-mc",
        "Example: ./align4j prm --init tiny --data stepwise.jsonl --step-separator ';' --output out/prm"})
final class PrmCommand implements Callable<Integer>, ConfigFile.Configured {
    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin TrainFlags f = new TrainFlags();                               // --model/--init, --output, run settings
    @Mixin MethodFlags.DataFlags d = new MethodFlags.DataFlags();         // --data, --batch-size, --max-length
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();         // --task, --eval-prompts

    @Option(names = "--step-separator", description = "Appended to every step; the step's label sits on its last token (default: \\n, or the task's own: ';' for chain).")
    String stepSeparator;
    @Option(names = "--train-on-last-step-only", description = "Train on the last step's label only (TRL's train_on_last_step_only); evaluation still scores every step.")
    boolean trainOnLastStepOnly;
    @Option(names = "--eval-data", paramLabel = "FILE", description = "Held-out stepwise rows evaluated with --data.")
    Path evalData;

    @Option(names = "--policy", paramLabel = "DIR", description = "With --task: the causal LM whose samples (and Math-Shepherd rollouts) are labelled (default: --model).")
    Path policy;
    @Option(names = "--labels", defaultValue = "gold", description = "With --task: gold (the task's step labels) or mc (Math-Shepherd Monte Carlo rollouts) (default: ${DEFAULT-VALUE}).")
    StepwiseData.Labels labels;
    @Option(names = "--mc-rollouts", defaultValue = "8", description = "Completions sampled from each step prefix for --labels mc (default: ${DEFAULT-VALUE}).")
    int mcRollouts;
    @Option(names = "--mc-estimate", defaultValue = "hard", description = "hard: a step is right if any rollout reaches the right answer; soft: the share that does (default: ${DEFAULT-VALUE}).")
    StepwiseData.Estimate estimate;
    @Option(names = "--prompts", defaultValue = "1000", description = "With --task: training prompts, each sampled --samples times (default: ${DEFAULT-VALUE}).")
    int prompts;
    @Option(names = "--samples", defaultValue = "8", description = "With --task: trajectories sampled per prompt; identical ones are kept once (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--temperature", defaultValue = "1.0", description = "With --task: sampling temperature of trajectories and rollouts (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--max-new-tokens", defaultValue = "0", description = "With --task: generation budget; 0 = the task's (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--sample-batch-size", defaultValue = "256", description = "With --task: rows per generation batch (default: ${DEFAULT-VALUE}).")
    int sampleBatchSize;
    @Option(names = "--save-data", paramLabel = "FILE", description = "Also write the labelled training trajectories as stepwise JSONL (soft labels as numbers).")
    Path saveData;

    @Override public Object defaults() { return ProcessRewardModel.Config.DEFAULTS; }

    @Override
    public Integer call() {
        d.requireOneSource(tf);
        ProcessRewardModel.Config cfg = f.config(ProcessRewardModel.Config.DEFAULTS);
        Task t = tf.task();
        boolean separatorGiven = spec.commandLine().getParseResult().hasMatchedOption("--step-separator");
        if (t != null && !separatorGiven) {
            if (t.stepSeparator() == null) throw new UserError("--task " + t.name() + " has no steps; give --step-separator or choose a multi-step task (chain)");
            cfg = Configs.with(cfg, "stepSeparator", t.stepSeparator());
        }
        if (t == null && (policy != null || spec.commandLine().getParseResult().hasMatchedOption("--labels")))
            throw new UserError("--policy and --labels build data from --task; with --data the file's labels are used");
        ProcessRewardModel.Config c = cfg;
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = Metrics.ofRun(f.output)) {
            List<Trajectory> train, test;
            String source;
            if (t != null) {
                StepwiseData.Config sc = Configs.with(StepwiseData.Config.DEFAULTS, "samples", samples, "temperature", temperature,
                        "maxNewTokens", maxNewTokens, "labels", labels, "mcRollouts", mcRollouts, "estimate", estimate, "batchSize", sampleBatchSize);
                HfModel.Loaded pol = policy != null ? HfModel.load(policy, TrainFlags.WEIGHTS) : null;
                try {
                    LlamaModel pm = pol != null ? pol.model() : l.model();
                    if (!pm.config.isCausalLm())
                        throw new UserError("--task needs a policy to sample from: give --policy DIR (a *ForCausalLM), --model is " + pm.config.architecture());
                    var ptok = pol != null ? pol.tokenizer() : l.tokenizer();
                    System.err.printf("prm: sampling %d train and %d held-out prompts x %d from %s, %s labels%n", prompts, tf.evalPrompts, samples,
                            policy != null ? policy : f.m.model, labels.name().toLowerCase() + (labels == StepwiseData.Labels.MC ? " (" + estimate.name().toLowerCase() + ", " + mcRollouts + " rollouts)" : ""));
                    train = StepwiseData.build(pm, ptok, t, t.examples(Task.Split.TRAIN, prompts, f.seed), c.stepSeparator(), sc, f.seed);
                    test = StepwiseData.build(pm, ptok, t, t.examples(Task.Split.TEST, tf.evalPrompts, f.seed + 1), c.stepSeparator(), sc, f.seed + 1);
                } finally {
                    if (pol != null) pol.close();
                }
                source = "trajectories sampled from " + (policy != null ? policy : f.m.model) + " on the built-in task '" + t.name() + "' (" + labels.name().toLowerCase() + " step labels)";
            } else {
                train = read(d.data, l);
                test = evalData == null ? null : read(evalData, l);
                source = d.data.toString();
            }
            if (train.isEmpty()) throw new UserError("prm: no training trajectories");
            if (saveData != null) Jsonl.write(saveData, rows(train));
            describe("train", train);
            if (test != null) describe("held-out", test);
            List<Trajectory> heldOut = test;
            try (LlamaModel prm = l.model().config.tokenClassification() ? l.model().copy(l.model().dtype) : l.model().withTokenClassificationHead(2, f.seed)) {
                TrainFlags.printConfig("prm", c, f.output);
                System.err.printf("prm: model %s (%,d parameters), step separator '%s'%n", prm.config.architecture(), prm.parameterCount(), c.stepSeparator().replace("\n", "\\n"));
                ProcessRewardModel.train(prm, train, c, f.session(l, metrics, heldOut == null ? null
                        : step -> ProcessRewardModel.evaluate(prm, l.tokenizer(), heldOut, c.stepSeparator(), c.batching().maxLength())));
                Path fin = f.output.resolve("final");
                dev.align4j.model.HfModel.save(fin, prm, l.tokenizer());
                StepwiseExample.saveSeparator(fin, c.stepSeparator());
                ModelCard.write(fin, "prm", f, c, source, metrics);
                if (heldOut != null) {
                    Map<String, Double> m = ProcessRewardModel.evaluate(prm, l.tokenizer(), heldOut, c.stepSeparator(), c.batching().maxLength());
                    System.err.printf("prm: held-out step accuracy %.3f (majority class %.3f), trajectory accuracy %.3f (majority class %.3f), %d trajectories%n",
                            m.get("prm/step_accuracy"), m.get("prm/majority_step_accuracy"), m.get("prm/trajectory_accuracy"),
                            m.get("prm/majority_trajectory_accuracy"), m.get("prm/trajectories").intValue());
                }
                System.err.println("prm: final model in " + fin);
            }
        }
        return 0;
    }

    private List<Trajectory> read(Path file, HfModel.Loaded l) {
        Jsonl.Read<StepwiseExample> read = StepwiseExample.read(file, d.skipInvalid, l.tokenizer().chatTemplate());
        if (read.skipped() > 0) System.err.println("prm: skipped " + read.skipped() + " invalid lines of " + file + " (first: " + read.problems().get(0) + ")");
        List<Trajectory> out = new ArrayList<>();
        for (StepwiseExample e : read.rows()) out.add(Trajectory.of(e));
        return out;
    }

    private static void describe(String what, List<Trajectory> data) {
        int steps = 0, positive = 0;
        for (Trajectory t : data) for (double y : t.labels()) { steps++; if (y > 0.5) positive++; }
        System.err.printf("prm: %s: %d trajectories, %d steps, %.1f%% labelled correct%n", what, data.size(), steps, 100.0 * positive / Math.max(1, steps));
    }

    /** Trajectories as TRL stepwise rows; labels as booleans when all are 0/1, else numbers. */
    static List<ObjectNode> rows(List<Trajectory> data) {
        List<ObjectNode> out = new ArrayList<>();
        for (Trajectory t : data) {
            ObjectNode o = Json.object().put("prompt", t.prompt());
            ArrayNode c = o.putArray("completions"), y = o.putArray("labels");
            t.steps().forEach(c::add);
            for (double v : t.labels()) if (v == 0 || v == 1) y.add(v == 1); else y.add(v);
            out.add(o);
        }
        return out;
    }
}
