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

    /**
     * Samples {@code cfg.samples()} trajectories of every prompt from {@code policy} and labels their steps. Trajectories without
     * a step, or (gold labels) whose step count differs from the task's reading of them, are skipped and counted on stderr.
     */
    public static List<Trajectory> build(LlamaModel policy, Tokenizer tok, Task task, List<Task.Example> prompts, String separator,
                                        Config cfg, long seed) {
        int budget = cfg.maxNewTokens() > 0 ? cfg.maxNewTokens() : Math.max(4, task.maxCompletionChars() + 4);
        SamplingConfig sc = new SamplingConfig(budget, cfg.temperature(), 0, 1.0, seed, List.of());
        Rewards.Weighted none = Rewards.Weighted.of(Rewards.fn("none", s -> 0.0));
        BestOfN.Samples s = BestOfN.sample(policy, tok, prompts, cfg.samples(), sc, cfg.batchSize(), none);
        // 1. distinct trajectories, split into steps
        List<Task.Example> of = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        List<List<String>> steps = new ArrayList<>();
        int empty = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Set<String> seen = new HashSet<>();
            for (int k = 0; k < cfg.samples(); k++) {
                String text = s.text(i, k);
                if (!seen.add(text)) continue;
                List<String> st = StepwiseExample.split(text, separator);
                if (st.isEmpty()) { empty++; continue; }
                of.add(prompts.get(i));
                texts.add(text);
                steps.add(st);
            }
        }
        if (empty > 0) System.err.println("prm: " + empty + " sampled completions without a step were skipped");
        // 2. labels
        List<Trajectory> out = new ArrayList<>(texts.size());
        if (cfg.labels() == Labels.GOLD) {
            int mismatched = 0;
            for (int j = 0; j < texts.size(); j++) {
                List<Boolean> gold = task.goldStepLabels(of.get(j), texts.get(j));
                if (gold == null) throw new UserError("task '" + task.name() + "' has no gold step labels; use --labels mc (Math-Shepherd rollouts)");
                if (gold.size() != steps.get(j).size()) { mismatched++; continue; }
                double[] y = new double[gold.size()];
                for (int i = 0; i < y.length; i++) y[i] = gold.get(i) ? 1 : 0;
                out.add(new Trajectory(of.get(j).prompt(), steps.get(j), y));
            }
            if (mismatched > 0) System.err.println("prm: " + mismatched + " trajectories whose steps the task reads differently were skipped");
            return out;
        }
        // mc: M rollouts from every distinct (prompt, steps 1..i) prefix, i < K; the last step is the trajectory's own outcome
        LinkedHashMap<String, Integer> prefixIndex = new LinkedHashMap<>();
        List<Task.Example> prefixExamples = new ArrayList<>();
        List<String> prefixTexts = new ArrayList<>();
        List<Task.Example> prefixOf = new ArrayList<>();
        for (int j = 0; j < texts.size(); j++) {
            StringBuilder prefix = new StringBuilder();
            for (int i = 0; i < steps.get(j).size() - 1; i++) {
                prefix.append(steps.get(j).get(i)).append(separator);
                String key = of.get(j).prompt() + "\u0000" + prefix;
                if (prefixIndex.putIfAbsent(key, prefixExamples.size()) == null) {
                    prefixExamples.add(new Task.Example(of.get(j).prompt() + prefix, of.get(j).answer()));
                    prefixTexts.add(prefix.toString());
                    prefixOf.add(of.get(j));
                }
            }
        }
        boolean[][] reached = new boolean[prefixExamples.size()][];
        if (!prefixExamples.isEmpty()) {
            int m = cfg.mcRollouts();
            System.err.printf("prm: Math-Shepherd labels: %d distinct step prefixes x %d rollouts%n", prefixExamples.size(), m);
            BestOfN.Samples r = BestOfN.sample(policy, tok, prefixExamples, m, sc.withSeed(seed + 1_000_003L), cfg.batchSize(), none);
            for (int p = 0; p < prefixExamples.size(); p++) {
                reached[p] = new boolean[m];
                for (int k = 0; k < m; k++) reached[p][k] = task.correct(prefixOf.get(p), prefixTexts.get(p) + r.text(p, k));
            }
        }
        for (int j = 0; j < texts.size(); j++) {
            int n = steps.get(j).size();
            boolean[][] table = new boolean[n][];
            StringBuilder prefix = new StringBuilder();
            for (int i = 0; i < n - 1; i++) {
                prefix.append(steps.get(j).get(i)).append(separator);
                table[i] = reached[prefixIndex.get(of.get(j).prompt() + "\u0000" + prefix)];
            }
            table[n - 1] = new boolean[]{task.correct(of.get(j), texts.get(j))};
            out.add(new Trajectory(of.get(j).prompt(), steps.get(j), labels(table, cfg.estimate())));
        }
        return out;
    }
}
