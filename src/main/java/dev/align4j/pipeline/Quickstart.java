package dev.align4j.pipeline;

import dev.align4j.core.Configs;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Progress;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.SftExample;
import dev.align4j.eval.Evaluator;
import dev.align4j.eval.Report;
import dev.align4j.generate.Completion;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.generate.Sampler;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Annotator;
import dev.align4j.task.Task;
import dev.align4j.train.EvalHook;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Dpo;
import dev.align4j.train.offline.Sft;
import dev.align4j.train.online.Grpo;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.*;

/**
 * The end-to-end pipeline on a built-in task: a fresh tiny model → SFT to convergence on demonstrations with a human
 * demonstrator's systematic slips (which imitation copies) → sample completions → a simulated annotator labels
 * best-vs-worst pairs → RPO from the SFT policy → GRPO on the gold reward → held-out evaluation of every stage →
 * report.html with plots and samples, metrics.jsonl, TensorBoard events, and each stage's model in Hugging Face layout
 * (base/, sft/, dpo/, grpo/). The feedback stages have to fix what the demonstrations taught wrong.
 *
 * @param task                 built-in task name
 * @param init                 built-in model size (nano, tiny, small)
 * @param sftSteps             SFT optimizer steps (enough to converge: the held-out accuracy plateaus at the imitation ceiling)
 * @param sftBatch             SFT batch size
 * @param sftLr                SFT peak learning rate
 * @param errorRate            share of demonstrations with a random flaw (a greedy imitator learns past these)
 * @param slipRate             share of the prompts where the demonstrator can slip on which it does ({@link Task#slip})
 * @param preferencePrompts    prompts sampled for preference data
 * @param samplesPerPrompt     completions sampled per prompt (the annotator ranks them; best vs worst becomes a pair)
 * @param annotatorTemperature Bradley–Terry noise of the simulated annotator (0 = perfect)
 * @param dpoSteps             RPO steps (0 skips the stage)
 * @param dpoBatch             RPO pairs per step
 * @param dpoLr                RPO peak learning rate
 * @param beta                 RPO's β
 * @param rpoAlpha             weight of the NLL on the chosen completion (RPO; 0 = plain DPO)
 * @param grpoSteps            GRPO steps on the gold reward after RPO (0 skips the stage)
 * @param grpoLr               GRPO peak learning rate
 * @param evalPrompts          held-out test prompts per evaluation
 * @param seed                 every random choice
 */
public record Quickstart(String task, String init, int sftSteps, int sftBatch, double sftLr, double errorRate, double slipRate,
                         int preferencePrompts, int samplesPerPrompt, double annotatorTemperature,
                         int dpoSteps, int dpoBatch, double dpoLr, double beta, double rpoAlpha,
                         int grpoSteps, double grpoLr, int evalPrompts, long seed) {
    public Quickstart {
        Task.byName(task);
        UserError.check(sftSteps >= 1 && dpoSteps >= 0 && grpoSteps >= 0, "sft-steps must be >= 1, dpo-steps and grpo-steps >= 0");
        UserError.check(samplesPerPrompt >= 2, "samples-per-prompt must be >= 2: %s", samplesPerPrompt);
        UserError.check(errorRate >= 0 && errorRate <= 1 && slipRate >= 0 && slipRate <= 1, "error-rate and slip-rate must be in [0, 1]");
        UserError.check(evalPrompts >= 1, "eval-prompts must be >= 1: %s", evalPrompts);
    }

    /** The main job's defaults (docs/quickstart.md has their five-seed results). */
    public static final Quickstart DEFAULTS = Configs.of(Quickstart.class, Map.of(), "task", "sort", "init", "tiny",
            "sftSteps", 600, "sftBatch", 64, "sftLr", 1e-3, "errorRate", 0.1, "slipRate", 0.7,
            "preferencePrompts", 1024, "samplesPerPrompt", 4, "annotatorTemperature", 0.1,
            "dpoSteps", 100, "dpoBatch", 32, "dpoLr", 1e-4, "beta", 0.1, "rpoAlpha", 1.0,
            "grpoSteps", 60, "grpoLr", 2e-4, "evalPrompts", 300, "seed", 0L);

    /**
     * The share of {@code test} a perfect imitator of the demonstrations gets right: a greedy imitator answers each
     * prompt with the demonstrator's most frequent answer, which is the slip where the slip rate is above ½.
     */
    public static double imitationCeiling(Task t, List<Task.Example> test, double errorRate, double slipRate) {
        if (errorRate >= 0.5) return 0;
        return test.stream().filter(e -> t.slip(e) == null || slipRate < 0.5).count() / (double) Math.max(1, test.size());
    }

    /** Runs the pipeline into {@code out}; returns the path of report.html. */
    public Path run(Path out) {
        long t0 = System.nanoTime();
        Torch.init();
        Task t = Task.byName(task);
        AtomicFiles.deleteRecursively(out.resolve("metrics.jsonl"));
        AtomicFiles.deleteRecursively(out.resolve("tb"));
        Tokenizer tok = Tokenizer.writeBuiltin(out.resolve("tokenizer"));
        ModelConfig cfg = ModelConfig.builtin(init, Tokenizer.BUILTIN_VOCAB, Tokenizer.BUILTIN_BOS, new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD);
        List<Task.Example> test = t.examples(Task.Split.TEST, evalPrompts, seed + 1);
        List<Report.Stage> stages = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Json.write(out.resolve("quickstart_config.json"), Json.MAPPER.valueToTree(this));
        try (Metrics metrics = new Metrics(out).hfTags(false); LlamaModel policy = LlamaModel.init(cfg, seed, ScalarType.Float)) {
            System.err.printf("quickstart: task %s, model %s (%,d parameters), seed %d -> %s%n", task, cfg.architecture(), policy.parameterCount(), seed, out);
            HfModel.save(out.resolve("base"), policy, tok);
            stages.add(evaluate("base", policy, tok, t, test, metrics, 0, t0));

            // 1. SFT on demonstrations with random flaws and systematic slips
            long s0 = System.nanoTime();
            List<SftExample> demos = dev.align4j.task.TaskData.demonstrations(t, 20_000, errorRate, slipRate, seed);
            double ceiling = imitationCeiling(t, test, errorRate, slipRate);
            System.err.printf("quickstart: SFT on %d demonstrations (%.0f%% random flaws, slips on %.0f%% of the prompts where the demonstrator can slip;"
                    + " imitation ceiling on the held-out prompts %.1f%%)%n", demos.size(), 100 * errorRate, 100 * slipRate, 100 * ceiling);
            EvalHook eval = step -> evalMetrics(policy, tok, t, test, 100);
            Session io = Session.inMemory(tok).withMetrics(metrics).withEval(eval);
            Sft.Config sft = Configs.with(Sft.Config.DEFAULTS, "steps", sftSteps, "batchSize", sftBatch, "lr", sftLr, "weightDecay", 0.01,
                    "warmupSteps", Math.min(50, sftSteps / 10), "maxLength", 64, "evalEvery", Math.max(1, sftSteps / 4), "keep", 1, "seed", seed);
            Sft.train(policy, demos, sft, io);
            HfModel.save(out.resolve("sft"), policy, tok);
            stages.add(evaluate("sft", policy, tok, t, test, metrics, sftSteps, s0));

            if (dpoSteps == 0) {
                notes.add("DPO stage skipped (--dpo-steps 0): the pipeline ended after SFT.");
            } else {
                // 2. sample from the SFT policy; the simulated annotator turns gold rewards into pairs
                long d0 = System.nanoTime();
                List<PreferencePair> pairs = new ArrayList<>();
                double[] agreement = annotate(policy, tok, t, pairs);
                System.err.printf("quickstart: %d preference pairs; annotator agrees with the gold reward on %.1f%% of decidable pairs%n",
                        pairs.size(), 100 * agreement[0]);
                notes.add(String.format("Preference data: %d pairs from %d prompts × %d samples of the SFT policy (temperature 1), ranked by a "
                                + "simulated annotator (Bradley–Terry temperature %.2f) that agreed with the gold reward on %.1f%% of %d decidable pairs.",
                        pairs.size(), preferencePrompts, samplesPerPrompt, annotatorTemperature, 100 * agreement[0], (int) agreement[1]));
                dev.align4j.data.Jsonl.write(out.resolve("preferences.jsonl"), pairs.stream().map(PreferencePair::toJson).toList());
                if (pairs.isEmpty()) {
                    notes.add("DPO stage skipped: the SFT policy's samples gave no decidable preference pair (all ties on the gold reward). "
                            + "Raise --sft-steps for a stronger SFT policy.");
                    System.err.println("quickstart: no decidable preference pairs; DPO stage skipped (the report says so)");
                } else {
                    // 3. DPO from the SFT policy, which is also the reference.
                    // RPO: DPO plus NLL on the chosen completion. Plain DPO lowered the chosen likelihood too on
                    // arithmetic (logps/chosen fell) and greedy accuracy dropped; the NLL term keeps the chosen answers likely.
                    Dpo.Config dpo = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(PreferenceLoss.Variant.SIGMOID), "beta", beta, "rpoAlpha", rpoAlpha,
                            "steps", dpoSteps, "batchSize", dpoBatch, "lr", dpoLr, "warmupSteps", Math.min(10, dpoSteps / 10), "maxLength", 64,
                            "evalEvery", Math.max(1, dpoSteps / 3), "keep", 1, "seed", seed);
                    try (LlamaModel reference = policy.copy(ScalarType.Float)) {
                        Dpo.train(policy, reference, pairs, dpo, io);
                    }
                    HfModel.save(out.resolve("dpo"), policy, tok);
                    stages.add(evaluate("dpo", policy, tok, t, test, metrics, (long) sftSteps + dpoSteps, d0));
                }
            }
            if (grpoSteps == 0) notes.add("GRPO stage skipped (--grpo-steps 0).");
            if (grpoSteps > 0) {
                // 4. online RL: GRPO on the task's gold reward (16 prompts × 8 samples a step), from the policy so far
                long g0 = System.nanoTime();
                String from = stages.get(stages.size() - 1).name();
                Grpo.Config grpo = Configs.with(Grpo.Config.DEFAULTS, "steps", grpoSteps, "promptsPerStep", 16, "samplesPerPrompt", 8,
                        "maxNewTokens", t.maxCompletionChars() + 4, "lr", grpoLr, "warmupSteps", Math.min(5, grpoSteps),
                        "evalEvery", Math.max(1, grpoSteps / 3), "keep", 1, "seed", seed);
                System.err.printf("quickstart: GRPO from the %s policy on the gold reward%n", from);
                Grpo.train(policy, null, dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(t)),
                        t.examples(Task.Split.TRAIN, 20_000, seed + 9), grpo, io);
                HfModel.save(out.resolve("grpo"), policy, tok);
                stages.add(evaluate("grpo", policy, tok, t, test, metrics, (long) sftSteps + dpoSteps + grpoSteps, g0));
            }
            double total = (System.nanoTime() - t0) / 1e9;
            Map<String, String> facts = new LinkedHashMap<>();
            facts.put("task", task + " — " + t.description());
            facts.put("model", String.format("%s, %s: %,d parameters, %d layers, hidden %d", init, cfg.architecture(), policy.parameterCount(), cfg.numLayers(), cfg.hiddenSize()));
            facts.put("seed", String.valueOf(seed));
            facts.put("held-out prompts", test.size() + " (test split, disjoint from training)");
            facts.put("SFT", String.format("%d steps × batch %d, lr %.0e; demonstrations: %.0f%% random flaws, slips on %.0f%% of the prompts where the demonstrator can slip",
                    sftSteps, sftBatch, sftLr, 100 * errorRate, 100 * slipRate));
            facts.put("imitation ceiling", String.format("%.1f%% of the held-out prompts (the demonstrator's most frequent answer is right on these)", 100 * ceiling));
            facts.put("DPO", dpoSteps == 0 ? "skipped" : String.format("RPO (DPO sigmoid loss + %.1f × NLL on chosen), %d steps × batch %d, β %.2f, lr %.0e, reference = SFT policy", rpoAlpha, dpoSteps, dpoBatch, beta, dpoLr));
            facts.put("GRPO", grpoSteps == 0 ? "skipped" : String.format("%d steps × 16 prompts × 8 samples, gold reward, lr %.0e, β 0, from the previous stage's policy", grpoSteps, grpoLr));
            facts.put("total time", String.format("%.0f s on %d threads", total, Torch.threads()));
            facts.put("reproduce", String.format(java.util.Locale.ROOT, "./align4j quickstart --task %s --init %s --seed %d --sft-steps %d --dpo-steps %d --grpo-steps %d"
                    + " --error-rate %s --slip-rate %s --annotator-temperature %s --beta %s --eval-prompts %d", task, init, seed, sftSteps, dpoSteps, grpoSteps,
                    errorRate, slipRate, annotatorTemperature, beta, evalPrompts));
            Path report = Report.write(out, "align4j quickstart — " + task, facts, stages, metrics, notes, 12);
            System.err.printf("quickstart: done in %.0f s%n", total);
            for (Report.Stage s : stages)
                System.err.printf("  %-5s gold reward %.3f  accuracy %5.1f%%%n", s.name(), s.result().reward(), 100 * s.result().accuracy());
            System.err.printf("  (imitation ceiling %.1f%%)%n", 100 * ceiling);
            System.err.println("  report: " + report);
            return report;
        }
    }

    private Report.Stage evaluate(String name, LlamaModel m, Tokenizer tok, Task t, List<Task.Example> test, Metrics metrics, long step, long since) {
        Evaluator.Result r = Evaluator.evaluate(m, tok, t, test, 100, false);
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("gold_reward", r.reward());
        v.put("accuracy", r.accuracy());
        v.put("completion_length", r.length());
        for (int k = 0; k < r.objectives().length && r.objectives().length > 1; k++) v.put("objective/" + t.objectives().get(k), r.objectives()[k]);
        metrics.log("stage/" + name, step, v);
        return new Report.Stage(name, r, (System.nanoTime() - since) / 1e9);
    }

    private static Map<String, Double> evalMetrics(LlamaModel m, Tokenizer tok, Task t, List<Task.Example> test, int n) {
        Evaluator.Result r = Evaluator.evaluate(m, tok, t, test.subList(0, Math.min(n, test.size())), 100, false);
        return Map.of("gold_reward", r.reward(), "accuracy", r.accuracy());
    }

    /** Samples completions, ranks them with the annotator, keeps best-vs-worst pairs. Returns {agreement, decidable pairs}. */
    private double[] annotate(LlamaModel policy, Tokenizer tok, Task t, List<PreferencePair> pairs) {
        Annotator annotator = new Annotator(annotatorTemperature, seed + 7);
        List<Task.Example> prompts = t.examples(Task.Split.TRAIN, preferencePrompts, seed + 3);
        SamplingConfig sc = new SamplingConfig(t.maxCompletionChars() + 4, 1.0, 0, 1.0, seed + 5, List.of());
        int agree = 0, decidable = 0;
        Progress progress = new Progress("quickstart: sampling + annotating", prompts.size());
        for (int i = 0; i < prompts.size(); i += 64) {
            List<Task.Example> chunk = prompts.subList(i, Math.min(prompts.size(), i + 64));
            List<int[]> ids = new ArrayList<>();
            for (Task.Example e : chunk) for (int k = 0; k < samplesPerPrompt; k++) ids.add(tok.encode(e.prompt(), true));
            List<Completion> outs = Sampler.generate(policy, tok, ids, sc.withSeed(seed + 5 + i));
            for (int j = 0; j < chunk.size(); j++) {
                Task.Example e = chunk.get(j);
                String[] texts = new String[samplesPerPrompt];
                double[] gold = new double[samplesPerPrompt];
                for (int k = 0; k < samplesPerPrompt; k++) {
                    texts[k] = outs.get(j * samplesPerPrompt + k).text();
                    gold[k] = t.reward(e, texts[k]);
                }
                int[] order = annotator.rank(gold);
                int b = order[0], w = order[order.length - 1];
                // equal gold rewards are a tie: a real annotator says so, and ties are not training pairs
                if (texts[b].equals(texts[w]) || gold[b] == gold[w]) continue;
                pairs.add(new PreferencePair(e.prompt(), texts[b], texts[w]));
                decidable++;
                if (gold[b] > gold[w]) agree++;
            }
            progress.update(Math.min(prompts.size(), i + 64));
        }
        return new double[]{decidable == 0 ? 1 : (double) agree / decidable, decidable};
    }
}
