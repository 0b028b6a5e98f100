package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.pipeline.Rft;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "rft", description = {"Rejection-sampling fine-tuning, iterated (expert iteration: RAFT, ReST-EM; B-STaR with --bstar). Each iteration samples",
        "--samples completions per prompt from the current policy, keeps those whose reward reaches --threshold (or each prompt's best,",
        "--select best) and fine-tunes on them (SFT, --steps per iteration) from the starting model (--from base, ReST-EM's choice: less",
        "drift; progress carries through the data) or from the previous iteration's policy (--from previous).",
        "--steps, --lr, --batch-size, … are each iteration's SFT; --save-every, --eval-every and --keep count iterations.",
        "Writes OUTPUT/checkpoint-ITERATION/, OUTPUT/sft-ITERATION/ (each SFT's metrics), metrics.jsonl, tb/ and final/.",
        "Example: ./align4j rft --model out/quickstart/sft --task arithmetic --iterations 3 --samples 8 --output out/rft",
        "Example: ./align4j rft --model out/sft/final --data prompts.jsonl --reward answer --select best --from previous --output out/raft"})
final class RftCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();                               // --model/--init, --output, --steps (SFT steps per iteration), --lr, …
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();         // --task, --eval-prompts
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();     // or --data prompts.jsonl, --eval-data
    @Mixin RewardFlags rf = new RewardFlags();                            // --reward gold,answer,…

    @Option(names = "--iterations", description = "Sample → filter → SFT rounds, K (default: ${DEFAULT-VALUE}).")
    int iterations;
    @Option(names = "--samples", description = "Completions sampled per prompt, N (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--prompts-per-iteration", description = "Training prompts sampled each iteration (default: ${DEFAULT-VALUE}).")
    int promptsPerIteration;
    @Option(names = "--temperature", description = "Sampling temperature; --bstar chooses it per iteration instead (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--max-new-tokens", description = "Generation budget (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--threshold", description = "Keep a sample when its reward is >= this; 1 = correct for gold/answer (default: ${DEFAULT-VALUE}).")
    double threshold;
    @Option(names = "--select", description = "passing: every distinct sample that reaches --threshold (ReST-EM); best: each prompt's best, if it does (RAFT) (default: ${DEFAULT-VALUE}).")
    Rft.Select select;
    @Option(names = "--from", description = "What each iteration's SFT starts from: base (the --model, as ReST-EM) or previous (the last iteration's policy) (default: ${DEFAULT-VALUE}).")
    Rft.From from;
    @Option(names = "--bstar", description = "B-STaR: before each iteration choose the temperature and threshold that maximise the balance score (needs --task).")
    boolean bstar;
    @Option(names = "--bstar-temperatures", split = ",", description = "B-STaR's temperature grid (default: ${DEFAULT-VALUE}).")
    List<Double> bstarTemperatures;
    @Option(names = "--bstar-thresholds", split = ",", description = "B-STaR's threshold grid (default: ${DEFAULT-VALUE}).")
    List<Double> bstarThresholds;
    @Option(names = "--bstar-prompts", description = "Prompts the balance score is measured on (default: ${DEFAULT-VALUE}).")
    int bstarPrompts;
    @Option(names = "--bstar-nstar", description = "B-STaR's n*: distinct correct samples of a prompt for full exploration credit (default: ${DEFAULT-VALUE}).")
    int bstarNstar;
    @Option(names = "--batch-size", description = "SFT rows per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--max-length", description = "Longest prompt + completion in SFT, in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--truncation", paramLabel = "MODE", description = "Which end of a too-long prompt SFT keeps: keep_end or keep_start (default: ${DEFAULT-VALUE}).")
    String truncation;

    @Override public Object defaults() { return Rft.Config.DEFAULTS; }

    @Override
    public Integer call() {
        Rft.Config cfg = f.config(Rft.Config.DEFAULTS);
        if (cfg.bstar() && tf.task == null) throw new UserError("--bstar needs --task: the balance score counts correct samples by the task's gold check");
        TrainRun.online("rft", f, tf, pf, rf, cfg.maxNewTokens(), cfg, (l, prompts, reward, io) ->
                Rft.train(l.model(), reward, prompts, tf.task(), cfg, io));
        return 0;
    }
}
