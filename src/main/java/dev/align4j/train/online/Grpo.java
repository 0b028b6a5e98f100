package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Critic-free online RL: GRPO and its variants (Dr. GRPO, DAPO's clip-higher / token-level loss / dynamic sampling,
 * GSPO's sequence ratio), RLOO and REINFORCE++. Each step reads top to bottom: sample B prompts × G completions →
 * rewards → old and reference log-probs (no gradients) → advantages ({@link Advantages.Estimator}) → μ clipped
 * policy-gradient updates. Shapes: N = B·G sequences, K kept, T completion positions.
 */
public final class Grpo {
    private Grpo() {}

    /**
     * GRPO-family settings (GRPO, Dr. GRPO, DAPO, GSPO, RLOO, REINFORCE++); defaults in {@link #DEFAULTS}. The group size G
     * is {@code rollouts.samplesPerPrompt}.
     *
     * @param updatesPerRollout optimizer steps on each rollout batch (μ); above 1 the old-policy log-probs are kept for the ratio
     * @param epsLow            lower clip ε: the ratio is clipped to [1 − ε_low, 1 + ε_high]
     * @param epsHigh           upper clip ε (DAPO's clip-higher: ε_high &gt; ε_low)
     * @param beta              KL coefficient (in the loss; in the per-token reward for REINFORCE++); 0 skips the reference model
     * @param kl                KL estimator (k3 in GRPO)
     * @param estimator         GRPO, RLOO, REINFORCE_PP or REINFORCE_PP_BASELINE (see {@link Advantages.Estimator})
     * @param scale             GROUP, BATCH or NONE (Dr. GRPO) scaling of GRPO advantages
     * @param aggregation       SEQUENCE_MEAN (GRPO), TOKEN_MEAN (DAPO) or CONSTANT (Dr. GRPO)
     * @param sequenceRatio     GSPO's sequence-level importance ratio
     * @param dynamicSampling   drop groups whose rewards are all equal (DAPO)
     * @param objective         the per-token objective: CLIP (PPO's clipped surrogate), CISPO, SAPO or VESPO; TRL's loss_type is
     *                          objective + aggregation (docs/papers.md, "Parity with TRL")
     * @param sapoTauPos        SAPO's gate temperature for positive advantages
     * @param sapoTauNeg        SAPO's gate temperature for the others
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, int updatesPerRollout, double epsLow, double epsHigh,
                            double beta, PolicyLoss.KlEstimator kl, Advantages.Estimator estimator, Advantages.Scale scale,
                            PolicyLoss.Aggregation aggregation, boolean sequenceRatio, boolean dynamicSampling, PolicyLoss.Objective objective,
                            double sapoTauPos, double sapoTauNeg) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= 2 || (estimator == Advantages.Estimator.REINFORCE_PP && rollouts.samplesPerPrompt() >= 1),
                    "group-size must be >= 2 (advantages compare completions of one prompt; only reinforce++ works with 1): %s", rollouts.samplesPerPrompt());
            UserError.check(updatesPerRollout >= 1, "updates-per-rollout must be >= 1: %s", updatesPerRollout);
            UserError.check(epsLow >= 0 && epsLow < 1 && epsHigh >= 0, "clip epsilons must satisfy 0 <= eps-low < 1 and eps-high >= 0");
            UserError.check(beta >= 0, "beta must be >= 0: %s", beta);
            UserError.check(sapoTauPos > 0 && sapoTauNeg > 0, "sapo temperatures must be > 0");
            UserError.check(!(sequenceRatio && estimator.sequenceLevel), "--sequence-ratio (GSPO's mean ratio) and the %s estimator's summed ratio exclude each other",
                    estimator.name().toLowerCase());
        }

        /** The metrics stage and checkpoint trainer name: grpo, rloo or reinforce++. */
        public String stage() { return estimator.stage; }

        /** The clipped surrogate's settings. */
        public PolicyLoss.Clip clip() {
            PolicyLoss.Ratio ratio = estimator.sequenceLevel ? PolicyLoss.Ratio.SEQUENCE_SUM : sequenceRatio ? PolicyLoss.Ratio.SEQUENCE_MEAN : PolicyLoss.Ratio.TOKEN;
            return new PolicyLoss.Clip(epsLow, epsHigh, ratio, aggregation, rollouts.maxNewTokens(), objective, sapoTauPos, sapoTauNeg);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 100, "lr", 1e-4, "warmupSteps", 5, "promptsPerStep", 16, "samplesPerPrompt", 8,
                "updatesPerRollout", 1, "epsLow", 0.2, "epsHigh", 0.2, "beta", 0.0, "kl", PolicyLoss.KlEstimator.K3, "estimator", Advantages.Estimator.GRPO,
                "scale", Advantages.Scale.GROUP, "aggregation", PolicyLoss.Aggregation.SEQUENCE_MEAN, "sequenceRatio", false, "dynamicSampling", false,
                "objective", PolicyLoss.Objective.CLIP, "sapoTauPos", 1.0, "sapoTauNeg", 1.05);
    }

    public record Result(double finalReward, Path lastCheckpoint) {}

    /** @param reference the frozen reference for the KL term; may be null when {@code cfg.beta() == 0} */
    public static Result train(LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg, Session io) {
        return train(cfg.stage(), policy, reference, reward, prompts, cfg, io);
    }

    /**
     * The same recipe under another name for metrics and checkpoints: SPO ({@code spo}) is this loop with the reward a
     * sample's win rate against its group under a judge ({@link dev.align4j.reward.Judges#winRateReward}).
     */
    public static Result train(String stage, LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg, Session io) {
        return train(stage, policy, reference, reward, null, prompts, cfg, io);
    }

    /**
     * With {@code constraints} (null: none), the reward is the Lagrangian r_obj + Σ_c μ_c·s_c·r_c of {@link Constraints}, and
     * the multipliers take a dual step after every rollout; they go through checkpoints.
     */
    public static Result train(String stage, LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, Constraints constraints, List<Task.Example> prompts,
                               Config cfg, Session io) {
        if (constraints != null) constraints.check(reward);
        if (cfg.beta() > 0 && reference == null) throw new IllegalArgumentException("beta > 0 needs a reference model");
        if (prompts.isEmpty()) throw new UserError(stage + ": no prompts");
        UserError.check(!(cfg.dynamicSampling() && Distributed.get().isDistributed()),
                "%s: --dynamic-sampling drops a different number of rows on each rank and is not supported under launch yet", stage);
        Loop.Plan plan = new Loop.Plan(stage, cfg.run(), cfg, List.of(Loop.Group.of(policy, cfg.run().lr())), cfg.updatesPerRollout(), 1);
        Loop.Outcome out = Loop.run(io, plan, new Recipe(policy, reference, reward, constraints, prompts, cfg, io));
        return new Result(out.get("reward"), out.lastCheckpoint());
    }

    /** One step of the method, top to bottom. */
    private record Recipe(LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, Constraints constraints, List<Task.Example> prompts, Config cfg,
                          Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 1. rollout: B prompts (a fixed function of the step), G samples each, and their rewards; under launch, this rank's
            //    share of whole groups, with the rewards of every rank gathered for batch statistics; with constraints, the
            //    Lagrangian reward at the current multipliers, which then take their dual step
            Rollout ro = Rollout.sampleShard(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            double[] rewards;
            if (constraints == null) rewards = ro.score(reward, s.metrics);
            else {
                rewards = constraints.rewards(reward, ro.scoreAll(reward, s.metrics), s.metrics);
                constraints.update(s.metrics);
            }
            double[] all = Rollout.gatherRewards(rewards, s.metrics);
            int g = cfg.rollouts().samplesPerPrompt();
            Advantages.Estimator estimator = cfg.estimator();
            // 2. groups whose rewards are all equal carry no signal; dynamic sampling (DAPO) drops them
            List<Integer> keep = new ArrayList<>();
            int flat = 0;
            for (int start = 0; start < ro.size(); start += g) {
                boolean zeroStd = g > 1 && Advantages.zeroStd(rewards, start, g);
                if (zeroStd) flat++;
                if (!(zeroStd && cfg.dynamicSampling())) for (int i = start; i < start + g; i++) keep.add(i);
            }
            s.metrics.put("frac_reward_zero_std", (double) flat / (ro.size() / g));
            if (keep.isEmpty()) return;
            // 3. the kept sequences as one batch; old and reference log-probs without gradients
            SeqBatch sb = ro.batch(keep, io.tok().padId);
            Tensor oldLogp = null, refLogp = null, mask = Scoring.mask(sb);                   // (K, T)
            try (NoGradGuard ng = new NoGradGuard()) {
                if (cfg.updatesPerRollout() > 1 || (estimator.klInReward && cfg.beta() > 0)) oldLogp = Scoring.score(policy, sb, false).tokenLogps();
                if (cfg.beta() > 0) refLogp = Scoring.score(reference, sb, false).tokenLogps();
            }
            // 4. advantages: one per sequence (GRPO, RLOO) or per token (REINFORCE++)
            Tensor klInReward = estimator.klInReward && refLogp != null ? oldLogp.sub(refLogp) : null;     // (K, T)
            if (klInReward != null) s.metrics.put("kl_in_reward", Torch.item(klInReward.mul(mask).sum()) / Math.max(1, Torch.item(mask.sum())));
            //    (groups are rank-local; GRPO's batch scaling reads every rank's rewards: this shard's rows start at `offset`)
            boolean global = all != rewards && estimator == Advantages.Estimator.GRPO && cfg.scale() == Advantages.Scale.BATCH;
            long offset = global ? (long) Distributed.get().rank * rewards.length : 0;
            double[] r = global ? all : rewards;
            Tensor adv = estimator.advantages(new Advantages.Input(Torch.doubles(r, r.length), g, cfg.scale(),
                    Torch.longs(keep.stream().mapToLong(i -> i + offset).toArray(), keep.size()), mask, klInReward, cfg.beta()));
            // 5. μ clipped policy-gradient updates on this rollout
            Tensor old = oldLogp;
            Tensor ref = refLogp;
            for (int it = 0; it < cfg.updatesPerRollout(); it++) {
                s.update(1, (micro, m) -> {
                    Scoring.Scores sc = Scoring.score(policy, sb, true);
                    Tensor logp = sc.tokenLogps();
                    Tensor kl = ref == null ? null : PolicyLoss.kl(logp, ref, cfg.kl());
                    Tensor penalty = kl == null || estimator.klInReward || cfg.beta() == 0 ? null : kl.mul(Torch.s(cfg.beta()));
                    PolicyLoss.Out o = PolicyLoss.clippedSurrogate(logp, old != null ? old : logp.detach(), adv, sc.mask(), penalty, cfg.clip());
                    double tokens = Math.max(1, Torch.item(sc.mask().sum()));
                    m.put("kl", kl == null ? 0 : Torch.item(kl.detach().mul(sc.mask()).sum()) / tokens);
                    m.put("entropy", Torch.item(sc.entropy().sum()) / tokens);
                    m.put("clip_ratio", o.clipFraction());
                    return cfg.aggregation() == PolicyLoss.Aggregation.TOKEN_MEAN ? Distributed.get().asGlobalMean(o.loss(), tokens) : o.loss();   // a mean over every rank's tokens
                });
            }
        }

        @Override public void save(com.fasterxml.jackson.databind.node.ObjectNode state, Path dir) { if (constraints != null) constraints.save(state); }

        @Override public void restore(com.fasterxml.jackson.databind.JsonNode state, Path checkpoint) { if (constraints != null) constraints.restore(state, checkpoint); }
    }
}
