package dev.align4j.cli;

import dev.align4j.pipeline.Mcts;
import dev.align4j.reward.PrefixScorer;
import dev.align4j.reward.ProcessRewards;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "mcts", description = {"MCTS step-level preferences and iterated step-level DPO (MCTS-DPO; Step-APO with --loss step_apo). Each round searches",
        "a tree over steps for each prompt with the current policy (PUCT selection, --children next steps per expansion stopped at",
        "--separator, node values from outcome rollouts scored by --reward, mean backup), turns the highest- vs lowest-Q children of",
        "every expanded node into step pairs (gap > --min-gap; the prefix is the prompt, intermediate steps without EOS) and trains",
        "DPO on them (--steps per round) with the round's starting policy as the reference; the next round searches with the new policy.",
        "--mode outcome is the baseline at equal sampling cost: whole completions until --token-budget tokens (the search's",
        "mcts/sampled_tokens), best vs worst per prompt, the same DPO. --steps, --lr, --batch-size, … are each round's DPO;",
        "--save-every, --eval-every and --keep count rounds. Writes OUTPUT/round-R/pairs.jsonl (TRL preference rows + chosen_final,",
        "rejected_final, chosen_q, rejected_q, prefix_value, advantages), OUTPUT/dpo-R/, checkpoint-R/, metrics.jsonl, tb/, final/.",
        "Example: ./align4j mcts --model out/chain-sft --task chain --rounds 3 --simulations 8 --children 4 --output out/mcts",
        "Example: ./align4j mcts --model out/chain-sft --task chain --mode outcome --token-budget 60000 --output out/outcome-dpo"})
final class MctsCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();                               // --model/--init, --output, --steps (DPO steps per round), --lr, …
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();         // --task, --eval-prompts
    @Mixin MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();     // or --data prompts.jsonl, --eval-data
    @Mixin RewardFlags rf = new RewardFlags();                            // --reward gold,answer,… (the outcome reward of rollouts)

    @Option(names = "--rounds", description = "Search → DPO rounds, R (default: ${DEFAULT-VALUE}).")
    int rounds;
    @Option(names = "--prompts-per-round", description = "Training prompts searched each round (default: ${DEFAULT-VALUE}).")
    int promptsPerRound;
    @Option(names = "--mode", description = "tree: MCTS step pairs; outcome: whole completions up to --token-budget, best vs worst (the baseline) (default: ${DEFAULT-VALUE}).")
    Mcts.Mode mode;
    @Option(names = "--simulations", description = "Simulations per prompt and round, S (default: ${DEFAULT-VALUE}).")
    int simulations;
    @Option(names = "--children", description = "Next steps sampled per expansion, K (identical ones merged) (default: ${DEFAULT-VALUE}).")
    int children;
    @Option(names = "--c-puct", description = "PUCT exploration weight c_puct (default: ${DEFAULT-VALUE}).")
    double cPuct;
    @Option(names = "--prior-length-penalty", description = "lambda of the prior exp(sum log pi / |step|^lambda), normalised over siblings (default: ${DEFAULT-VALUE}).")
    double priorLengthPenalty;
    @Option(names = "--temperature", description = "Sampling temperature of steps, rollouts and the baseline (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--separator", description = "Text that ends a step (default: ${DEFAULT-VALUE}).")
    String separator;
    @Option(names = "--max-step-tokens", description = "Longest step; a step cut there is terminal (default: ${DEFAULT-VALUE}).")
    int maxStepTokens;
    @Option(names = "--max-new-tokens", description = "Longest completion: each rollout's budget; a node past it is terminal (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--max-depth", description = "Most steps per completion; a node this deep is terminal (default: ${DEFAULT-VALUE}).")
    int maxDepth;
    @Option(names = "--rollouts", description = "Rollouts per new node, averaged into its value (default: ${DEFAULT-VALUE}).")
    int rollouts;
    @Option(names = "--min-gap", description = "A step pair needs Q(chosen) - Q(rejected) above this (default: ${DEFAULT-VALUE}).")
    double minGap;
    @Option(names = "--prm-weight", description = "w: node value = (1-w)*outcome + w*process-reward score (needs --prm; 0 = outcome only) (default: ${DEFAULT-VALUE}).")
    double prmWeight;
    @Option(names = "--prm", paramLabel = "DIR", description = "A process reward model (./align4j prm) mixed into node values with --prm-weight.")
    java.nio.file.Path prm;
    @Option(names = "--token-budget", split = ",", description = "--mode outcome: completion tokens sampled per round, one per round, the last repeating (the search's mcts/sampled_tokens).")
    List<Long> tokenBudget;
    @Option(names = "--gen-batch", description = "Rows per generation call (default: ${DEFAULT-VALUE}).")
    int genBatch;
    @Option(names = "--loss", split = ",", description = "DPO loss(es): sigmoid (MCTS-DPO), step_apo (Step-APO), ipo, … (default: ${DEFAULT-VALUE}).")
    List<String> losses;
    @Option(names = "--beta", description = "DPO's beta (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--label-smoothing", description = "cDPO epsilon (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;
    @Option(names = "--rpo-alpha", description = "Weight of NLL on the chosen step (RPO); 0 = MCTS-DPO's plain DPO (default: ${DEFAULT-VALUE}).")
    double rpoAlpha;
    @Option(names = "--apo-alpha", description = "Step-APO: weight of the pair's advantage gap in the margin (default: ${DEFAULT-VALUE}).")
    double apoAlpha;
    @Option(names = "--batch-size", description = "DPO pairs per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--max-length", description = "Longest prompt + step in DPO, in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--truncation", paramLabel = "MODE", description = "Which end of a too-long prompt DPO keeps: keep_end or keep_start (default: ${DEFAULT-VALUE}).")
    String truncation;

    @Override public Object defaults() { return Mcts.Config.DEFAULTS; }

    @Override
    public Integer call() {
        Mcts.Config cfg = f.config(Mcts.Config.DEFAULTS);
        TrainRun.online("mcts", f, tf, pf, rf, cfg.maxNewTokens(), cfg, (l, prompts, reward, io) -> {
            io.metrics().hfTags(false);            // TensorBoard tags mcts/pairs, eval/mcts/accuracy, as docs/metrics.md names them
            if (cfg.prmWeight() > 0 && prm == null)
                throw new dev.align4j.core.UserError("--prm-weight " + cfg.prmWeight() + " mixes a process reward model into the node values: add --prm DIR (from ./align4j prm)");
            // a process reward model scores a node by its weakest step so far (Math-Shepherd's min), mixed into the outcome value
            try (PrefixScorer scorer = prm == null || cfg.prmWeight() == 0 ? null
                    : ProcessRewards.load(prm, org.bytedeco.pytorch.global.torch.ScalarType.Float).prefixScorer(ProcessRewards.Aggregate.MIN)) {
                Mcts.train(l.model(), reward, prompts, scorer, cfg, io);
            }
        });
        return 0;
    }
}
