package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.reward.Rewards;
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
 * Online DPO: each step samples G completions of every prompt from the current policy, ranks them with the reward
 * (a reward model, a verifier or the task's gold reward), pairs the best with the worst, and takes one DPO-family
 * step on the pairs that are not tied. The reference is the frozen starting policy. Shapes: P untied pairs.
 */
public final class OnlineDpo {
    private OnlineDpo() {}

    /**
     * Online DPO settings (Guo et al. 2024, "Direct language model alignment from online AI feedback"); defaults in
     * {@link Builder}. Each prompt gets {@code rollouts.samplesPerPrompt} completions (2 by default); the best and the
     * worst form its pair.
     *
     * @param loss           a DPO-family loss with a reference model (sigmoid, ipo, hinge, …)
     * @param beta           the loss's β
     * @param labelSmoothing cDPO / robust ε
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, PreferenceLoss.Variant loss, double beta,
                            double labelSmoothing) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= 2, "online DPO compares samples of one prompt: samples-per-prompt must be >= 2, not %s", rollouts.samplesPerPrompt());
            UserError.check(!loss.referenceFree() && loss != PreferenceLoss.Variant.BCO_PAIR && !loss.needsAdvantages(),
                    "online DPO takes a loss with a reference model and no running state (not %s)", loss.name().toLowerCase());
            UserError.check(beta > 0, "beta must be > 0: %s", beta);
            UserError.check(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5)");
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 100, "lr", 5e-5, "warmupSteps", 5, "promptsPerStep", 32, "samplesPerPrompt", 2,
                "loss", PreferenceLoss.Variant.SIGMOID, "beta", 0.1, "labelSmoothing", 0.0);
    }

    public record Result(double finalReward, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("online-dpo: no prompts");
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("online-dpo", cfg.run(), cfg, policy, 1), new Recipe(policy, reference, reward, prompts, cfg, io));
        return new Result(out.get("reward"), out.lastCheckpoint());
    }

    /** One step of the method, top to bottom. */
    private record Recipe(LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg,
                          Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 1. G samples per prompt, scored
            Rollout ro = Rollout.sample(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            double[] r = ro.score(reward, s.metrics);
            int g = cfg.rollouts().samplesPerPrompt(), padId = io.tok().padId;
            // 2. per prompt, the best sample is chosen and the worst rejected, unless they tie
            List<Integer> chosen = new ArrayList<>(), rejected = new ArrayList<>();
            for (int start = 0; start < ro.size(); start += g) {
                int best = start, worst = start;
                for (int i = start + 1; i < start + g; i++) {
                    if (r[i] > r[best]) best = i;
                    if (r[i] < r[worst]) worst = i;
                }
                if (r[best] == r[worst]) continue;
                chosen.add(best);
                rejected.add(worst);
            }
            s.metrics.put("frac_ties", 1.0 - (double) chosen.size() / cfg.rollouts().promptsPerStep());
            if (chosen.isEmpty()) return;
            // 3. one DPO step on the pairs: rows 0..P−1 chosen, P..2P−1 rejected
            int p = chosen.size();
            boolean norm = cfg.loss().lengthNormalized();                          // SimPO-style mean log-probs, else sums
            List<Integer> rows = new ArrayList<>(chosen);
            rows.addAll(rejected);
            SeqBatch sb = ro.batch(rows, padId);
            Tensor refC, refR;
            try (NoGradGuard ng = new NoGradGuard()) {
                Scoring.Scores rs = Scoring.score(reference, sb, false);
                Tensor x = norm ? rs.mean() : rs.sum();
                refC = x.narrow(0, 0, p).clone();
                refR = x.narrow(0, p, p).clone();
            }
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(policy, sb, false);
                Tensor x = norm ? sc.mean() : sc.sum();
                PreferenceLoss.Out o = PreferenceLoss.compute(cfg.loss(), x.narrow(0, 0, p), x.narrow(0, p, p), refC, refR, cfg.beta(), cfg.labelSmoothing(), 0);
                Pairs.rewardMetrics(m, o.chosenRewards(), o.rejectedRewards(), sc.sum().narrow(0, 0, p), sc.sum().narrow(0, p, p));
                return o.losses().mean();
            });
        }
    }
}
