package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
import dev.align4j.reward.Rewards;
import dev.align4j.train.online.Grpo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "spo", description = {"SPO, Self-Play Preference Optimization (Swamy et al. 2024, a minimaximalist approach to RLHF): each of a prompt's G",
        "samples is rewarded with its win rate against the other G-1 under the judge, then the grpo loop trains on that reward with any of",
        "its estimators (--estimator grpo|rloo|reinforce_pp_baseline, clipping, KL...). On cycle each evaluation logs the exact",
        "exploitability and the win rate against the starting policy.",
        "Example: ./align4j spo --model out/cycle-sft/final --task cycle --judge gold --group-size 4 --steps 90 --output out/spo"})
final class SpoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin GrpoCommand.Flags g = new GrpoCommand.Flags();
    @Mixin JudgeFlags jf = new JudgeFlags();
    final RewardFlags rf = new RewardFlags();                    // held-out evaluation only

    @Override
    public Object defaults() { return Grpo.Config.DEFAULTS; }

    @Override
    public Integer call() {
        Grpo.Config cfg = f.config(Grpo.Config.DEFAULTS);
        UserError.check(cfg.rollouts().samplesPerPrompt() >= 2, "spo rewards a sample by its win rate against the others of its prompt: group-size must be >= 2, not %s",
                cfg.rollouts().samplesPerPrompt());
        try (Judge judge = jf.build(tf.task())) {                  // first, so that a bad --judge fails before any model loads
            TrainRun.online("spo", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, heldOut, io) -> {
                Rewards.Weighted winRate = Rewards.Weighted.of(Judges.winRateReward(judge, cfg.rollouts().samplesPerPrompt()));
                try (LlamaModel ref = cfg.beta() > 0 ? l.model().copy(l.model().dtype) : null) {
                    Grpo.train("spo", l.model(), ref, winRate, prompts, cfg, io);
                }
            });
        }
        return 0;
    }
}
