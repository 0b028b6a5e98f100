package dev.align4j.cli;

import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.eval.Evaluator;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.train.Advantages;
import dev.align4j.train.GrpoConfig;
import dev.align4j.train.GrpoTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "grpo", description = {"Online RL with GRPO (and Dr. GRPO, DAPO, GSPO options), RLOO or REINFORCE++ on a built-in task's prompts.",
        "Example: ./align4j grpo --model out/quickstart/sft --task arithmetic --steps 100 --output out/grpo",
        "Dr. GRPO: --scale none --aggregation constant; DAPO: --eps-high 0.28 --aggregation token_mean --dynamic-sampling; GSPO: --sequence-ratio"})
class GrpoCommand implements Callable<Integer> {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin RewardFlags rf = new RewardFlags();

    /** The estimator when --estimator is not given: grpo here, rloo / reinforce++ for those commands. */
    String defaultEstimator() { return "grpo"; }

    @Command(name = "rloo", description = {"Online RL with RLOO: each completion's baseline is the mean reward of the other G-1 of its prompt.",
            "Example: ./align4j rloo --model out/quickstart/sft --task arithmetic --steps 100 --output out/rloo"})
    static final class Rloo extends GrpoCommand {
        @Override String defaultEstimator() { return "rloo"; }
    }

    @Command(name = "reinforce++", description = {"Online RL with REINFORCE++: beta * KL in the per-token reward, returns normalised over the",
            "whole batch (--estimator reinforce_pp_baseline centres each prompt's rewards first).",
            "Example: ./align4j reinforce++ --model out/quickstart/sft --task arithmetic --beta 0.01 --steps 100 --output out/rpp"})
    static final class ReinforcePlusPlus extends GrpoCommand {
        @Override String defaultEstimator() { return "reinforce_pp"; }
    }

    @Option(names = "--task", required = true, description = "Built-in task whose gold reward is the reward function.")
    String task;
    @Option(names = "--estimator", description = "grpo, rloo, reinforce_pp or reinforce_pp_baseline (default: the command's own).")
    String estimator;
    @Option(names = "--prompts-per-step", defaultValue = "16", description = "Prompts per rollout (default: ${DEFAULT-VALUE}).")
    int promptsPerStep;
    @Option(names = "--group-size", defaultValue = "8", description = "Completions per prompt G (default: ${DEFAULT-VALUE}).")
    int groupSize;
    @Option(names = "--max-new-tokens", defaultValue = "16", description = "Generation budget (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "1.0", description = "Rollout temperature (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--updates-per-rollout", defaultValue = "1", description = "Optimizer steps per rollout batch, mu (default: ${DEFAULT-VALUE}).")
    int mu;
    @Option(names = "--eps-low", defaultValue = "0.2", description = "Lower clip epsilon (default: ${DEFAULT-VALUE}).")
    double epsLow;
    @Option(names = "--eps-high", defaultValue = "0.2", description = "Upper clip epsilon; DAPO uses 0.28 (default: ${DEFAULT-VALUE}).")
    double epsHigh;
    @Option(names = "--beta", defaultValue = "0.0", description = "KL coefficient; 0 skips the reference model (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--kl", defaultValue = "k3", description = "KL estimator k1, k2 or k3 (default: ${DEFAULT-VALUE}).")
    String kl;
    @Option(names = "--scale", defaultValue = "group", description = "Advantage scaling: group, batch or none (default: ${DEFAULT-VALUE}).")
    String scale;
    @Option(names = "--aggregation", defaultValue = "sequence_mean", description = "sequence_mean, token_mean or constant (default: ${DEFAULT-VALUE}).")
    String aggregation;
    @Option(names = "--sequence-ratio", description = "GSPO's sequence-level importance ratio.")
    boolean sequenceRatio;
    @Option(names = "--dynamic-sampling", description = "Drop groups whose rewards are all equal (DAPO).")
    boolean dynamicSampling;

    @Override
    public Integer call() {
        GrpoConfig cfg = new GrpoConfig(SftCommand.or(f.steps, 100), promptsPerStep, groupSize, maxNewTokens, temperature, mu,
                SftCommand.or(f.lr, 1e-4), SftCommand.or(f.weightDecay, 0.0), SftCommand.or(f.warmupSteps, 5), f.maxGradNorm,
                epsLow, epsHigh, beta, en(PolicyLoss.KlEstimator.class, kl, "--kl"), en(GrpoConfig.Estimator.class, estimator != null ? estimator : defaultEstimator(), "--estimator"),
                en(Advantages.Scale.class, scale, "--scale"), en(PolicyLoss.Aggregation.class, aggregation, "--aggregation"),
                sequenceRatio, dynamicSampling, f.evalEvery, f.saveEvery, f.keep, f.seed, f.onNonFinite);
        Task t = Task.byName(task);
        String stage = cfg.stage();
        online(stage, f, t, cfg, (l, metrics, train, eval) -> {
            try (LlamaModel ref = beta > 0 ? l.model().copy(l.model().dtype) : null) {
                GrpoTrainer.train(l.model(), ref, l.tokenizer(), rf.build(t, maxNewTokens), train, cfg, f.output, metrics, eval, f.resume);
            }
        });
        return 0;
    }

    /** The body of an online trainer: the loaded policy, metrics, training prompts and the held-out evaluation. */
    interface OnlineBody {
        void train(HfModel.Loaded policy, Metrics metrics, List<Task.Example> train, dev.align4j.train.SftTrainer.EvalHook eval);
    }

    /**
     * What every online command shares: load the policy, evaluate it on held-out prompts (greedy, logged as
     * {@code eval/STAGE} step 0), train, evaluate again, save {@code final/}.
     */
    static void online(String stage, TrainFlags f, Task t, Object cfg, OnlineBody body) {
        List<Task.Example> train = t.examples(Task.Split.TRAIN, 20_000, f.seed), test = t.examples(Task.Split.TEST, f.evalPrompts, f.seed + 1);
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output)) {
            TrainFlags.printConfig(stage, cfg, f.output);
            Evaluator.Result before = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
            System.err.printf("%s: held-out accuracy before %.1f%% (gold reward %.3f)%n", stage, 100 * before.accuracy(), before.reward());
            if (f.resume == null) metrics.log("eval/" + stage, 0, Map.of("gold_reward", before.reward(), "accuracy", before.accuracy()));
            body.train(l, metrics, train, step -> {
                Evaluator.Result r = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
                return Map.of("gold_reward", r.reward(), "accuracy", r.accuracy());
            });
            Evaluator.Result after = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
            System.err.printf("%s: held-out accuracy after %.1f%% (gold reward %.3f)%n", stage, 100 * after.accuracy(), after.reward());
            HfModel.save(f.output.resolve("final"), l.model(), l.tokenizer());
        }
    }

    static <E extends Enum<E>> E en(Class<E> c, String v, String flag) {
        try {
            return Enum.valueOf(c, v.trim().toUpperCase().replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new UserError(flag + " " + v + ": expected one of " + java.util.Arrays.stream(c.getEnumConstants()).map(x -> x.name().toLowerCase()).toList());
        }
    }
}
