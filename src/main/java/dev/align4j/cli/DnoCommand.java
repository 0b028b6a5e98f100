package dev.align4j.cli;

import dev.align4j.model.LlamaModel;
import dev.align4j.reward.Judge;
import dev.align4j.train.online.Dno;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "dno", description = {"DNO, Direct Nash Optimization (Rosset et al. 2024; DNO-Prct): batched on-policy rounds. Each round samples from",
        "the policy as it began the round; the judge gives each of a prompt's K samples its win rate against the others; the best and the",
        "worst form a pair when their win rates differ by at least --margin; a DPO step with the round's starting policy as reference.",
        "On cycle each evaluation logs the exact exploitability and the win rate against the starting policy.",
        "Example: ./align4j dno --model out/cycle-sft/final --task cycle --judge gold --steps 90 --iterations 3 --output out/dno"})
final class DnoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin JudgeFlags jf = new JudgeFlags();
    final RewardFlags rf = new RewardFlags();                    // held-out evaluation only

    @Option(names = "--margin", description = "Keep a pair only when the chosen's win rate exceeds the rejected's by at least this (default: ${DEFAULT-VALUE}).")
    double margin;
    @Option(names = "--iterations", description = "Rounds; the reference and the sampling policy move to the policy at the start of each (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Override
    public Object defaults() { return Dno.Config.DEFAULTS; }

    @Override
    public Integer call() {
        Dno.Config cfg = f.config(Dno.Config.DEFAULTS);
        try (Judge judge = jf.build(tf.task())) {                  // first, so that a bad --judge fails before any model loads
            TrainRun.online("dno", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
                try (LlamaModel iterate = l.model().copy(l.model().dtype)) {
                    Dno.train(l.model(), iterate, judge, prompts, cfg, io);
                }
            });
        }
        return 0;
    }
}
