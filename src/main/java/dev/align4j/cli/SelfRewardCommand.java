package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.pipeline.SelfReward;
import dev.align4j.reward.GenerativeJudge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "self-reward", description = {"Self-rewarding language model (Yuan et al. 2024): each iteration the policy samples --samples responses per prompt,",
        "judges them itself (--self-judge llm: P(Yes) on the judge prompt after --eft-steps of evaluation fine-tuning on its own",
        "gold-labelled samples; implicit: its DPO implicit reward against --ref-model, as DICE), pairs the best with the worst",
        "(--length-control rho: the shortest near-best vs the longest near-worst) and trains DPO (--steps per iteration).",
        "--meta-judge adds Meta-Rewarding's judge pairs: the policy samples --judgments judgments of each response, judges them itself",
        "as meta-judge, and DPO also trains the best over the worst judgment.",
        "Logs per iteration the samples' gold reward and the self-judge's accuracy against gold (stage self_reward), so a run shows",
        "whether the policy self-improves or deceives itself. --task is required (the gold reward is logged, never optimised).",
        "Writes OUTPUT/checkpoint-ITERATION/ (with judge.json), OUTPUT/eft/, OUTPUT/dpo-ITERATION/, metrics.jsonl, tb/ and final/.",
        "Example: ./align4j self-reward --model out/sft/final --task arithmetic --iterations 2 --output out/self-reward",
        "Example: ./align4j self-reward --model out/dpo/final --ref-model out/sft/final --task arithmetic --self-judge implicit --output out/dice"})
final class SelfRewardCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();                               // --model/--init, --output, --steps (DPO steps per iteration), --lr, …
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();         // --task, --eval-prompts

    @Option(names = "--iterations", description = "Sample → self-judge → DPO rounds, K (default: ${DEFAULT-VALUE}).")
    int iterations;
    @Option(names = "--samples", description = "Responses sampled per prompt, N (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--prompts-per-iteration", description = "Training prompts sampled each iteration (default: ${DEFAULT-VALUE}).")
    int promptsPerIteration;
    @Option(names = "--temperature", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--max-new-tokens", description = "Response budget; 0 = the task's (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--self-judge", description = "llm (the policy answers the Yes/No judge prompt) or implicit (DICE: beta log pi/pi_ref) (default: ${DEFAULT-VALUE}).")
    SelfReward.SelfJudge selfJudge;
    @Option(names = "--beta", description = "DPO's beta, and the implicit reward's (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--length-control", description = "Meta-Rewarding's rho in [0, 0.5): chosen = the shortest response within rho of the best score, rejected = the longest within rho of the worst; 0 = off (default: ${DEFAULT-VALUE}).")
    double lengthControl;
    @Option(names = "--length-penalty", description = "Subtracted per response token from the self-score (DICE's length regularisation); 0 = off (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;
    @Option(names = "--min-gap", description = "Drop pairs whose self-scores differ by less (default: ${DEFAULT-VALUE}).")
    double minGap;
    @Option(names = "--eft-steps", description = "Evaluation fine-tuning steps before iteration 1 (--self-judge llm); 0 = the model already judges (default: ${DEFAULT-VALUE}).")
    int eftSteps;
    @Option(names = "--eft-prompts", description = "Training prompts whose samples make the EFT rows (default: ${DEFAULT-VALUE}).")
    int eftPrompts;
    @Option(names = "--eft-lr", description = "EFT's learning rate (default: ${DEFAULT-VALUE}).")
    double eftLr;
    @Option(names = "--eft-critique", description = "The judge writes a critique before its verdict (CLoud): EFT rows and self-scores use it (default: ${DEFAULT-VALUE}).")
    boolean eftCritique;
    @Option(names = "--meta-judge", description = "Meta-Rewarding: the policy also judges its own judgments (EFT teaches it on gold rows) and DPO trains on the best vs worst of --judgments judgments of a response, beside the actor pairs (default: ${DEFAULT-VALUE}).")
    boolean metaJudge;
    @Option(names = "--judgments", description = "Judgments sampled per response for --meta-judge, K (default: ${DEFAULT-VALUE}).")
    int judgments;
    @Option(names = "--dpo-epochs", description = "> 0: each iteration's DPO makes this many passes over its pairs (ceil(epochs x pairs / batch) steps) instead of --steps (default: ${DEFAULT-VALUE}).")
    double dpoEpochs;
    @Option(names = "--ref-model", paramLabel = "DIR", description = "--self-judge implicit: the model the policy was DPO-trained from (iteration 1's reference).")
    Path refModel;
    @Option(names = "--batch-size", description = "DPO pairs per micro-batch (and EFT rows) (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--max-length", description = "Longest prompt + response in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--truncation", paramLabel = "MODE", description = "Which end of a too-long prompt is kept: keep_end or keep_start (default: ${DEFAULT-VALUE}).")
    String truncation;

    @Override public Object defaults() { return SelfReward.Config.DEFAULTS; }

    @Override
    public Integer call() {
        SelfReward.Config cfg = f.config(SelfReward.Config.DEFAULTS);
        if (tf.task == null) throw new UserError("self-reward needs --task: the gold reward it logs (and the EFT verdicts) come from a built-in task");
        if (refModel != null && cfg.selfJudge() != SelfReward.SelfJudge.IMPLICIT) throw new UserError("--ref-model is for --self-judge implicit only");
        if (cfg.selfJudge() == SelfReward.SelfJudge.IMPLICIT && refModel == null)
            throw new UserError("--self-judge implicit needs --ref-model DIR: the model the policy was DPO-trained from (its implicit reward is log pi/pi_ref, zero at pi = pi_ref)");
        TrainRun.online("self-reward", f, tf, new MethodFlags.PromptFlags(), new RewardFlags(), cfg.maxNewTokens() > 0 ? cfg.maxNewTokens() : tf.task().maxCompletionChars() + 4, cfg,
                (l, prompts, reward, io) -> {
                    try (LlamaModel ref = refModel == null ? null : f.loadOther(refModel)) {
                        SelfReward.train(l.model(), ref, prompts, tf.task(), cfg, io);
                    }
                });
        cfg.judgeFormat().save(f.output.resolve("final"));
        return 0;
    }
}
