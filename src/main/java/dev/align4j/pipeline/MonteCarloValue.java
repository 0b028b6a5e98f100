package dev.align4j.pipeline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.UserError;
import dev.align4j.generate.Completion;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.Session;
import dev.align4j.train.offline.ValueModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A value model for a policy from Monte Carlo returns: sample N completions of each training prompt from the policy,
 * score them with the reward functions (the outcome return R), and train a token-level value head, initialised from the
 * policy's own trunk as PPO's critic is, so that V(x + y_{&lt;t}) predicts R at every state ({@link ValueModel}). The
 * same is sampled on held-out prompts to measure the value model (mse, explained variance, and how well V before the
 * first token predicts success). The value model then guides decoding ({@code generate --guide value:DIR}).
 */
public final class MonteCarloValue {
    private MonteCarloValue() {}

    /**
     * @param train        the value model's training (steps, lr, batch size, max length, value loss and support)
     * @param samples      completions sampled per prompt, N
     * @param prompts      training prompts: drawn from the task, or the first N rows of a prompt file (0 = 2,000 / every row)
     * @param temperature  sampling temperature of the policy (1 = the policy's own distribution, whose value is learned)
     * @param maxNewTokens generation budget; 0 = the task's (its longest answer + 4), 64 for a prompt file
     */
    public record Config(@JsonUnwrapped ValueModel.Config train, int samples, int prompts, double temperature, int maxNewTokens) {
        public static final Config DEFAULTS = Configs.of(Config.class, ValueModel.Config.COMMON, "samples", 8, "prompts", 0, "temperature", 1.0, "maxNewTokens", 0);

        public Config {
            UserError.check(samples >= 1, "--samples must be >= 1: %s", samples);
            UserError.check(prompts >= 0, "--prompts must be >= 0 (0 = 2000 from a task, every row of --data): %s", prompts);
            UserError.check(temperature > 0, "--temperature must be > 0: %s", temperature);
            UserError.check(maxNewTokens >= 0, "--max-new-tokens must be >= 0 (0 = the task's budget, 64 for --data): %s", maxNewTokens);
        }

        /** The generation budget on {@code task} (null: a prompt file). */
        public int budget(Task task) {
            return maxNewTokens > 0 ? maxNewTokens : task != null ? Math.max(4, task.maxCompletionChars() + 4) : 64;
        }
    }

    /** The trained value model (a score head of {@code head.labels()} outputs) and its held-out quality. */
    public record Result(LlamaModel model, Map<String, Double> heldOut, double trainReturnMean) {}

    /** Samples N completions of each prompt and turns them into trajectories with their outcome return. */
    public static List<ValueModel.Row> trajectories(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, Rewards.Weighted reward, int n,
                                                    SamplingConfig sc) {
        BestOfN.Samples s = BestOfN.sample(policy, tok, prompts, n, sc, 256, reward);
        List<ValueModel.Row> rows = new ArrayList<>(s.outs().size());
        for (int j = 0; j < s.outs().size(); j++) {
            Completion c = s.outs().get(j);
            rows.add(new ValueModel.Row(tok.encode(prompts.get(j / n).prompt(), true), c.tokens(), s.rewards()[j]));
        }
        return rows;
    }

    /**
     * Samples trajectories on {@code train} and {@code heldOut} prompts from {@code policy} (unchanged), trains a value
     * model initialised from the policy's trunk with a new head, and evaluates it on the held-out trajectories at every
     * evaluation step (logged as {@code eval/value-model}) and at the end.
     *
     * @param task the task whose budget applies (null: a prompt file)
     */
    public static Result run(LlamaModel policy, Tokenizer tok, List<Task.Example> train, List<Task.Example> heldOut, Rewards.Weighted reward, Task task,
                             Config cfg, Session io) {
        long seed = cfg.train().run().seed();
        SamplingConfig sc = new SamplingConfig(cfg.budget(task), cfg.temperature(), 0, 1.0, seed * 1_000_003L + 11, List.of());
        List<ValueModel.Row> rows = trajectories(policy, tok, train, reward, cfg.samples(), sc);
        List<ValueModel.Row> held = heldOut.isEmpty() ? List.of() : trajectories(policy, tok, heldOut, reward, cfg.samples(), sc.withSeed(seed * 1_000_003L + 12));
        double mean = rows.stream().mapToDouble(ValueModel.Row::ret).average().orElse(0);
        System.err.printf("value-model: %d trajectories on %d prompts (mean return %.3f), %d held out on %d prompts%n", rows.size(), train.size(), mean,
                held.size(), heldOut.size());
        int maxLength = cfg.train().batching().maxLength();
        LlamaModel vm = policy.withScoreHead(cfg.train().value().labels(), seed + 17);
        Session s = held.isEmpty() ? io : io.withEval(step -> ValueModel.evaluate(vm, cfg.train().value(), held, tok.padId, maxLength));
        ValueModel.train(vm, rows, cfg.train(), s);
        Map<String, Double> end = held.isEmpty() ? Map.of() : ValueModel.evaluate(vm, cfg.train().value(), held, tok.padId, maxLength);
        return new Result(vm, end, mean);
    }

    /** The held-out summary as one line. */
    public static String summary(Map<String, Double> m) {
        if (m.isEmpty()) return "no held-out prompts";
        return String.format("value mse %.4f, explained variance %.3f; before the first token: mse (Brier) %.4f, AUC %.3f (success rate %.3f)",
                m.get("value/mse"), m.get("value/explained_variance"), m.get("value/prompt_mse"), m.get("value/prompt_auc"), m.get("value/return_mean"));
    }
}
