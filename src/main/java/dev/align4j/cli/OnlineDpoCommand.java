package dev.align4j.cli;

import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.train.OnlineDpoConfig;
import dev.align4j.train.OnlineDpoTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "online-dpo", description = {"Online DPO: two samples per prompt from the current policy, ranked by the reward, one DPO step on the untied pairs.",
        "Example: ./align4j online-dpo --model out/quickstart/sft --task arithmetic --reward gold,partial:0.5 --steps 200 --output out/odpo"})
final class OnlineDpoCommand implements Callable<Integer> {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin RewardFlags rf = new RewardFlags();

    @Option(names = "--task", required = true, description = "Built-in task whose prompts to train on (and gold reward to evaluate with).")
    String task;
    @Option(names = "--prompts-per-step", defaultValue = "32", description = "Prompts per round, two samples each (default: ${DEFAULT-VALUE}).")
    int promptsPerStep;
    @Option(names = "--max-new-tokens", defaultValue = "16", description = "Generation budget (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--loss", defaultValue = "sigmoid", description = "DPO-family loss with a reference: sigmoid, ipo, hinge, robust, … (default: ${DEFAULT-VALUE}).")
    String loss;
    @Option(names = "--beta", defaultValue = "0.1", description = "DPO beta (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--label-smoothing", defaultValue = "0", description = "cDPO / robust epsilon (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Override
    public Integer call() {
        OnlineDpoConfig cfg = new OnlineDpoConfig(SftCommand.or(f.steps, 100), promptsPerStep, maxNewTokens, temperature, PreferenceLoss.Variant.parse(loss),
                beta, labelSmoothing, SftCommand.or(f.lr, 5e-5), SftCommand.or(f.weightDecay, 0.0), SftCommand.or(f.warmupSteps, 5), f.maxGradNorm,
                f.evalEvery, f.saveEvery, f.keep, f.seed, f.onNonFinite);
        Task t = Task.byName(task);
        GrpoCommand.online("online-dpo", f, t, cfg, (l, metrics, train, eval) -> {
            try (LlamaModel ref = l.model().copy(l.model().dtype)) {
                OnlineDpoTrainer.train(l.model(), ref, l.tokenizer(), rf.build(t, maxNewTokens), train, cfg, f.output, metrics, eval, f.resume);
            }
        });
        return 0;
    }
}
