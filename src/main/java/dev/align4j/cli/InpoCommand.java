package dev.align4j.cli;

import dev.align4j.model.LlamaModel;
import dev.align4j.reward.Judge;
import dev.align4j.train.online.Inpo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "inpo", description = {"INPO, Iterative Nash Policy Optimization (Zhang et al. 2024): pairs of the policy's samples labelled by the",
        "judge, a squared loss that mixes the previous iterate and the starting policy (eta, tau); no win-rate estimate. On cycle each",
        "evaluation logs the exact exploitability and the win rate against the starting policy.",
        "Example: ./align4j inpo --model out/cycle-sft/final --task cycle --judge gold --steps 90 --iterations 3 --output out/inpo"})
final class InpoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin JudgeFlags jf = new JudgeFlags();
    final RewardFlags rf = new RewardFlags();                    // held-out evaluation only

    @Option(names = "--eta", description = "Mirror-descent step eta: the margin target is eta / 2 (default: ${DEFAULT-VALUE}).")
    double eta;
    @Option(names = "--tau", description = "KL regularisation towards the starting policy; eta * tau <= 1 (default: ${DEFAULT-VALUE}).")
    double tau;
    @Option(names = "--iterations", description = "Rounds; the previous iterate moves to the policy at the start of each (default: ${DEFAULT-VALUE}).")
    int iterations;
    @Option(names = "--labels", description = "sampled: one label per pair drawn from the judge's probability (the paper's oracle); expected: the loss averaged over that draw, (h - eta (P - 1/2))^2: same expected gradient, no label noise, ties regress h onto 0 (default: ${DEFAULT-VALUE}).")
    Inpo.Labels labels;

    @Override
    public Object defaults() { return Inpo.Config.DEFAULTS; }

    @Override
    public Integer call() {
        Inpo.Config cfg = f.config(Inpo.Config.DEFAULTS);
        try (Judge judge = jf.build(tf.task())) {                  // first, so that a bad --judge fails before any model loads
            TrainRun.online("inpo", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
                try (LlamaModel iterate = l.model().copy(l.model().dtype); LlamaModel ref = l.model().reference()) {
                    Inpo.train(l.model(), iterate, ref, judge, prompts, cfg, io);
                }
            });
        }
        return 0;
    }
}
