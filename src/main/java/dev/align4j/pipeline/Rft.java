package dev.align4j.pipeline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.SftExample;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.Checkpoints;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Batching;
import dev.align4j.train.offline.Sft;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Rejection-sampling fine-tuning, iterated (expert iteration; RAFT, Dong et al. 2023; ReST-EM, Singh et al. 2023):
 *
 * <pre>
 * for iteration t = 1..K:
 *     (B-STaR) choose the temperature and threshold that maximise the balance score on a few prompts
 *     sample N completions of each of this iteration's prompts from the current policy π_{t−1}; score them
 *     keep the distinct ones with reward ≥ threshold (ReST-EM), or each prompt's best if it passes (RAFT)
 *     π_t = SFT on the kept completions, starting from the base model (ReST-EM) or from π_{t−1}
 *     log, evaluate on held-out prompts, checkpoint-t
 * </pre>
 *
 * Each iteration's SFT is {@link Sft#train} with its own config (this config's run settings and batching, seed + t);
 * its per-step metrics go to {@code OUTPUT/sft-t/} (metrics.jsonl, tb/), the iteration's to {@code OUTPUT/metrics.jsonl}
 * (stage {@code rft}, step = iteration). A checkpoint holds the policy after an iteration (weights, no optimizer: every
 * SFT starts with fresh AdamW moments), so a resume continues with the next iteration, whose prompts, samples and SFT
 * seed are functions of the seed and the iteration. No training loop of its own: each SFT runs on the shared
 * {@link dev.align4j.train.Loop}.
 */
public final class Rft {
    private Rft() {}

    /** Which samples of a prompt are kept. */
    public enum Select {
        /** every distinct sample whose reward reaches the threshold (ReST-EM's E-step with a binary reward) */
        PASSING,
        /** the prompt's best sample (ties: the first sampled), if it reaches the threshold (RAFT) */
        BEST
    }

    /** What each iteration's SFT starts from. */
    public enum From {
        /** the starting model, every iteration (ReST-EM: limits drift and overfitting to self-generated data; progress carries through the data, sampled from the latest policy) */
        BASE,
        /** the previous iteration's policy (RAFT, STaR-style accumulation) */
        PREVIOUS
    }

    /**
     * Settings; {@code run} and {@code batching} are each iteration's SFT ({@code steps} = SFT steps per iteration),
     * except {@code saveEvery} and {@code evalEvery}, which count iterations, and {@code keep}, the iteration checkpoints kept.
     *
     * @param iterations          K
     * @param samples             N completions per prompt
     * @param promptsPerIteration training prompts sampled each iteration (drawn afresh, seeded by the iteration)
     * @param temperature         sampling temperature (without B-STaR)
     * @param maxNewTokens        generation budget
     * @param threshold           a sample is kept when its reward is ≥ this (1 = correct for a gold reward in [0, 1])
     * @param select              passing (every distinct passing sample) or best (each prompt's best, if it passes)
     * @param from                base or previous: what each iteration's SFT starts from
     * @param bstar               B-STaR: choose the temperature and threshold per iteration by the balance score
     * @param bstarTemperatures   B-STaR's temperature grid
     * @param bstarThresholds     B-STaR's threshold grid
     * @param bstarPrompts        prompts (of the iteration's) the balance score is measured on
     * @param bstarNstar          n*: distinct correct samples per prompt for full exploration credit (the authors' code: 8)
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, int iterations, int samples, int promptsPerIteration,
                         double temperature, int maxNewTokens, double threshold, Select select, From from,
                         boolean bstar, List<Double> bstarTemperatures, List<Double> bstarThresholds, int bstarPrompts, int bstarNstar) {
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 100, "lr", 2e-4, "weightDecay", 0.0, "warmupSteps", 10,
                "batchSize", 32, "maxLength", 128, "saveEvery", 1, "evalEvery", 1,
                "iterations", 3, "samples", 8, "promptsPerIteration", 512, "temperature", 1.0, "maxNewTokens", 24, "threshold", 1.0,
                "select", Select.PASSING, "from", From.BASE, "bstar", false, "bstarTemperatures", List.of(0.6, 0.8, 1.0, 1.2),
                "bstarThresholds", List.of(0.5, 0.75, 1.0), "bstarPrompts", 64, "bstarNstar", 8);

        public Config {
            select = select == null ? Select.PASSING : select;
            from = from == null ? From.BASE : from;
            bstarTemperatures = bstarTemperatures == null ? List.of() : List.copyOf(bstarTemperatures);
            bstarThresholds = bstarThresholds == null ? List.of() : List.copyOf(bstarThresholds);
            UserError.check(iterations >= 1, "iterations must be >= 1: %s", iterations);
            UserError.check(samples >= 1, "samples must be >= 1: %s", samples);
            UserError.check(promptsPerIteration >= 1, "prompts-per-iteration must be >= 1: %s", promptsPerIteration);
            UserError.check(temperature > 0, "temperature must be > 0 (at 0 all N samples are the greedy one): %s", temperature);
            UserError.check(maxNewTokens >= 1, "max-new-tokens must be >= 1: %s", maxNewTokens);
            UserError.check(!Double.isNaN(threshold), "threshold must be a number");
            UserError.check(!bstar || !bstarTemperatures.isEmpty() && !bstarThresholds.isEmpty(), "--bstar needs at least one bstar-temperatures and one bstar-thresholds value");
            for (double t : bstarTemperatures) UserError.check(t > 0, "bstar-temperatures must be > 0: %s", t);
            UserError.check(bstarPrompts >= 1, "bstar-prompts must be >= 1: %s", bstarPrompts);
            UserError.check(bstarNstar >= 1, "bstar-nstar must be >= 1: %s", bstarNstar);
        }
    }

    /** How the run ended: the iterations' metrics (stage {@code rft}, one map per iteration run here) and the newest checkpoint. */
    public record Result(List<Map<String, Double>> iterations, Path lastCheckpoint) {}

    /**
     * Runs K iterations on {@code policy} in place. {@code task} (may be null) is needed by B-STaR only, which counts
     * correct samples with it; {@code io.eval()} (may be null) evaluates the policy after each iteration.
     */
    public static Result train(LlamaModel policy, Rewards.Weighted reward, List<Task.Example> prompts, Task task, Config cfg, Session io) {
        if (cfg.bstar() && task == null) throw new UserError("--bstar needs --task: the balance score counts correct samples by the task's gold check");
        long seed = cfg.run().seed();
        List<Map<String, Double>> log = new ArrayList<>();
        try (LlamaModel base = cfg.from() == From.BASE ? policy.copy(policy.dtype) : null) {     // before a resume overwrites the policy
            Path last = null;
            int start = 0;
            Path resumed = Checkpoints.resumeRound(policy, io, "rft", "iteration");
            if (resumed != null) { last = resumed; start = (int) Checkpoints.stepOf(resumed); }
            for (int it = start + 1; it <= cfg.iterations(); it++) {
                Map<String, Double> m = new LinkedHashMap<>();
                List<Task.Example> batch = draw(prompts, cfg.promptsPerIteration(), seed * 1_000_003L + it);
                // 1. B-STaR: the temperature and threshold of this iteration
                double temperature = cfg.temperature(), threshold = cfg.threshold();
                if (cfg.bstar()) {
                    BStar.Choice c = BStar.choose(policy, io, batch.subList(0, Math.min(cfg.bstarPrompts(), batch.size())), reward, task, cfg, seed * 31 + it);
                    temperature = c.temperature();
                    threshold = c.threshold();
                    m.put("balance_score", c.score());
                }
                m.put("temperature", temperature);
                m.put("threshold", threshold);
                // 2. N samples of each prompt from the current policy, scored
                BestOfN.Samples s = BestOfN.sample(policy, io.tok(), batch, cfg.samples(),
                        new SamplingConfig(cfg.maxNewTokens(), temperature, 0, 1.0, seed * 7_919 + it, List.of()), 64, reward);
                // 3. keep the passing ones (or each prompt's best)
                List<SftExample> kept = keep(s, threshold, cfg.select());
                int promptsKept = (int) kept.stream().map(SftExample::prompt).distinct().count();
                m.put("samples", (double) s.rewards().length);
                m.put("reward", java.util.Arrays.stream(s.rewards()).average().orElse(0));
                m.put("kept", (double) kept.size());
                m.put("frac_kept", kept.size() / (double) s.rewards().length);
                m.put("frac_prompts_kept", promptsKept / (double) batch.size());
                m.put("reward_kept", kept.isEmpty() ? Double.NaN : keptReward(s, threshold, cfg.select()));
                // 4. SFT on them, from the base model or the current policy
                if (kept.isEmpty()) System.err.printf("rft: iteration %d kept no sample (threshold %s); the policy is unchanged%n", it, threshold);
                else {
                    if (base != null) policy.loadFrom(base);
                    try (Metrics sm = io.output() == null ? Metrics.inMemory().quiet(true) : Metrics.fresh(io.output().resolve("sft-" + it))) {
                        Sft.Result r = Sft.train(policy, kept, sftConfig(cfg, seed + it), new Session(io.tok(), null, sm, null, null));
                        m.put("sft_loss", r.finalLoss());
                    }
                }
                // 5. log, evaluate, checkpoint
                io.metrics().log("rft", it, m);
                log.add(m);
                boolean lastIteration = it == cfg.iterations();
                if (io.eval() != null && (lastIteration || cfg.run().evalEvery() > 0 && it % cfg.run().evalEvery() == 0))
                    io.metrics().log("eval/rft", it, io.eval().evaluate(it));
                if (io.output() != null && (lastIteration || cfg.run().saveEvery() > 0 && it % cfg.run().saveEvery() == 0)) {
                    ObjectNode state = Json.object();
                    state.put("trainer", "rft");
                    state.put("iteration", it);
                    state.put("max_iterations", cfg.iterations());
                    state.put("temperature", temperature);
                    state.put("threshold", threshold);
                    state.set("config", Json.MAPPER.valueToTree(cfg));
                    last = Checkpoints.save(io.output(), it, policy, io.tok(), null, state, cfg.run().keep(), io.metrics(), last, null);
                }
            }
            return new Result(log, last);
        }
    }

    /** Each iteration's SFT config: this config's run settings and batching, by name, with the iteration's seed. */
    static Sft.Config sftConfig(Config cfg, long seed) {
        RunConfig r = cfg.run();
        Batching b = cfg.batching();
        return Configs.with(Sft.Config.DEFAULTS, "steps", r.steps(), "lr", r.lr(), "weightDecay", r.weightDecay(), "warmupSteps", r.warmupSteps(),
                "maxGradNorm", r.maxGradNorm(), "gradAccum", r.gradAccum(), "onNonFinite", r.onNonFinite(), "loggingSteps", r.loggingSteps(), "dtype", r.dtype(),
                "seed", seed, "batchSize", b.batchSize(), "maxLength", b.maxLength(), "truncation", b.truncation());
    }

    /** {@code n} prompts drawn without replacement (all of them when there are fewer), in a seeded order. */
    static List<Task.Example> draw(List<Task.Example> prompts, int n, long seed) {
        List<Task.Example> all = new ArrayList<>(prompts);
        java.util.Collections.shuffle(all, new Random(seed));
        return all.subList(0, Math.min(n, all.size()));
    }

    /**
     * The kept samples as SFT rows: per prompt, {@link Select#PASSING} keeps every distinct completion whose reward is ≥
     * {@code threshold} (a completion sampled twice is kept once, so easy prompts do not dominate; B-STaR's code dedups
     * the same way), {@link Select#BEST} the best one ({@link BestOfN#best}) if it is ≥ {@code threshold}.
     */
    public static List<SftExample> keep(BestOfN.Samples s, double threshold, Select select) {
        List<SftExample> out = new ArrayList<>();
        for (int i : keptIndices(s, threshold, select)) out.add(new SftExample(s.prompts().get(i / s.n()).prompt(), s.outs().get(i).text()));
        return out;
    }

    /** Row indices (i·N + k) of the kept samples, in order. */
    static List<Integer> keptIndices(BestOfN.Samples s, double threshold, Select select) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < s.prompts().size(); i++) {
            double[] r = s.rewardsOf(i);
            if (select == Select.BEST) {
                int b = BestOfN.best(r);
                if (r[b] >= threshold) out.add(i * s.n() + b);
                continue;
            }
            Set<String> seen = new HashSet<>();
            for (int k = 0; k < s.n(); k++) if (r[k] >= threshold && seen.add(s.text(i, k))) out.add(i * s.n() + k);
        }
        return out;
    }

    private static double keptReward(BestOfN.Samples s, double threshold, Select select) {
        return keptIndices(s, threshold, select).stream().mapToDouble(i -> s.rewards()[i]).average().orElse(Double.NaN);
    }


    /**
     * B-STaR's configuration search (Zeng et al. 2024, "B-STaR: Monitoring and Balancing Exploration and Exploitation in
     * Self-Taught Reasoners", arXiv 2412.17256, Algorithm 1): before each iteration, sample the candidates of a few
     * prompts at every temperature of a grid, and take the temperature and reward threshold whose selection maximises the
     * balance score. Per prompt, with n the distinct samples whose reward is ≥ the threshold and n' the correct ones among
     * them (the authors' {@code cal_modi_acc_soft} in {@code determine_hyper.py}):
     * <pre>  balance = min(n' / n*, 1) · n' / n     (0 when nothing is selected)</pre>
     * the first factor rewards exploration (enough distinct correct samples), the second exploitation (how cleanly the
     * reward separates correct from wrong). The score is the mean over all the prompts; the authors' code averages over the
     * prompts with a selection and fills its dataset to a target size instead. Ties: the first in grid order.
     */
    static final class BStar {
        private BStar() {}

        record Choice(double temperature, double threshold, double score) {}

        static Choice choose(LlamaModel policy, Session io, List<Task.Example> prompts, Rewards.Weighted reward, Task task, Config cfg, long seed) {
            Choice best = null;
            for (double t : cfg.bstarTemperatures()) {
                BestOfN.Samples s = BestOfN.sample(policy, io.tok(), prompts, cfg.samples(),
                        new SamplingConfig(cfg.maxNewTokens(), t, 0, 1.0, seed, List.of()), 64, reward);
                for (double tau : cfg.bstarThresholds()) {
                    double score = balanceScore(s, tau, cfg.bstarNstar(), (i, k) -> task.correct(s.prompts().get(i), s.text(i, k)));
                    if (best == null || score > best.score()) best = new Choice(t, tau, score);
                }
            }
            return best;
        }

        interface Correct { boolean test(int prompt, int sample); }

        /** The mean over prompts of min(n'/n*, 1) · n'/n, n the distinct samples with reward ≥ tau, n' the correct ones among them. */
        static double balanceScore(BestOfN.Samples s, double tau, int nStar, Correct correct) {
            double sum = 0;
            for (int i = 0; i < s.prompts().size(); i++) {
                double[] r = s.rewardsOf(i);
                Set<String> seen = new HashSet<>();
                int selected = 0, right = 0;
                for (int k = 0; k < s.n(); k++) {
                    if (r[k] < tau || !seen.add(s.text(i, k))) continue;
                    selected++;
                    if (correct.test(i, k)) right++;
                }
                if (selected > 0) sum += Math.min((double) right / nStar, 1.0) * right / selected;
            }
            return sum / Math.max(1, s.prompts().size());
        }
    }
}
