package dev.align4j.cli;

import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.model.HfModel;
import dev.align4j.pipeline.JudgeTraining;
import dev.align4j.task.JudgeData;
import dev.align4j.task.Task;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "judge", description = {"Train a generative judge (GenRM): a causal LM that reads a task prompt and a response and writes a verdict,",
        "Yes/No (--mode pointwise) or A/B for two responses (--mode pairwise), optionally after a critique (--critique, CLoud-style),",
        "the truth from the task's gold reward. SFT (--steps), then --iterations STaR rounds: sample --traces of the judge's own",
        "verdicts per row, keep the right ones (SFT, --iteration-steps) or DPO right over wrong (--star-dpo).",
        "Responses are --responses-per-prompt samples of the starting model (--responses model: what the judge will score in RL)",
        "or the task's demonstrations (--responses demos). As a reward: P(Yes) / (P(Yes) + P(No)) (ZYN): --reward judge:DIR;",
        "as a pairwise judge: --judge judge:DIR. Held-out metrics: verdict accuracy, majority-class rate, ECE, pair accuracy.",
        "Writes OUTPUT/final/ (with judge.json), OUTPUT/comparisons.jsonl and OUTPUT/heldout_comparisons.jsonl (the same responses",
        "as right-over-wrong pairs, for ./align4j reward --data ... --eval-data ...), metrics.jsonl, sft/, star-T/.",
        "Example: ./align4j judge --model out/sft/final --task arithmetic --output out/judge",
        "Example: ./align4j judge --model out/sft/final --task chain --critique --iterations 2 --output out/judge-cloud"})
final class JudgeCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();                               // --model/--init, --output, --steps (SFT steps), --lr, …

    @Option(names = "--task", required = true, description = "Built-in task whose gold reward gives the verdicts: " + "arithmetic, sort, phrase, brief-arith, chain, cycle.")
    String task;
    @Option(names = "--mode", description = "pointwise (Yes/No on one response) or pairwise (A/B on two) (default: ${DEFAULT-VALUE}).")
    JudgeData.Mode mode;
    @Option(names = "--critique", description = "Critique first, then the verdict (CLoud): 'digit 2 is 3, should be 2 => No'.")
    boolean critique;
    @Option(names = "--critique-tokens", description = "Longest critique the judge writes when read as a reward (default: ${DEFAULT-VALUE}).")
    int critiqueTokens;
    @Option(names = "--responses", description = "model (samples of the starting model) or demos (the task's demonstrations) (default: ${DEFAULT-VALUE}).")
    JudgeTraining.Responses responses;
    @Option(names = "--train-prompts", description = "Training prompts (default: ${DEFAULT-VALUE}).")
    int trainPrompts;
    @Option(names = "--eval-prompts", description = "Held-out prompts (test split) (default: ${DEFAULT-VALUE}).")
    int evalPrompts;
    @Option(names = "--responses-per-prompt", description = "Responses judged per prompt (default: ${DEFAULT-VALUE}).")
    int responsesPerPrompt;
    @Option(names = "--response-temperature", description = "Temperature of the sampled responses (default: ${DEFAULT-VALUE}).")
    double responseTemperature;
    @Option(names = "--error-rate", description = "Share of flawed demonstrations with --responses demos (default: ${DEFAULT-VALUE}).")
    double errorRate;
    @Option(names = "--pairs-per-prompt", description = "(right, wrong) pairs per prompt: pairwise rows and the comparisons (default: ${DEFAULT-VALUE}).")
    int pairsPerPrompt;
    @Option(names = "--iterations", description = "STaR iterations after SFT; 0 = SFT only (default: ${DEFAULT-VALUE}).")
    int iterations;
    @Option(names = "--iteration-steps", description = "Optimizer steps of each STaR iteration (default: ${DEFAULT-VALUE}).")
    int iterationSteps;
    @Option(names = "--rows-per-iteration", description = "Judge rows sampled each STaR iteration (default: ${DEFAULT-VALUE}).")
    int rowsPerIteration;
    @Option(names = "--traces", description = "Traces sampled per row each STaR iteration (default: ${DEFAULT-VALUE}).")
    int traces;
    @Option(names = "--trace-temperature", description = "Temperature of the traces (default: ${DEFAULT-VALUE}).")
    double traceTemperature;
    @Option(names = "--star-dpo", description = "STaR by DPO: a right trace over a wrong one of the same row, instead of SFT on the right ones.")
    boolean starDpo;
    @Option(names = "--dpo-beta", description = "DPO's beta with --star-dpo (default: ${DEFAULT-VALUE}).")
    double dpoBeta;
    @Option(names = "--dpo-lr", description = "DPO's learning rate with --star-dpo (default: ${DEFAULT-VALUE}).")
    double dpoLr;
    @Option(names = "--balance", description = "Oversample the rarer verdict in training (SFT rows, STaR's rows) so the judge cannot settle on the class prior.")
    boolean balance;
    @Option(names = "--hard-negatives", paramLabel = "H", description = {"H extra training responses per prompt: a correct answer with one digit changed (right form,",
            "wrong content), the kind of error a policy trained on the judge's reward finds; also in comparisons.jsonl (default: ${DEFAULT-VALUE})."})
    int hardNegatives;
    @Option(names = "--batch-size", description = "Rows per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--max-length", description = "Longest judge prompt + completion in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--truncation", paramLabel = "MODE", description = "Which end of a too-long prompt is kept: keep_end or keep_start (default: ${DEFAULT-VALUE}).")
    String truncation;
    @Option(names = "--json", description = "Print the held-out metrics after training as one JSON object on stdout.")
    boolean json;
    @Option(names = "--responses-model", paramLabel = "DIR", description = {"Sample the judged responses from this model instead of --model (with --responses",
            "model): e.g. refresh a judge (--model the previous judge) on the samples of the policy that RL trained against it."})
    Path responsesModel;

    @Override public Object defaults() { return JudgeTraining.Config.DEFAULTS; }

    @Override
    public Integer call() {
        JudgeTraining.Config cfg = f.config(JudgeTraining.Config.DEFAULTS);
        Task t = Task.byName(task);
        if (f.resume != null) throw new UserError("judge: --resume is not supported (a judge trains in minutes; start afresh with --overwrite)");
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output)) {
            if (!l.model().config.isCausalLm()) throw new UserError("judge: --model must be a causal LM (*ForCausalLM); " + l.model().config.architecture() + " has a score head");
            TrainFlags.printConfig("judge", cfg, f.output);
            JudgeTraining.Data data;
            if (responsesModel == null) data = JudgeTraining.data(l.model(), l.tokenizer(), t, cfg, f.seed);
            else {
                if (cfg.responses() != JudgeTraining.Responses.MODEL) throw new UserError("judge: --responses-model needs --responses model");
                try (HfModel.Loaded policy = HfModel.load(responsesModel, TrainFlags.WEIGHTS)) {
                    data = JudgeTraining.data(policy.model(), l.tokenizer(), t, cfg, f.seed);
                }
            }
            System.err.printf("judge: %d training rows (%.1f%% %s), %d held out, %d comparisons; responses from %s%n", data.train().size(),
                    100.0 * data.train().stream().filter(JudgeData.Row::verdict).count() / Math.max(1, data.train().size()),
                    cfg.mode() == JudgeData.Mode.PAIRWISE ? "A" : "Yes", data.heldOut().size(), data.comparisons().size(),
                    responsesModel != null ? responsesModel.toString() : cfg.responses() == JudgeTraining.Responses.MODEL ? "the starting model" : "demonstrations");
            JudgeTraining.writeComparisons(f.output.resolve("comparisons.jsonl"), data.comparisons());
            JudgeTraining.writeComparisons(f.output.resolve("heldout_comparisons.jsonl"), data.heldOutComparisons());
            List<com.fasterxml.jackson.databind.node.ObjectNode> rows = new ArrayList<>();
            for (JudgeData.Row r : data.train()) rows.add(r.toJson(cfg.critique()));
            Jsonl.write(f.output.resolve("judge_data.jsonl"), rows);
            JudgeTraining.Result r = JudgeTraining.train(l.model(), data, cfg, f.session(l, metrics, null));
            Path fin = f.output.resolve("final");
            HfModel.save(fin, l.model(), l.tokenizer());
            cfg.format().save(fin);
            ModelCard.write(fin, "judge", f, cfg, "judge rows of the built-in task '" + t.name() + "'", metrics);
            Map<String, Double> before = r.evals().get(0), after = r.evals().get(r.evals().size() - 1);
            System.err.printf("judge: held-out verdict accuracy %.3f (before %.3f; majority class %.3f), ECE %.3f, pair accuracy %.3f%n",
                    after.getOrDefault("accuracy", Double.NaN), before.getOrDefault("accuracy", Double.NaN), after.getOrDefault("majority_rate", Double.NaN),
                    after.getOrDefault("ece", Double.NaN), after.getOrDefault("pair_accuracy", Double.NaN));
            System.err.println("judge: final judge in " + fin + " (use it as --reward judge:" + fin + " or --judge judge:" + fin + ")");
            if (json) System.out.println(Json.compact(Json.MAPPER.valueToTree(after)));
        }
        return 0;
    }
}
