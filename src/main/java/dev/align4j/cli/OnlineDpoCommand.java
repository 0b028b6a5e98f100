package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.train.online.OnlineDpo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "online-dpo", description = {"Online DPO: G samples per prompt from the current policy (2 by default), ranked by the reward;",
        "one DPO step on the best-versus-worst pairs that are not tied. --iterations moves the reference to the policy at the start of each",
        "round (iterative DPO; --extrapolation adds APO's momentum between rounds); --exploration xpo|selm|vpo adds one reference sample",
        "per prompt to the candidates and its exploration term (coefficient --alpha) to the loss.",
        "Example: ./align4j online-dpo --model out/quickstart/sft --task arithmetic --reward gold,partial:0.5 --steps 200 --output out/odpo",
        "XPO:     ./align4j online-dpo --model out/quickstart/sft --task arithmetic --samples-per-prompt 1 --exploration xpo --alpha 0.05 --output out/xpo"})
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
    @Option(names = "--exploration", description = {"Exploration term on one reference sample per prompt: none, xpo (alpha * log pi),",
            "selm (alpha * beta * log pi/pi_ref), vpo (vpo-sign * alpha * beta * log pi/pi_ref) (default: ${DEFAULT-VALUE})."})
    String exploration;
    @Option(names = "--alpha", description = "Coefficient of the exploration term (default: ${DEFAULT-VALUE}).")
    double alpha;
    @Option(names = "--vpo-sign", description = "VPO's sign: 1 optimism (online), -1 pessimism (default: ${DEFAULT-VALUE}).")
    int vpoSign;
    @Option(names = "--iterations", description = "Rounds; with more than 1 the reference moves to the policy at the start of each (default: ${DEFAULT-VALUE}).")
    int iterations;
    @Option(names = "--extrapolation", description = "APO's Nesterov coefficient in [0, 1): each round after the first starts from theta_t + a * (theta_t - theta_t-1); needs --iterations >= 2 (default: ${DEFAULT-VALUE}).")
    double extrapolation;

    @Override
    public Object defaults() { return OnlineDpo.Config.DEFAULTS; }

    @Override
    public Integer call() {
        OnlineDpo.Config cfg = f.config(OnlineDpo.Config.DEFAULTS);
        TrainRun.online("online-dpo", f, tf, pf, rf, cfg.rollouts().maxNewTokens(), cfg, (l, prompts, reward, io) -> {
            if (l.model().lora() != null && cfg.extrapolation() > 0)
                throw new UserError("online-dpo: --extrapolation moves every weight of the policy; with LoRA adapters the base weights are frozen (drop --extrapolation or the --lora-* flags)");
            // the reference: the starting policy (with LoRA the same weights, adapters off); a moving reference (--iterations) is its own copy
            try (LlamaModel ref = cfg.iterations() > 1 ? l.model().copy(l.model().dtype) : l.model().reference();
                 LlamaModel prev = cfg.extrapolation() > 0 ? l.model().copy(l.model().dtype) : null) {
                OnlineDpo.train(l.model(), ref, prev, reward, prompts, cfg, io);
            }
        });
        return 0;
    }
}
