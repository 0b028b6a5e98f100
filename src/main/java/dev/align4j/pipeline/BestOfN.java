package dev.align4j.pipeline;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.eval.Stats;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Best-of-N: N completions of each prompt from one policy (batched KV-cache generation), scored by the same reward
 * functions the online trainers take, and one chosen per prompt — the highest total reward (best-of-N / rejection
 * sampling, y* = argmax_{i ≤ N} r(x, y_i), as in RAFT, Dong et al. 2023, and Llama 2's rejection sampling; ties: the first
 * sampled of the tied maxima) or by majority vote over the extracted answers (self-consistency, Wang et al. 2022: the
 * first sample whose answer is the most frequent), or by reward-weighted majority vote (each sample's answer gets its reward as
 * a vote, the answer with the largest total wins: argmax_a Σ_i 1[a_i = a]·r_i, Math-Shepherd's "self-consistency + process
 * reward model", Wang et al. 2024, after Li et al. 2023's weighted voting; the highest-reward sample with that answer is the one
 * kept). As inference it measures what N samples buy over greedy decoding; as a
 * data source its chosen completions are SFT rows and its best-vs-worst completions preference pairs. {@link Rft} samples
 * with {@link #sample} too. Never takes gradients.
 */
public final class BestOfN {
    private BestOfN() {}

    /** How a prompt's completion is chosen among its N samples. */
    public enum Select { BEST, MAJORITY, WEIGHTED }

    /**
     * @param n            samples per prompt, N
     * @param prompts      prompts drawn from the task (its --split), or the first N rows of a prompt file; 0 = 200 from a task, every row of a file
     * @param temperature  sampling temperature (&gt; 0: at 0 every sample is the greedy one)
     * @param maxNewTokens generation budget; 0 = the task's (its longest answer + 4), or 64 for a prompt file
     * @param batchSize    rows per generation batch (whole prompts: at least one prompt's N samples)
     * @param seed         the task's prompts and every sample follow it
     * @param select       best (highest reward), majority (most frequent extracted answer) or weighted (largest summed reward per answer)
     */
    public record Config(int n, int prompts, double temperature, int maxNewTokens, int batchSize, long seed, Select select) {
        public static final Config DEFAULTS = Configs.of(Config.class, Map.of(), "n", 8, "prompts", 0, "temperature", 1.0, "maxNewTokens", 0,
                "batchSize", 64, "seed", 0L, "select", Select.BEST);

        public Config {
            select = select == null ? Select.BEST : select;
            UserError.check(n >= 1, "--n must be >= 1: %s", n);
            UserError.check(prompts >= 0, "--prompts must be >= 0 (0 = 200 from a task, every row of --data): %s", prompts);
            UserError.check(temperature > 0, "--temperature must be > 0 (at 0 all N samples are the greedy one): %s", temperature);
            UserError.check(maxNewTokens >= 0, "--max-new-tokens must be >= 0 (0 = the task's budget, 64 for --data): %s", maxNewTokens);
            UserError.check(batchSize >= 1, "--batch-size must be >= 1: %s", batchSize);
        }

        /** The generation budget on {@code task} (null: a prompt file). */
        public int budget(Task task) {
            return maxNewTokens > 0 ? maxNewTokens : task != null ? Math.max(4, task.maxCompletionChars() + 4) : 64;
        }
    }

    /** N scored samples of each prompt: sample k of prompt i is row i·N + k of {@code outs} and {@code rewards}. */
    public record Samples(List<Task.Example> prompts, int n, List<Completion> outs, double[] rewards) {
        public String text(int i, int k) { return outs.get(i * n + k).text(); }

        /** The N rewards of prompt i. */
        public double[] rewardsOf(int i) { return Arrays.copyOfRange(rewards, i * n, (i + 1) * n); }
    }

    /**
     * Samples {@code n} completions of every prompt at {@code sc} (its seed advanced by the first row of each batch, so the
     * samples are a function of the seed) in batches of about {@code batchSize} rows, and scores them all with {@code reward}.
     */
    public static Samples sample(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, int n, SamplingConfig sc, int batchSize, Rewards.Weighted reward) {
        int per = Math.max(1, batchSize / n);                               // prompts per batch
        List<Completion> outs = new ArrayList<>(prompts.size() * n);
        for (int from = 0; from < prompts.size(); from += per) {
            List<int[]> ids = new ArrayList<>();
            for (Task.Example e : prompts.subList(from, Math.min(prompts.size(), from + per))) {
                int[] p = tok.encode(e.prompt(), true);
                for (int k = 0; k < n; k++) ids.add(p);
            }
            try (PointerScope scope = new PointerScope()) {
                outs.addAll(Sampler.generate(policy, tok, ids, sc.withSeed(sc.seed() + (long) from * n)));
            }
        }
        return new Samples(prompts, n, outs, score(reward, prompts, n, outs));
    }

    /** Total rewards of {@code outs}, row j belonging to prompt j / n. */
    static double[] score(Rewards.Weighted reward, List<Task.Example> prompts, int n, List<Completion> outs) {
        List<RewardFunction.Sample> s = new ArrayList<>(outs.size());
        for (int j = 0; j < outs.size(); j++)
            s.add(new RewardFunction.Sample(prompts.get(j / n), outs.get(j).text(), outs.get(j).tokens().length, outs.get(j).finishReason().equals("length")));
        return reward.score(s).total();
    }

    /** The index of the highest reward; ties: the first of the tied maxima (the earliest sampled). NaN ranks below every number. */
    public static int best(double[] r) {
        int b = 0;
        for (int i = 1; i < r.length; i++) if (r[i] > r[b] || Double.isNaN(r[b]) && !Double.isNaN(r[i])) b = i;
        return b;
    }

    /** The index of the lowest reward; ties: the first of the tied minima. NaN ranks below every number. */
    public static int worst(double[] r) {
        int w = 0;
        for (int i = 1; i < r.length; i++) if (!Double.isNaN(r[w]) && (r[i] < r[w] || Double.isNaN(r[i]))) w = i;
        return w;
    }

    /**
     * The majority-vote pick: the first sample whose answer is the most frequent ({@link Stats#majority}: null answers do
     * not vote; between answers of equal count, the one that reached that count first), or -1 when no sample has an answer.
     */
    public static int majority(List<String> answers) {
        String vote = Stats.majority(answers);
        return vote == null ? -1 : answers.indexOf(vote);
    }

    /**
     * The reward-weighted vote: each sample with an answer votes for it with weight r_i (NaN rewards do not vote); the answer with
     * the largest total Σ_i 1[a_i = a]·r_i wins (between equal totals, the answer sampled first), and the pick is the sample with
     * that answer and the highest reward (ties: the first sampled). -1 when no sample has an answer.
     */
    public static int weighted(List<String> answers, double[] rewards) {
        LinkedHashMap<String, Double> total = new LinkedHashMap<>();
        for (int i = 0; i < answers.size(); i++)
            if (answers.get(i) != null) total.merge(answers.get(i), Double.isNaN(rewards[i]) ? 0.0 : rewards[i], Double::sum);
        String win = null;
        for (var e : total.entrySet()) if (win == null || e.getValue() > total.get(win)) win = e.getKey();
        if (win == null) return -1;
        int pick = -1;
        for (int i = 0; i < answers.size(); i++)
            if (win.equals(answers.get(i)) && (pick < 0 || rewards[i] > rewards[pick] || Double.isNaN(rewards[pick]) && !Double.isNaN(rewards[i]))) pick = i;
        return pick;
    }

    /**
     * What {@link #run} returns: the chosen completion of every prompt as SFT rows ({@code prompt}, {@code completion},
     * {@code reward}), best-vs-worst preference rows ({@code prompt}, {@code chosen}, {@code rejected}, {@code chosen_reward},
     * {@code rejected_reward}; prompts whose best and worst tie are left out), and the summary ({@code greedy_reward},
     * {@code chosen_reward}, {@code sample_reward}; with a task {@code greedy_accuracy}, {@code chosen_accuracy},
     * {@code oracle_accuracy}, and every selection rule's accuracy on the same samples: {@code best_accuracy},
     * {@code majority_accuracy}, {@code weighted_accuracy}; {@code prompts}, {@code pairs}).
     */
    public record Result(List<ObjectNode> chosen, List<ObjectNode> pairs, Map<String, Double> summary) {}

    /**
     * Best-of-N over {@code prompts}: greedy completions for the baseline, N samples each, one chosen per prompt.
     *
     * @param task     gives correctness for the accuracies (null: a prompt file, no accuracy)
     * @param answerOf the answer of a completion for {@link Select#MAJORITY} and {@link Select#WEIGHTED} (null: no answer, no vote)
     */
    public static Result run(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, Rewards.Weighted reward, Task task,
                             Function<String, String> answerOf, Config cfg) {
        int n = cfg.n(), budget = cfg.budget(task);
        // 1. greedy completions: what one sample gives
        List<Completion> greedy = new ArrayList<>();
        for (int from = 0; from < prompts.size(); from += cfg.batchSize()) {
            List<int[]> ids = new ArrayList<>();
            for (Task.Example e : prompts.subList(from, Math.min(prompts.size(), from + cfg.batchSize()))) ids.add(tok.encode(e.prompt(), true));
            try (PointerScope scope = new PointerScope()) {
                greedy.addAll(Sampler.generate(policy, tok, ids, SamplingConfig.greedy(budget)));
            }
        }
        double[] greedyReward = score(reward, prompts, 1, greedy);
        // 2. N samples of each prompt, scored
        Samples s = sample(policy, tok, prompts, n, new SamplingConfig(budget, cfg.temperature(), 0, 1.0, cfg.seed(), List.of()), cfg.batchSize(), reward);
        // 3. one chosen per prompt; best vs worst as a pair
        List<ObjectNode> chosen = new ArrayList<>(), pairs = new ArrayList<>();
        double chosenReward = 0, greedyCorrect = 0, chosenCorrect = 0, anyCorrect = 0, bestCorrect = 0, majorityCorrect = 0, weightedCorrect = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Task.Example e = prompts.get(i);
            double[] r = s.rewardsOf(i);
            int b = best(r), w = worst(r);
            List<String> answers = new ArrayList<>();
            for (int k = 0; k < n; k++) answers.add(answerOf == null ? null : answerOf.apply(s.text(i, k)));
            int m = majority(answers), v = weighted(answers, r);
            if (m < 0) m = b;                                                // nothing to vote on: the best
            if (v < 0) v = b;
            int c = switch (cfg.select()) {
                case BEST -> b;
                case MAJORITY -> m;
                case WEIGHTED -> v;
            };
            chosenReward += r[c];
            ObjectNode row = Json.object().put("prompt", e.prompt()).put("completion", s.text(i, c)).put("reward", r[c]);
            chosen.add(row);
            if (r[b] > r[w] && !s.text(i, b).equals(s.text(i, w)))
                pairs.add(Json.object().put("prompt", e.prompt()).put("chosen", s.text(i, b)).put("rejected", s.text(i, w))
                        .put("chosen_reward", r[b]).put("rejected_reward", r[w]));
            if (task != null) {
                if (task.correct(e, greedy.get(i).text())) greedyCorrect++;
                if (task.correct(e, s.text(i, c))) chosenCorrect++;
                if (task.correct(e, s.text(i, b))) bestCorrect++;
                if (task.correct(e, s.text(i, m))) majorityCorrect++;
                if (task.correct(e, s.text(i, v))) weightedCorrect++;
                for (int k = 0; k < n; k++) if (task.correct(e, s.text(i, k))) { anyCorrect++; break; }
            }
        }
        int p = Math.max(1, prompts.size());
        Map<String, Double> sum = new LinkedHashMap<>();
        sum.put("prompts", (double) prompts.size());
        sum.put("greedy_reward", Arrays.stream(greedyReward).average().orElse(0));
        sum.put("chosen_reward", chosenReward / p);
        sum.put("sample_reward", Arrays.stream(s.rewards()).average().orElse(0));
        if (task != null) {
            sum.put("greedy_accuracy", greedyCorrect / p);
            sum.put("chosen_accuracy", chosenCorrect / p);
            sum.put("oracle_accuracy", anyCorrect / p);
            sum.put("best_accuracy", bestCorrect / p);
            sum.put("majority_accuracy", majorityCorrect / p);
            sum.put("weighted_accuracy", weightedCorrect / p);
        }
        sum.put("pairs", (double) pairs.size());
        return new Result(chosen, pairs, sum);
    }
}
