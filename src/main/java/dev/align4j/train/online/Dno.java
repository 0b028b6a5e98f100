package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.reward.Judge;
import dev.align4j.task.Task;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Pairs;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * DNO, Direct Nash Optimization (Rosset et al. 2024, "Direct Nash Optimization: Teaching Language Models to Self-Improve
 * with General Preferences", arXiv 2404.03715), its practical form DNO-Prct (Algorithm 2): batched on-policy rounds. In
 * round t every sample comes from π_t, the policy as it was when the round began ({@link Iterates}), so a round trains on
 * one fixed on-policy batch of data however many steps it spans. Each step: K samples of every prompt from π_t → the
 * judge's P(y_i ≻ y_j) on every pair of a prompt's samples → each sample's win rate against the others → the sample with
 * the highest win rate is chosen and the lowest rejected, kept only when their win rates differ by at least
 * {@code margin} (large-margin pairs) → one DPO step on the kept pairs with π_t as the reference:
 * −log σ(β[log π(y⁺)/π_t(y⁺) − log π(y⁻)/π_t(y⁻)]). No teacher outputs (the paper's GPT-4 responses) are mixed in.
 * Shapes: N = B·K sequences, P kept pairs.
 */
public final class Dno {
    private Dno() {}

    /**
     * DNO settings; K is {@code rollouts.samplesPerPrompt}.
     *
     * @param beta       the contrastive loss's β
     * @param margin     a pair trains only when win rate(y⁺) − win rate(y⁻) ≥ margin (in [0, 1])
     * @param iterations rounds T; π_t moves to the policy at the start of each (steps / T steps per round)
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, double beta, double margin, int iterations) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= 2, "dno ranks a prompt's samples by win rate: samples-per-prompt must be >= 2, not %s", rollouts.samplesPerPrompt());
            UserError.check(beta > 0, "beta must be > 0: %s", beta);
            UserError.check(margin >= 0 && margin <= 1, "margin (a win-rate difference) must be in [0, 1]: %s", margin);
            UserError.check(iterations >= 1 && iterations <= run.steps(), "iterations must be in [1, steps = %s]: %s", run.steps(), iterations);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 90, "lr", 1e-4, "warmupSteps", 5, "promptsPerStep", 16,
                "samplesPerPrompt", 4, "beta", 0.1, "margin", 0.25, "iterations", 3);
    }

    public record Result(double finalLoss, Path lastCheckpoint) {}

    /** @param iterate a second model of the policy's config, overwritten with π_t at each round */
    public static Result train(LlamaModel policy, LlamaModel iterate, Judge judge, List<Task.Example> prompts, Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("dno: no prompts");
        Recipe r = new Recipe(policy, new Iterates(policy, iterate, cfg.run().steps(), cfg.iterations()), judge, prompts, cfg, io);
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("dno", cfg.run(), cfg, policy, 1), r);
        return new Result(out.get("loss"), out.lastCheckpoint());
    }

    /**
     * Large-margin pair selection: per group of {@code k} consecutive samples, the index with the highest win rate and the
     * one with the lowest (the first on ties), kept when w⁺ − w⁻ ≥ margin and w⁺ &gt; w⁻. Returns {chosen, rejected} rows.
     */
    public static int[][] selectPairs(double[] winRate, int k, double margin) {
        List<Integer> c = new ArrayList<>(), r = new ArrayList<>();
        for (int start = 0; start < winRate.length; start += k) {
            int best = start, worst = start;
            for (int i = start + 1; i < start + k; i++) {
                if (winRate[i] > winRate[best]) best = i;
                if (winRate[i] < winRate[worst]) worst = i;
            }
            double gap = winRate[best] - winRate[worst];
            if (gap > 0 && gap >= margin - 1e-12) { c.add(best); r.add(worst); }
        }
        return new int[][]{c.stream().mapToInt(Integer::intValue).toArray(), r.stream().mapToInt(Integer::intValue).toArray()};
    }

    /** One step of the method, top to bottom. */
    private record Recipe(LlamaModel policy, Iterates iterates, Judge judge, List<Task.Example> prompts, Config cfg, Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 0. a new round: π_t becomes the current policy
            iterates.begin(s.step);
            s.metrics.put("iteration", (double) iterates.iteration(s.step));
            // 1. K samples per prompt from π_t (the round's fixed on-policy batch)
            Rollout ro = Rollout.sample(iterates.model(), io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            int k = cfg.rollouts().samplesPerPrompt();
            s.metrics.put("completion_length", ro.outs().stream().mapToInt(o -> o.tokens().length).average().orElse(0));
            s.metrics.put("distinct_completions", ro.distinctPerPrompt());
            // 2. each sample's win rate against the other samples of its prompt, from the judge
            double[] w = Sppo.winRates(judge, ro, k);
            // 3. large-margin pairs: the best against the worst of each prompt
            int[][] pairs = selectPairs(w, k, cfg.margin());
            int p = pairs[0].length;
            s.metrics.put("frac_pairs", (double) p / cfg.rollouts().promptsPerStep());
            if (p == 0) return;
            double gap = 0;
            for (int i = 0; i < p; i++) gap += w[pairs[0][i]] - w[pairs[1][i]];
            s.metrics.put("win_rate_margin", gap / p);
            List<Integer> rows = new ArrayList<>();
            for (int i : pairs[0]) rows.add(i);
            for (int i : pairs[1]) rows.add(i);
            SeqBatch sb = ro.batch(rows, io.tok().padId);                              // rows 0..P−1 chosen, P..2P−1 rejected
            // 4. log π_t of both sides, without gradients
            Tensor tc, tr;
            try (NoGradGuard ng = new NoGradGuard()) {
                Tensor t = Scoring.score(iterates.model(), sb, false).sum();
                tc = t.narrow(0, 0, p).clone();
                tr = t.narrow(0, p, p).clone();
            }
            // 5. one contrastive step with π_t as the reference
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(policy, sb, false);
                Tensor c = sc.sum().narrow(0, 0, p), r = sc.sum().narrow(0, p, p);
                PreferenceLoss.Out o = PreferenceLoss.compute(PreferenceLoss.Variant.SIGMOID, c, r, tc, tr, cfg.beta(), 0, 0);
                Pairs.rewardMetrics(m, o.chosenRewards(), o.rejectedRewards(), c, r);
                return o.losses().mean();
            });
        }

        @Override public void save(ObjectNode state, Path dir) { iterates.save(state, dir); }

        @Override public void restore(JsonNode state, Path checkpoint) { iterates.restore(state, checkpoint); }
    }
}
