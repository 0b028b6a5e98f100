package dev.align4j.cli;

import dev.align4j.core.Torch;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.train.PpoConfig;
import dev.align4j.train.PpoTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "ppo", description = {"Online RL with PPO: a critic, GAE, clipped policy and value losses, a fixed or adaptive KL penalty in the reward.",
        "Example: ./align4j ppo --model out/quickstart/sft --task arithmetic --steps 100 --beta 0.02 --kl-target 0.5 --output out/ppo"})
final class PpoCommand implements Callable<Integer> {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin RewardFlags rf = new RewardFlags();

    @Option(names = "--task", required = true, description = "Built-in task whose prompts to train on (and gold reward to evaluate with).")
    String task;
    @Option(names = "--critic-model", paramLabel = "DIR", description = "Initialise the critic from this model (e.g. a reward model); default: the policy's trunk with a new value head.")
    Path criticModel;
    @Option(names = "--shared-trunk", description = "Put the value head on the policy's own trunk (one model, one optimizer, loss = policy + vf-coef x value) instead of a separate critic.")
    boolean sharedTrunk;
    @Option(names = "--vf-coef", defaultValue = "0.1", description = "Value-loss weight with --shared-trunk (default: ${DEFAULT-VALUE}).")
    double vfCoef;
    @Option(names = "--prompts-per-step", defaultValue = "32", description = "Prompts per rollout (default: ${DEFAULT-VALUE}).")
    int promptsPerStep;
    @Option(names = "--samples-per-prompt", defaultValue = "4", description = "Completions per prompt (default: ${DEFAULT-VALUE}).")
    int samplesPerPrompt;
    @Option(names = "--max-new-tokens", defaultValue = "16", description = "Generation budget (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "1.0", description = "Rollout temperature (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--ppo-epochs", defaultValue = "2", description = "Passes over each rollout batch (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--mini-batches", defaultValue = "2", description = "Minibatches per pass (default: ${DEFAULT-VALUE}).")
    int miniBatches;
    @Option(names = "--critic-lr", description = "Critic learning rate (default: 2 x --lr).")
    Double criticLr;
    @Option(names = "--clip", defaultValue = "0.2", description = "Policy ratio clip epsilon (default: ${DEFAULT-VALUE}).")
    double clip;
    @Option(names = "--value-clip", defaultValue = "0.2", description = "Value clip epsilon; 0 = off (default: ${DEFAULT-VALUE}).")
    double valueClip;
    @Option(names = "--gamma", defaultValue = "1.0", description = "GAE discount (default: ${DEFAULT-VALUE}).")
    double gamma;
    @Option(names = "--lambda", defaultValue = "0.95", description = "GAE lambda (default: ${DEFAULT-VALUE}).")
    double lambda;
    @Option(names = "--no-whiten", description = "Do not whiten advantages over the batch.")
    boolean noWhiten;
    @Option(names = "--beta", defaultValue = "0.02", description = "Initial KL coefficient; 0 skips the reference (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--kl-target", defaultValue = "0", description = "Adaptive KL target per sequence; 0 = fixed beta (default: ${DEFAULT-VALUE}).")
    double klTarget;
    @Option(names = "--kl-horizon", defaultValue = "10000", description = "Adaptive KL horizon in samples (default: ${DEFAULT-VALUE}).")
    long klHorizon;

    @Override
    public Integer call() {
        if (sharedTrunk && (criticModel != null || criticLr != null))
            throw new dev.align4j.core.UserError("--shared-trunk trains the value head with the policy: --critic-model and --critic-lr do not apply");
        double lr = SftCommand.or(f.lr, 1e-4);
        PpoConfig cfg = new PpoConfig(SftCommand.or(f.steps, 100), promptsPerStep, samplesPerPrompt, maxNewTokens, temperature, epochs, miniBatches,
                lr, criticLr != null ? criticLr : Math.min(0.5, 2 * lr), SftCommand.or(f.weightDecay, 0.0), SftCommand.or(f.warmupSteps, 5),
                f.maxGradNorm, clip, valueClip, gamma, lambda, !noWhiten, beta, klTarget, klHorizon, sharedTrunk, vfCoef,
                f.evalEvery, f.saveEvery, f.keep, f.seed, f.onNonFinite);
        Task t = Task.byName(task);
        GrpoCommand.online("ppo", f, t, cfg, (l, metrics, train, eval) -> {
            try (LlamaModel ref = beta > 0 ? l.model().copy(l.model().dtype) : null; LlamaModel critic = critic(l)) {
                PpoTrainer.train(l.model(), critic, ref, l.tokenizer(), rf.build(t, maxNewTokens), train, cfg, f.output, metrics, eval, f.resume);
            }
        });
        return 0;
    }

    LlamaModel critic(HfModel.Loaded policy) {
        if (sharedTrunk) return null;
        if (criticModel == null) return policy.model().withScoreHead(1, f.seed + 17);
        try (HfModel.Loaded c = HfModel.load(criticModel, Torch.dtype(f.dtype))) {
            return c.model().config.numLabels() == 1 ? c.model().copy(c.model().dtype) : c.model().withScoreHead(1, f.seed + 17);
        }
    }
}
