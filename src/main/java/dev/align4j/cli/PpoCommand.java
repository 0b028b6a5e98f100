package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.train.online.Ppo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "ppo", description = {"Online RL with PPO: a critic, GAE, clipped policy and value losses, a fixed or adaptive KL penalty in the reward.",
        "The critic regresses the returns (--value-loss mse) or classifies them over --value-bins bins of --value-range (hl-gauss, two-hot).",
        "Example: ./align4j ppo --model out/quickstart/sft --task arithmetic --steps 100 --beta 0.02 --kl-target 0.5 --output out/ppo",
        "Example: ./align4j ppo --model out/quickstart/sft --task chain --value-loss hl-gauss --value-bins 51 --value-range -1,1 --output out/ppo-hl"})
final class PpoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin RewardFlags rf = new RewardFlags();
    @Mixin MethodFlags.ValueHeadFlags vh = new MethodFlags.ValueHeadFlags();   // --value-loss mse|hl-gauss|two-hot, --value-bins, …

    @Mixin MethodFlags.ConstraintFlags cf = new MethodFlags.ConstraintFlags();
    @Option(names = "--critic-model", paramLabel = "DIR", description = "Initialise the critic from this model (e.g. a reward model); default: the policy's trunk with a new value head.")
    Path criticModel;
    @Option(names = "--shared-trunk", description = "Put the value head on the policy's own trunk (one model, one optimizer, loss = policy + vf-coef x value) instead of a separate critic.")
    boolean sharedTrunk;
    @Option(names = "--vf-coef", description = "Value-loss weight with --shared-trunk (default: ${DEFAULT-VALUE}).")
    double vfCoef;
    @Option(names = "--ppo-epochs", description = "Passes over each rollout batch (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--mini-batches", description = "Minibatches per pass (default: ${DEFAULT-VALUE}).")
    int miniBatches;
    @Option(names = "--critic-lr", defaultValue = "0", description = "Critic learning rate; 0 = 2 x --lr, at most 0.5 (default: ${DEFAULT-VALUE}).")
    double criticLr;
    @Option(names = "--clip", description = "Policy ratio clip epsilon (default: ${DEFAULT-VALUE}).")
    double clip;
    @Option(names = "--value-clip", description = "Value clip epsilon; 0 = off (default: ${DEFAULT-VALUE}).")
    double valueClip;
    @Option(names = "--gamma", description = "GAE discount (default: ${DEFAULT-VALUE}).")
    double gamma;
    @Option(names = "--lambda", description = "GAE lambda (default: ${DEFAULT-VALUE}).")
    double lambda;
    @Option(names = "--whiten", negatable = true, description = "Whiten advantages over the batch; --no-whiten turns it off (default: ${DEFAULT-VALUE}).")
    boolean whiten;
    @Option(names = "--kl-target", description = "Adaptive KL target per sequence; 0 = fixed beta (default: ${DEFAULT-VALUE}).")
    double klTarget;
    @Option(names = "--kl-horizon", description = "Adaptive KL horizon in samples (default: ${DEFAULT-VALUE}).")
    long klHorizon;

    @Override
    public Object defaults() { return Ppo.Config.DEFAULTS; }

    @Override
    public Integer call() {
        if (sharedTrunk && criticModel != null)
            throw new UserError("--shared-trunk trains the value head with the policy: --critic-model and --critic-lr do not apply");
        Ppo.Config cfg = f.config(Ppo.Config.DEFAULTS);
        var cons = cf.build("ppo");
        TrainRun.online("ppo", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
            try (LlamaModel ref = cfg.beta() > 0 ? l.model().reference() : null; LlamaModel critic = critic(l, cfg.value().labels())) {
                Ppo.train(l.model(), critic, ref, reward, cons, prompts, cfg, io);
            }
        });
        return 0;
    }

    /** A separate critic with {@code labels} value-head outputs (1 for mse, B bins for a categorical loss), or null with --shared-trunk. */
    LlamaModel critic(HfModel.Loaded policy, int labels) {
        if (sharedTrunk) return null;
        if (criticModel == null) return policy.model().withScoreHead(labels, f.seed + 17);
        try (HfModel.Loaded c = HfModel.load(criticModel, TrainFlags.WEIGHTS)) {
            return c.model().config.numLabels() == labels ? c.model().copy(c.model().dtype) : c.model().withScoreHead(labels, f.seed + 17);
        }
    }
}
