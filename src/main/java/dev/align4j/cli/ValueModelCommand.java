package dev.align4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.pipeline.MonteCarloValue;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "value-model", description = {"Train a token-level value model for a policy by regression on Monte Carlo returns: sample --samples",
        "completions of each prompt from --policy, score them with --reward (the return), and train a value head on the policy's trunk",
        "so that V(prompt + completion[:t]) predicts the return at every position. --value-loss mse, or hl-gauss / two-hot (a categorical",
        "head over --value-bins bins of --value-range). Held-out prompts measure it (value mse, explained variance, and before the",
        "first token the Brier score and AUC of success). OUTPUT/final/ is a *ForSequenceClassification model with value_head.json,",
        "which guides decoding: ./align4j generate --guide value:OUTPUT/final.",
        "Example: ./align4j value-model --policy out/sft/final --task chain --samples 8 --prompts 2000 --steps 500 --output out/value",
        "Example: ./align4j value-model --policy out/sft/final --task chain --value-loss hl-gauss --value-bins 51 --value-range 0,1 --output out/value-hl"})
final class ValueModelCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();                                   // --output, --steps, --lr, … (--model is the policy too)
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();             // --task, --eval-prompts
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();         // or --data prompts.jsonl, --eval-data
    @Mixin RewardFlags rf = new RewardFlags();                                // --reward gold,answer,… (the return)
    @Mixin MethodFlags.ValueHeadFlags vh = new MethodFlags.ValueHeadFlags();   // --value-loss, --value-bins, --value-range, --hl-sigma-ratio

    @Option(names = "--policy", paramLabel = "DIR", description = "The policy whose samples are scored and whose trunk starts the value model (the same as --model).")
    Path policy;
    @Option(names = "--samples", description = "Completions sampled per prompt, N (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--prompts", description = "Training prompts: drawn from --task, or the first N rows of --data; 0 = 2000 from a task, every row of --data (default: ${DEFAULT-VALUE}).")
    int prompts;
    @Option(names = "--temperature", description = "Sampling temperature of the policy (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--max-new-tokens", description = "Generation budget; 0 = the task's, 64 for --data (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--batch-size", description = "Trajectories per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--max-length", description = "Longest prompt + completion in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--truncation", paramLabel = "MODE", description = "Accepted for saved configs; prompts are sampled whole (default: ${DEFAULT-VALUE}).")
    String truncation;
    @Option(names = "--json", description = "Print the held-out metrics as one JSON object on stdout.")
    boolean json;

    @Override public Object defaults() { return MonteCarloValue.Config.DEFAULTS; }

    @Override
    public Integer call() {
        if (policy != null) {
            if (f.m.model != null && !f.m.model.equals(policy)) throw new UserError("give --policy DIR or --model DIR, not both");
            f.m.model = policy;
        }
        if (f.m.model == null) throw new UserError("value-model needs the policy to sample from: --policy DIR");
        if ((tf.task == null) == (pf.data == null)) throw new UserError("give exactly one of --task NAME or --data FILE (prompt rows)");
        MonteCarloValue.Config cfg = f.config(MonteCarloValue.Config.DEFAULTS);
        Task t = tf.task();
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = Metrics.ofRun(f.output); Rewards.Weighted reward = rf.build(t, cfg.budget(t))) {
            List<Task.Example> train, held;
            if (t != null) {
                train = t.examples(Task.Split.TRAIN, cfg.prompts() == 0 ? 2000 : cfg.prompts(), f.seed);
                held = t.examples(Task.Split.TEST, tf.evalPrompts, f.seed + 1);
            } else {
                List<Task.Example> all = pf.read(pf.data, l);
                if (pf.evalData != null) held = pf.read(pf.evalData, l);
                else {                                                        // hold out the last tenth of the file
                    int cut = all.size() - Math.max(1, all.size() / 10);
                    held = all.size() > 1 ? all.subList(cut, all.size()) : List.of();
                    all = all.size() > 1 ? all.subList(0, cut) : all;
                    System.err.println("value-model: no --eval-data; the last " + held.size() + " rows of " + pf.data + " are held out");
                }
                train = cfg.prompts() == 0 ? all : all.subList(0, Math.min(all.size(), cfg.prompts()));
            }
            TrainFlags.printConfig("value-model", cfg, f.output);
            MonteCarloValue.Result r = MonteCarloValue.run(l.model(), l.tokenizer(), train, held, reward, t, cfg, f.session(l, metrics, null));
            try (var vm = r.model()) {
                Path fin = f.output.resolve("final");
                HfModel.save(fin, vm, l.tokenizer());
                cfg.train().value().writeTo(fin);
                ModelCard.write(fin, "value-model", f, cfg, t != null ? "samples of the policy on the built-in task '" + t.name() + "'" : "samples of the policy on " + pf.data, metrics);
                System.err.println("value-model: held-out " + MonteCarloValue.summary(r.heldOut()));
                System.err.println("value-model: final value model in " + fin);
            }
            if (json) {
                ObjectNode o = Json.object();
                r.heldOut().forEach(o::put);
                System.out.println(Json.compact(o));
            }
        }
        return 0;
    }
}
