package dev.align4j.cli;

import dev.align4j.model.LlamaModel;
import dev.align4j.reward.Judge;
import dev.align4j.train.online.NashMd;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "nash-md", description = {"Nash-MD (Munos et al. 2023), policy-gradient form: the policy's samples play opponents drawn from the",
        "geometric mixture pi^(1-m) pi_ref^m (--mixture-coef m); REINFORCE on the judge's P(y > y') with a beta * KL penalty to the",
        "starting policy. On cycle each evaluation logs the exact exploitability and the win rate against the starting policy.",
        "Example: ./align4j nash-md --model out/cycle-sft/final --task cycle --judge gold --steps 90 --output out/nash-md"})
final class NashMdCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin JudgeFlags jf = new JudgeFlags();
    final RewardFlags rf = new RewardFlags();                    // held-out evaluation only

    @Option(names = "--mixture-coef", description = "The reference's weight m in the opponents' geometric mixture (default: ${DEFAULT-VALUE}).")
    double mixtureCoef;

    @Override
    public Object defaults() { return NashMd.Config.DEFAULTS; }

    @Override
    public Integer call() {
        NashMd.Config cfg = f.config(NashMd.Config.DEFAULTS);
        try (Judge judge = jf.build(tf.task())) {                  // first, so that a bad --judge fails before any model loads
            TrainRun.online("nash-md", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
                try (LlamaModel ref = l.model().reference()) {
                    NashMd.train(l.model(), ref, judge, prompts, cfg, io);
                }
            });
        }
        return 0;
    }
}
