package dev.align4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.model.HfModel;
import dev.align4j.pipeline.BestOfN;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "best-of-n", description = {"Best-of-N sampling: N completions per prompt, scored by --reward, the best kept (ties: the first sampled);",
        "with --select majority the first whose answer is the most frequent; with --select weighted the answer with the largest summed",
        "reward (each sample votes for its answer with its reward, e.g. a process reward model's score). Writes the chosen completions as SFT rows",
        "({\"prompt\", \"completion\", \"reward\"}) and with --pairs best-vs-worst preference rows (ties skipped), which sft and dpo",
        "read with --data. Prints greedy vs best-of-N reward (and accuracy with --task).",
        "Example: ./align4j best-of-n --model out/quickstart/sft --task arithmetic --n 8 --output bon.jsonl --pairs pairs.jsonl",
        "Example: ./align4j best-of-n --model out/sft/final --data prompts.jsonl --reward rm --reward-model out/rm/final --output bon.jsonl",
        "Example: ./align4j best-of-n --model out/sft/final --task chain --split test --n 16 --reward prm --prm-model out/prm/final --select weighted --output bon.jsonl"})
final class BestOfNCommand implements Callable<Integer>, ConfigFile.Configured {
    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin Common.ModelOptions m = new Common.ModelOptions();            // --model, --dtype, --threads, --debug
    @Mixin RewardFlags rf = new RewardFlags();                           // --reward gold,answer,rm,…

    @Option(names = "--task", description = "Built-in task whose prompts are sampled: arithmetic, sort, phrase, brief-arith, chain, cycle.")
    String task;
    @Option(names = "--split", defaultValue = "train", description = "The task's split: train (data for training) or test (held out) (default: ${DEFAULT-VALUE}).")
    String split;

    @Mixin MethodFlags.PromptFileFlags pf = new MethodFlags.PromptFileFlags();   // or --data prompts.jsonl

    @Option(names = "--n", description = "Samples per prompt, N (default: ${DEFAULT-VALUE}).")
    int n;
    @Option(names = "--prompts", description = "Prompts: drawn from --task, or the first N rows of --data; 0 = 200 from a task, every row of --data (default: ${DEFAULT-VALUE}).")
    int prompts;
    @Option(names = "--temperature", description = "Sampling temperature, > 0 (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--max-new-tokens", description = "Generation budget; 0 = the task's, 64 for --data (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--batch-size", description = "Rows per generation batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--seed", description = "Seed of the task's prompts and of every sample (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--select", description = {"best: the highest reward (ties: the first sampled); majority: the first sample whose answer is the most frequent",
            "(the --answer-regex match of the first line; without it the whole first line with --task, the last number with --data);",
            "weighted: the answer whose samples' rewards sum highest, its highest-reward sample (default: ${DEFAULT-VALUE})."})
    BestOfN.Select select;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "JSONL of the chosen completions: {\"prompt\", \"completion\", \"reward\"} (TRL's SFT rows).")
    Path output;
    @Option(names = "--pairs", paramLabel = "FILE", description = "Also write best-vs-worst preference rows {\"prompt\", \"chosen\", \"rejected\", …} here; prompts whose samples tie are skipped.")
    Path pairs;
    @Option(names = "--json", description = "Print the summary as one JSON object on stdout.")
    boolean json;

    @Override public Object defaults() { return BestOfN.Config.DEFAULTS; }

    @Override
    public Integer call() {
        if ((task == null) == (pf.data == null)) throw new UserError("give exactly one of --task NAME or --data FILE (prompt rows)");
        BestOfN.Config cfg = ConfigFile.fromFlags(spec, BestOfN.Config.DEFAULTS);
        Task t = task == null ? null : Task.byName(task);
        Task.Split s = switch (split) {
            case "train" -> Task.Split.TRAIN;
            case "test" -> Task.Split.TEST;
            default -> throw new UserError("--split " + split + ": expected train or test");
        };
        int budget = cfg.budget(t);
        try (HfModel.Loaded l = m.load(); Rewards.Weighted reward = rf.build(t, budget)) {
            List<Task.Example> ps;
            if (t != null) ps = t.examples(s, cfg.prompts() == 0 ? 200 : cfg.prompts(), cfg.seed());
            else {
                List<Task.Example> all = pf.read(pf.data, l);
                ps = cfg.prompts() == 0 ? all : all.subList(0, Math.min(all.size(), cfg.prompts()));
            }
            System.err.printf("best-of-n: %d prompts × %d samples at temperature %s, select %s%n", ps.size(), cfg.n(), cfg.temperature(), cfg.select().name().toLowerCase());
            BestOfN.Result r = BestOfN.run(l.model(), l.tokenizer(), ps, reward, t, answerOf(t), cfg);
            Jsonl.write(output, r.chosen());
            System.err.println("best-of-n: " + r.chosen().size() + " chosen completions -> " + output);
            if (pairs != null) {
                Jsonl.write(pairs, r.pairs());
                System.err.println("best-of-n: " + r.pairs().size() + " preference pairs -> " + pairs + " (" + (ps.size() - r.pairs().size()) + " prompts tied)");
            }
            if (json) {
                ObjectNode o = Json.object();
                r.summary().forEach(o::put);
                System.out.println(Json.compact(o));
            } else System.out.print(table(r.summary(), cfg.n()));
        }
        return 0;
    }

    /** How --select majority reads a completion's answer: --answer-regex's last match on the first line, else the first line (task) or its last number (file). */
    private Function<String, String> answerOf(Task t) {
        Pattern p = rf.answerRegex != null ? RewardFlags.compile(rf.answerRegex) : t != null ? null : Rewards.LAST_NUMBER;
        if (p == null) return c -> { String line = Task.firstLine(c); return line.isEmpty() ? null : line; };
        return c -> {
            Matcher mt = p.matcher(Task.firstLine(c));
            String last = null;
            while (mt.find()) last = mt.groupCount() >= 1 && mt.group(1) != null ? mt.group(1) : mt.group();
            return last == null ? null : last.trim();
        };
    }

    static String table(Map<String, Double> sum, int n) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-10s %10s %10s%n", "", "reward", "accuracy"));
        boolean acc = sum.containsKey("greedy_accuracy");
        sb.append(String.format("%-10s %10.4f %10s%n", "greedy", sum.get("greedy_reward"), acc ? pct(sum.get("greedy_accuracy")) : "-"));
        sb.append(String.format("%-10s %10.4f %10s%n", "best-of-" + n, sum.get("chosen_reward"), acc ? pct(sum.get("chosen_accuracy")) : "-"));
        sb.append(String.format("%-10s %10.4f %10s%n", "sample", sum.get("sample_reward"), "-"));
        if (acc) {
            sb.append(String.format("%-10s %10s %10s%n", "  best", "-", pct(sum.get("best_accuracy"))));
            sb.append(String.format("%-10s %10s %10s%n", "  majority", "-", pct(sum.get("majority_accuracy"))));
            sb.append(String.format("%-10s %10s %10s%n", "  weighted", "-", pct(sum.get("weighted_accuracy"))));
            sb.append(String.format("%-10s %10s %10s%n", "oracle", "-", pct(sum.get("oracle_accuracy"))));
        }
        return sb.toString();
    }

    private static String pct(double x) { return String.format("%.1f%%", 100 * x); }
}
