package dev.align4j.pipeline;

import dev.align4j.core.Configs;
import dev.align4j.core.UserError;
import dev.align4j.data.StepwiseExample;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.offline.ProcessRewardModel.Trajectory;

import java.util.*;

/**
 * Step-labelled trajectories for a process reward model, sampled from a policy on a built-in task: N completions per prompt
 * (distinct ones kept), each split into steps at the separator and labelled either by the task's gold step labels
 * ({@link Task#goldStepLabels}) or automatically by Monte Carlo rollouts (Math-Shepherd, Wang et al. 2024, §3.3): for each
 * step s_i, M completions are sampled from the policy starting after s_i (the prompt plus steps 1..i, each followed by the
 * separator), and the step's label is
 * <pre>
 *   hard: y_i = 1 if any of the M completions reaches the right final answer, else 0
 *   soft: y_i = (number of the M completions that reach it) / M
 * </pre>
 * The last step needs no rollout: its label is whether the trajectory itself is right. Math-Shepherd's labels measure a
 * step's potential to reach the right answer, not whether it follows from the one before it: a step that computes
 * correctly from an earlier mistake is right for the gold labels of {@code chain} but (almost always) 0 for Monte Carlo.
 * Never takes gradients.
 */
public final class StepwiseData {
    private StepwiseData() {}

    /** Where step labels come from. */
    public enum Labels { GOLD, MC }

    /** Math-Shepherd's two estimates of a step's label from its rollouts. */
    public enum Estimate { HARD, SOFT }

    /**
     * @param samples      trajectories sampled per prompt (identical ones are kept once)
     * @param temperature  sampling temperature of trajectories and rollouts (&gt; 0)
     * @param maxNewTokens generation budget; 0 = the task's
     * @param labels       gold (the task's step labels) or mc (Math-Shepherd rollouts)
     * @param mcRollouts   M, completions sampled from each step prefix for mc labels
     * @param estimate     hard or soft mc labels
     * @param batchSize    rows per generation batch
     */
    public record Config(int samples, double temperature, int maxNewTokens, Labels labels, int mcRollouts, Estimate estimate, int batchSize) {
        public static final Config DEFAULTS = Configs.of(Config.class, Map.of(), "samples", 8, "temperature", 1.0, "maxNewTokens", 0,
                "labels", Labels.GOLD, "mcRollouts", 8, "estimate", Estimate.HARD, "batchSize", 256);

        public Config {
            UserError.check(samples >= 1, "--samples must be >= 1: %s", samples);
            UserError.check(temperature > 0, "--temperature must be > 0: %s", temperature);
            UserError.check(maxNewTokens >= 0, "--max-new-tokens must be >= 0 (0 = the task's budget): %s", maxNewTokens);
            UserError.check(mcRollouts >= 1, "--mc-rollouts must be >= 1: %s", mcRollouts);
            UserError.check(batchSize >= 1, "--sample-batch-size must be >= 1: %s", batchSize);
            labels = labels == null ? Labels.GOLD : labels;
            estimate = estimate == null ? Estimate.HARD : estimate;
        }
    }

    /** Math-Shepherd's label of one step from whether each of its rollouts reached the right answer (hard: any; soft: the share). */
    public static double estimate(boolean[] reached, Estimate how) {
        int hits = 0;
        for (boolean r : reached) if (r) hits++;
        return switch (how) {
            case HARD -> hits > 0 ? 1.0 : 0.0;
            case SOFT -> reached.length == 0 ? 0.0 : (double) hits / reached.length;
        };
    }

    /** Step labels from a rollout table: row i holds whether each rollout from after step i reached the right answer. */
    public static double[] labels(boolean[][] table, Estimate how) {
        double[] y = new double[table.length];
        for (int i = 0; i < y.length; i++) y[i] = estimate(table[i], how);
        return y;
    }

    /** A sampled trajectory: its prompt, its text and its steps (the text split at the separator). */
    public record Sampled(Task.Example example, String text, List<String> steps) {}

    /** Continues prompts: {@code m} completions of each, completion k of prompt p at index p·m + k. */
    @FunctionalInterface
    public interface Completer {
        List<String> complete(List<Task.Example> prompts, int m);
    }

    /** A policy as a {@link Completer}: {@link BestOfN#sample} at {@code sc} (its seed fixes every completion). */
    public static Completer sampler(LlamaModel policy, Tokenizer tok, SamplingConfig sc, int batchSize) {
        return (prompts, m) -> BestOfN.sample(policy, tok, prompts, m, sc, batchSize, Rewards.Weighted.of(Rewards.fn("none", s -> 0.0)))
                .outs().stream().map(c -> c.text()).toList();
    }

    /**
     * Samples {@code cfg.samples()} trajectories of every prompt from {@code policy} and labels their steps ({@link #gold} or
     * {@link #monteCarlo} with the policy as completer, its rollouts seeded apart from the trajectories).
     */
    public static List<Trajectory> build(LlamaModel policy, Tokenizer tok, Task task, List<Task.Example> prompts, String separator,
                                        Config cfg, long seed) {
        int budget = cfg.maxNewTokens() > 0 ? cfg.maxNewTokens() : Math.max(4, task.maxCompletionChars() + 4);
        SamplingConfig sc = new SamplingConfig(budget, cfg.temperature(), 0, 1.0, seed, List.of());
        List<Sampled> sampled = distinct(prompts, sampler(policy, tok, sc, cfg.batchSize()).complete(prompts, cfg.samples()), cfg.samples(), separator);
        return switch (cfg.labels()) {
            case GOLD -> gold(task, sampled);
            case MC -> monteCarlo(task, sampled, separator, cfg.mcRollouts(), cfg.estimate(), sampler(policy, tok, sc.withSeed(seed + 1_000_003L), cfg.batchSize()));
        };
    }

    /**
     * The distinct completions of each prompt ({@code n} per prompt in {@code texts}, in order) with their steps; completions
     * without a step are skipped and counted on stderr.
     */
    public static List<Sampled> distinct(List<Task.Example> prompts, List<String> texts, int n, String separator) {
        List<Sampled> out = new ArrayList<>();
        int empty = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Set<String> seen = new HashSet<>();
            for (int k = 0; k < n; k++) {
                String text = texts.get(i * n + k);
                if (!seen.add(text)) continue;
                List<String> st = StepwiseExample.split(text, separator);
                if (st.isEmpty()) { empty++; continue; }
                out.add(new Sampled(prompts.get(i), text, st));
            }
        }
        if (empty > 0) System.err.println("prm: " + empty + " sampled completions without a step were skipped");
        return out;
    }

    /** Labels from the task's gold step labels; trajectories whose step count the task reads differently are skipped and counted. */
    public static List<Trajectory> gold(Task task, List<Sampled> sampled) {
        List<Trajectory> out = new ArrayList<>(sampled.size());
        int mismatched = 0;
        for (Sampled s : sampled) {
            List<Boolean> gold = task.goldStepLabels(s.example(), s.text());
            if (gold == null) throw new UserError("task '" + task.name() + "' has no gold step labels; use --labels mc (Math-Shepherd rollouts)");
            if (gold.size() != s.steps().size()) { mismatched++; continue; }
            double[] y = new double[gold.size()];
            for (int i = 0; i < y.length; i++) y[i] = gold.get(i) ? 1 : 0;
            out.add(new Trajectory(s.example().prompt(), s.steps(), y));
        }
        if (mismatched > 0) System.err.println("prm: " + mismatched + " trajectories whose steps the task reads differently were skipped");
        return out;
    }

    /**
     * Math-Shepherd labels: {@code m} completions from every distinct (prompt, steps 1..i) prefix with i &lt; K, the prefix being
     * the prompt followed by steps 1..i each with the separator after it; rollout k reaches the answer when
     * {@code task.correct(example, prefix + completion k)}. Step K (the last) is labelled by the trajectory's own outcome.
     */
    public static List<Trajectory> monteCarlo(Task task, List<Sampled> sampled, String separator, int m, Estimate how, Completer completer) {
        LinkedHashMap<String, Integer> index = new LinkedHashMap<>();
        List<Task.Example> continued = new ArrayList<>(), of = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        for (Sampled s : sampled) {
            StringBuilder prefix = new StringBuilder();
            for (int i = 0; i < s.steps().size() - 1; i++) {
                prefix.append(s.steps().get(i)).append(separator);
                if (index.putIfAbsent(key(s.example(), prefix), continued.size()) == null) {
                    continued.add(new Task.Example(s.example().prompt() + prefix, s.example().answer()));
                    of.add(s.example());
                    prefixes.add(prefix.toString());
                }
            }
        }
        boolean[][] reached = new boolean[continued.size()][];
        if (!continued.isEmpty()) {
            System.err.printf("prm: Math-Shepherd labels: %d distinct step prefixes x %d rollouts%n", continued.size(), m);
            List<String> done = completer.complete(continued, m);
            for (int p = 0; p < continued.size(); p++) {
                reached[p] = new boolean[m];
                for (int k = 0; k < m; k++) reached[p][k] = task.correct(of.get(p), prefixes.get(p) + done.get(p * m + k));
            }
        }
        List<Trajectory> out = new ArrayList<>(sampled.size());
        for (Sampled s : sampled) {
            int n = s.steps().size();
            boolean[][] table = new boolean[n][];
            StringBuilder prefix = new StringBuilder();
            for (int i = 0; i < n - 1; i++) {
                prefix.append(s.steps().get(i)).append(separator);
                table[i] = reached[index.get(key(s.example(), prefix))];
            }
            table[n - 1] = new boolean[]{task.correct(s.example(), s.text())};
            out.add(new Trajectory(s.example().prompt(), s.steps(), labels(table, how)));
        }
        return out;
    }

    private static String key(Task.Example e, CharSequence prefix) { return e.prompt() + "\0" + prefix; }
}
