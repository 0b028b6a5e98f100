package dev.align4j.cli;

import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.train.online.OnlineDpo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "online-dpo", description = {"Online DPO: G samples per prompt from the current policy (2 by default), ranked by the reward;",
        "one DPO step on the best-versus-worst pairs that are not tied.",
        "Example: ./align4j online-dpo --model out/quickstart/sft --task arithmetic --reward gold,partial:0.5 --steps 200 --output out/odpo"})
final class OnlineDpoCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin RewardFlags rf = new RewardFlags();

    @Option(names = "--loss", description = "DPO-family loss with a reference: sigmoid, ipo, hinge, robust, … (default: ${DEFAULT-VALUE}).")
    String loss;
    @Option(names = "--label-smoothing", description = "cDPO / robust epsilon (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Override
    public Object defaults() { return OnlineDpo.Config.DEFAULTS; }

    @Override
    public Integer call() {
        OnlineDpo.Config cfg = f.config(OnlineDpo.Config.DEFAULTS);
        TrainRun.online("online-dpo", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
            try (LlamaModel ref = l.model().reference()) {
                OnlineDpo.train(l.model(), ref, reward, prompts, cfg, io);
            }
        });
        return 0;
    }
}
