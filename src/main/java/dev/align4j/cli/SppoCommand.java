package dev.align4j.cli;

import dev.align4j.model.LlamaModel;
import dev.align4j.reward.Judge;
import dev.align4j.train.online.Sppo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "sppo", description = {"SPPO, Self-Play Preference Optimization (Wu et al. 2024): K samples per prompt, each one's win rate",
        "against the others from the judge, log pi/pi_t regressed onto eta * (win rate - 1/2); pi_t, the previous iterate, moves at each of",
        "--iterations rounds. On cycle each evaluation logs the exact exploitability and the win rate against the starting policy.",
        "Example: ./align4j sppo --model out/cycle-sft/final --task cycle --judge gold --steps 90 --iterations 3 --output out/sppo"})
final class SppoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin JudgeFlags jf = new JudgeFlags();
    final RewardFlags rf = new RewardFlags();                    // held-out evaluation only: the task's gold reward, or 'answer' on --eval-data

    @Option(names = "--eta", description = "Step size eta: the log-ratio target is eta * (win rate - 1/2) (default: ${DEFAULT-VALUE}).")
    double eta;
    @Option(names = "--iterations", description = "Rounds; the reference moves to the policy at the start of each (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Override
    public Object defaults() { return Sppo.Config.DEFAULTS; }

    @Override
    public Integer call() {
        Sppo.Config cfg = f.config(Sppo.Config.DEFAULTS);
        try (Judge judge = jf.build(tf.task())) {                  // first, so that a bad --judge fails before any model loads
            TrainRun.online("sppo", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
                try (LlamaModel iterate = l.model().copy(l.model().dtype)) {
                    Sppo.train(l.model(), iterate, judge, prompts, cfg, io);
                }
            });
        }
        return 0;
    }
}
