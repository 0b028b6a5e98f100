package dev.align4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.eval.ModelEval;
import dev.align4j.model.HfModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "eval", description = {"Evaluate models side by side on held-out prompts: gold reward, accuracy, pass@k, maj@k,",
        "reward-model score, and against --reference the win rate and KL(pi||pi_ref); mean completion length.",
        "LABEL=DIR1,DIR2,... is one recipe on several seeds: each seed, and IQM with a 95%% bootstrap CI, mean, min, max.",
        "With several models, every pair also meets head to head: W(a > b) seed by seed (seed i of a against seed i of b), exact",
        "under the gold preference on cycle (from the K samples at temperature 1, where exploitability is also reported), else by the",
        "gold reward (or --reward) of greedy completions.",
        "Writes a table to stdout and OUTPUT/eval.json, eval.html, eval.png.",
        "Example: ./align4j eval --task cycle --model sppo=out/sppo-0,out/sppo-1,out/sppo-2 --model grpo=out/grpo-0,out/grpo-1,out/grpo-2",
        "Example: ./align4j eval --task arithmetic --model sft=out/quickstart/sft --model dpo=out/dpo-s0,out/dpo-s1,out/dpo-s2 --reference out/quickstart/sft",
        "Example: ./align4j eval --data held_out.jsonl --reward answer --model out/grpo --reference out/sft/final --output out/eval-grpo"})
final class EvalCommand implements Callable<Integer>, ConfigFile.Configured {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "[LABEL=]DIR[,DIR...]",
            description = {"A model directory, or a run's output folder (its final/ is used); repeatable. LABEL=DIR1,DIR2,...: one recipe",
                    "trained on several seeds, reported per seed and as IQM [95%% CI], mean, min, max."})
    List<String> models;
    @Option(names = "--reference", paramLabel = "DIR", description = "pi_ref for win_rate (greedy completions judged by the gold reward, else --reward) and kl (same vocabulary).")
    Path reference;
    @Option(names = "--task", description = "Built-in task whose test split is evaluated: arithmetic, sort, phrase, brief-arith, chain, cycle.")
    String task;
    @Mixin MethodFlags.PromptFileFlags pf = new MethodFlags.PromptFileFlags();   // or --data prompts.jsonl
    @Mixin RewardFlags rf = new RewardFlags();                          // --reward, --reward-model, ...

    @Option(names = "--prompts", description = "Held-out prompts: drawn from the task's test split, or the first N of --data (default: ${DEFAULT-VALUE}).")
    int prompts;
    @Option(names = "--samples", description = "K samples per prompt for pass@1, pass@K and maj@K (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--temperature", description = "Temperature of the K samples; kl always samples at 1 (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--max-new-tokens", description = "Generation budget; 0 = the task's, 64 for --data (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--batch-size", description = "Rows per generation batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--seed", description = "Seed of the task's prompts and of every sample (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--output", defaultValue = "out/eval", paramLabel = "DIR", description = "Where eval.json, eval.html and eval.png go (default: ${DEFAULT-VALUE}).")
    Path output;
    @Option(names = "--json", description = "Print eval.json's object on stdout instead of the table.")
    boolean json;
    @Option(names = "--dtype", defaultValue = "float32", description = "Compute dtype: float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
    String dtype;
    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--device", defaultValue = "auto", description = "Where tensors live and compute: cpu, cuda, cuda:N, or auto (CUDA when this build and machine have it; the default build is CPU-only, mvn -Pcuda builds the CUDA one) (default: ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--debug", description = "Print stack traces.")
    boolean debug;

    private boolean truncationShown;                                   // "the first N of M prompts" is said once, not per model

    @Override public Object defaults() { return ModelEval.Config.DEFAULTS; }

    /** One --model: its label and run folders, each resolved to a model directory. */
    record ModelSpec(String label, List<Path> dirs) {}

    @Override
    public Integer call() {
        if ((task == null) == (pf.data == null)) throw new UserError("give exactly one of --task NAME or --data FILE (prompt rows)");
        ModelEval.Config cfg = ConfigFile.fromFlags(spec, ModelEval.Config.DEFAULTS);
        Task t = task == null ? null : Task.byName(task);
        // every directory checked before any work: a typo fails in a second, not after the first model's evaluation
        List<ModelSpec> specs = specs(models);
        Path ref = reference == null ? null : modelDir(reference, "--reference");
        if (ref != null) check(ref, null);
        for (ModelSpec s : specs) for (Path d : s.dirs()) check(d, ref);
        Torch.init();
        if (threads > 0) Torch.setThreads(threads);
        Torch.useDevice(device);
        int budget = cfg.budget(t);
        try (HfModel.Loaded rmModel = rf.rewardModel == null ? null : HfModel.load(rf.rewardModel, Torch.dtype("float32"));
             HfModel.Loaded refModel = ref == null ? null : HfModel.load(ref, Torch.dtype(dtype))) {
            RewardFunction rm = rmModel == null ? null : Rewards.model("rm", rmModel.model(), rmModel.tokenizer(), rf.rewardModelHead, 32, 1024);
            try (Rewards.Weighted reward = rewards(t, rm, budget)) {
                ModelEval.Suite suite = new ModelEval.Suite(t, reward, rm);
                ModelEval.Reference piRef = refModel == null ? null
                        : ModelEval.Reference.of(refModel.model(), refModel.tokenizer(), prompts(t, refModel.tokenizer(), cfg), suite, cfg);
                List<ModelEval.Group> groups = new ArrayList<>();
                for (ModelSpec s : specs) {
                    List<ModelEval.Run> runs = new ArrayList<>();
                    for (int i = 0; i < s.dirs().size(); i++)
                        try (HfModel.Loaded l = HfModel.load(s.dirs().get(i), Torch.dtype(dtype))) {
                            String label = s.dirs().size() == 1 ? s.label() : s.label() + "/" + i;
                            runs.add(ModelEval.run(l.model(), l.tokenizer(), prompts(t, l.tokenizer(), cfg), suite, piRef, cfg, label));
                        }
                    groups.add(ModelEval.Group.of(s.label(), s.dirs(), runs));
                }
                List<ModelEval.HeadToHead> h2h = ModelEval.headToHead(groups, t);
                ObjectNode settings = settings(cfg, budget, ref, suite);
                Path page = ModelEval.write(output, settings, groups, h2h);
                if (json) System.out.println(Json.compact(ModelEval.json(settings, groups, h2h)));
                else {
                    System.out.print(ModelEval.table(groups) + (h2h.isEmpty() ? "" : "\n" + ModelEval.headToHeadTable(groups, h2h)));
                    ModelEval.Pareto pf = ModelEval.pareto(groups);
                    if (pf != null) System.out.println("\nPareto front over " + String.join(", ", pf.objectives()) + ": " + String.join(", ", pf.front()));
                }
                System.err.println("eval: " + page + " and " + output.resolve("eval.json"));
            }
        }
        return 0;
    }

    /** The reward functions: with --task only when --reward is given; for a prompt file --reward, or the reward model alone when only --reward-model is given. */
    private Rewards.Weighted rewards(Task t, RewardFunction rm, int budget) {
        if (rf.reward == null && t != null) return null;
        if (rf.reward == null && rm != null) return Rewards.Weighted.of(rm);
        return rf.build(t, budget);
    }

    /** The held-out prompts as this model's tokenizer renders them: the task's test split, or the first --prompts rows of --data. */
    private List<Task.Example> prompts(Task t, Tokenizer tok, ModelEval.Config cfg) {
        if (t != null) return t.examples(Task.Split.TEST, cfg.prompts(), cfg.seed());
        List<Task.Example> all = pf.read(pf.data, tok);
        if (all.size() > cfg.prompts() && !truncationShown) {
            System.err.println("eval: the first " + cfg.prompts() + " of " + all.size() + " prompts of " + pf.data + " (--prompts)");
            truncationShown = true;
        }
        return all.subList(0, Math.min(all.size(), cfg.prompts()));
    }

    /** {@code DIR} or {@code LABEL=DIR1,DIR2,...}; an unlabelled model is named by its directory (a run's, for DIR/final). */
    static List<ModelSpec> specs(List<String> models) {
        List<ModelSpec> out = new ArrayList<>();
        Set<String> labels = new LinkedHashSet<>();
        for (String m : models) {
            int eq = m.indexOf('=');
            boolean labelled = eq > 0 && !Files.isDirectory(Path.of(m));
            List<Path> dirs = new ArrayList<>();
            for (String d : (labelled ? m.substring(eq + 1) : m).split(",")) {
                if (d.isBlank()) throw new UserError("--model " + m + ": empty directory name (expected [LABEL=]DIR[,DIR...])");
                dirs.add(modelDir(Path.of(d.trim()), "--model"));
            }
            String label = labelled ? m.substring(0, eq) : name(dirs.get(0));
            if (!labels.add(label)) throw new UserError("--model " + m + ": the label '" + label + "' is taken by another --model; name them with LABEL=DIR");
            out.add(new ModelSpec(label, dirs));
        }
        return out;
    }

    /** A model directory, or a run's output folder standing for its final/. */
    static Path modelDir(Path dir, String flag) {
        if (!Files.isDirectory(dir)) throw new UserError(flag + " " + dir + ": no such directory (expected a model directory or a run's output folder)");
        Path d = Files.isDirectory(dir.resolve("final")) ? dir.resolve("final") : dir;
        if (!Files.isRegularFile(d.resolve("config.json")) && !dev.align4j.model.Lora.isAdapterDir(d))    // a LoRA adapter loads onto the base it names
            throw new UserError(flag + " " + dir + ": not a model directory (no config.json" + (d == dir ? ", and no final/ holding one)" : " in final/)"));
        return d;
    }

    private static String name(Path dir) {
        Path n = dir.toAbsolutePath().normalize();
        return n.getFileName().toString().equals("final") && n.getParent() != null ? n.getParent().getFileName().toString() : n.getFileName().toString();
    }

    /** A causal LM; with a reference, one that shares its vocabulary (KL compares distributions over the same tokens). */
    private static void check(Path dir, Path ref) {
        ModelConfig c = HfModel.config(dir);
        if (!c.isCausalLm()) throw new UserError(dir + ": a reward model (" + c.architecture() + "); eval needs causal language models (*ForCausalLM)");
        if (ref != null && HfModel.config(ref).vocabSize() != c.vocabSize())
            throw new UserError(dir + ": vocabulary of " + c.vocabSize() + " tokens, but --reference " + ref + " has " + HfModel.config(ref).vocabSize()
                    + "; kl needs models that share a tokenizer");
    }

    private ObjectNode settings(ModelEval.Config cfg, int budget, Path ref, ModelEval.Suite suite) {
        ObjectNode s = Json.object();
        s.put("task", task).put("data", pf.data == null ? null : pf.data.toString());
        s.put("prompts", cfg.prompts()).put("samples", cfg.samples()).put("temperature", cfg.temperature())
                .put("max_new_tokens", budget).put("batch_size", cfg.batchSize()).put("seed", cfg.seed());
        s.put("reference", ref == null ? null : ref.toString()).put("judge", ref == null ? null : suite.judgeName());
        s.put("reward", suite.reward() == null ? null : String.join(",", suite.reward().functions().stream().map(RewardFunction::name).toList()));
        s.put("reward_model", rf.rewardModel == null ? null : rf.rewardModel.toString());
        s.put("dtype", dtype).put("command", "./align4j " + Main.invocation());
        return s;
    }
}
