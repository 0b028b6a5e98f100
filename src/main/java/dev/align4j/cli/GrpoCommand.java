package dev.align4j.cli;

import dev.align4j.core.Configs;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.train.online.Advantages;
import dev.align4j.train.online.Constraints;
import dev.align4j.train.online.Grpo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "grpo", description = {"Online RL with GRPO (and Dr. GRPO, DAPO, GSPO options), RLOO or REINFORCE++ on a built-in task's prompts.",
        "Example: ./align4j grpo --model out/quickstart/sft --task arithmetic --steps 100 --output out/grpo",
        "Dr. GRPO: --scale none --aggregation constant; DAPO: --eps-high 0.28 --aggregation token_mean --dynamic-sampling; GSPO: --sequence-ratio"})
class GrpoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin RewardFlags rf = new RewardFlags();

    @Mixin MethodFlags.ConstraintFlags cf = new MethodFlags.ConstraintFlags();

    /** The estimator this command runs by default: grpo here, rloo / reinforce++ for those commands. */
    Advantages.Estimator defaultEstimator() { return Advantages.Estimator.GRPO; }

    @Command(name = "rloo", description = {"Online RL with RLOO: each completion's baseline is the mean reward of the other G-1 of its prompt.",
            "Example: ./align4j rloo --model out/quickstart/sft --task arithmetic --steps 100 --output out/rloo"})
    static final class Rloo extends GrpoCommand {
        @Override Advantages.Estimator defaultEstimator() { return Advantages.Estimator.RLOO; }
    }

    @Command(name = "reinforce++", description = {"Online RL with REINFORCE++: beta * KL in the per-token reward, returns normalised over the",
            "whole batch (--estimator reinforce_pp_baseline centres each prompt's rewards first).",
            "Example: ./align4j reinforce++ --model out/quickstart/sft --task arithmetic --beta 0.01 --steps 100 --output out/rpp"})
    static final class ReinforcePlusPlus extends GrpoCommand {
        @Override Advantages.Estimator defaultEstimator() { return Advantages.Estimator.REINFORCE_PP; }
    }

    @Mixin Flags g = new Flags();

    @Override
    public Object defaults() { return Configs.with(Grpo.Config.DEFAULTS, "estimator", defaultEstimator()); }

    @Override
    public Integer call() {
        Grpo.Config cfg = f.config((Grpo.Config) defaults());
        Constraints cons = cf.build(cfg.stage());
        TrainRun.online(cfg.stage(), f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
            try (LlamaModel ref = cfg.beta() > 0 ? l.model().reference() : null) {
                Grpo.train(cfg.stage(), l.model(), ref, reward, cons, prompts, cfg, io);
            }
        });
        return 0;
    }

    /** The GRPO-family settings' flags (also the spo command's): the fields of {@code Grpo.Config} beyond the run and rollouts. */
    static final class Flags {
        @Option(names = "--estimator", description = "Advantage estimator: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
        Advantages.Estimator estimator;
        @Option(names = "--updates-per-rollout", description = "Optimizer steps per rollout batch, mu (default: ${DEFAULT-VALUE}).")
        int updatesPerRollout;
        @Option(names = "--eps-low", description = "Lower clip epsilon (default: ${DEFAULT-VALUE}).")
        double epsLow;
        @Option(names = "--eps-high", description = "Upper clip epsilon; DAPO uses 0.28 (default: ${DEFAULT-VALUE}).")
        double epsHigh;
        @Option(names = "--kl", description = "KL estimator: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
        PolicyLoss.KlEstimator kl;
        @Option(names = "--scale", description = "Advantage scaling: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
        Advantages.Scale scale;
        @Option(names = "--aggregation", description = "Per-token losses to one number: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
        PolicyLoss.Aggregation aggregation;
        @Option(names = "--sequence-ratio", description = "GSPO's sequence-level importance ratio.")
        boolean sequenceRatio;
        @Option(names = "--dynamic-sampling", description = "Drop groups whose rewards are all equal (DAPO).")
        boolean dynamicSampling;
        @Option(names = "--objective", description = "Per-token objective: ${COMPLETION-CANDIDATES}; CISPO caps the ratio at --eps-high (try 5) (default: ${DEFAULT-VALUE}).")
        PolicyLoss.Objective objective;
        @Option(names = "--sapo-tau-pos", description = "SAPO gate temperature for positive advantages (default: ${DEFAULT-VALUE}).")
        double sapoTauPos;
        @Option(names = "--sapo-tau-neg", description = "SAPO gate temperature for the others (default: ${DEFAULT-VALUE}).")
        double sapoTauNeg;
    }
}
