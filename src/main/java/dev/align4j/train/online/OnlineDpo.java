package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.ExplorationBonus;
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
 * step on the pairs that are not tied. The reference is the frozen starting policy, or with {@code iterations} &gt; 1 the
 * previous iterate, moved to the policy at the start of each round (iterative DPO: GSHF, Xiong et al. 2024; RLHF Workflow,
 * Dong et al. 2024), optionally extrapolated (APO, {@link Iterates}).
 *
 * <p>Exploration ({@link ExplorationBonus}: XPO, SELM, VPO): each prompt also gets one sample ỹ from the reference; it joins
 * the prompt's candidates for the pair (XPO's pairing of a policy sample with a reference sample when G = 1) and the
 * exploration term on log π(ỹ) is added to the loss. Shapes: B prompts, P untied pairs.
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
     * @param exploration    NONE, XPO, SELM or VPO: one reference sample per prompt and its term in the loss
     * @param alpha          the exploration term's coefficient α
     * @param vpoSign        VPO's sign: +1 optimism (online), −1 pessimism
     * @param iterations     rounds; with more than 1 the reference moves to the policy at the start of each (steps / T per round)
     * @param extrapolation  APO's α: each round after the first starts from θ_t + α(θ_t − θ_{t−1}) (needs iterations &gt; 1)
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, PreferenceLoss.Variant loss, double beta,
                            double labelSmoothing, ExplorationBonus.Kind exploration, double alpha, int vpoSign, int iterations, double extrapolation) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= (exploration == ExplorationBonus.Kind.NONE ? 2 : 1),
                    "online DPO compares samples of one prompt: samples-per-prompt must be >= 2 (>= 1 with --exploration, which adds a reference sample), not %s",
                    rollouts.samplesPerPrompt());
            UserError.check(!loss.referenceFree() && loss != PreferenceLoss.Variant.BCO_PAIR && !loss.needsAdvantages(),
                    "online DPO takes a loss with a reference model and no running state (not %s)", loss.name().toLowerCase());
            UserError.check(beta > 0, "beta must be > 0: %s", beta);
            UserError.check(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5)");
            UserError.check(alpha >= 0, "alpha (the exploration coefficient) must be >= 0: %s", alpha);
            UserError.check(vpoSign == 1 || vpoSign == -1, "vpo-sign must be 1 (optimism) or -1 (pessimism): %s", vpoSign);
            UserError.check(iterations >= 1 && iterations <= run.steps(), "iterations must be in [1, steps = %s]: %s", run.steps(), iterations);
            UserError.check(extrapolation >= 0 && extrapolation < 1, "extrapolation (APO's alpha) must be in [0, 1): %s", extrapolation);
            UserError.check(extrapolation == 0 || iterations > 1, "extrapolation acts between rounds: give --iterations >= 2 with --extrapolation %s", extrapolation);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 100, "lr", 5e-5, "warmupSteps", 5, "promptsPerStep", 32, "samplesPerPrompt", 2,
                "loss", PreferenceLoss.Variant.SIGMOID, "beta", 0.1, "labelSmoothing", 0.0,
                "exploration", ExplorationBonus.Kind.NONE, "alpha", 0.05, "vpoSign", 1, "iterations", 1, "extrapolation", 0.0);
    }

    public record Result(double finalReward, Path lastCheckpoint) {}

    /**
     * @param reference a copy of the starting policy: frozen, or overwritten with the previous iterate at each round
     * @param previous  a third copy for APO's θ_{t−1} when {@code cfg.extrapolation() > 0}, else null
     */
    public static Result train(LlamaModel policy, LlamaModel reference, LlamaModel previous, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("online-dpo: no prompts");
        Iterates it = cfg.iterations() > 1 ? new Iterates(policy, reference, previous, cfg.run().steps(), cfg.iterations(), cfg.extrapolation()) : null;
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("online-dpo", cfg.run(), cfg, policy, 1), new Recipe(policy, reference, it, reward, prompts, cfg, io));
        return new Result(out.get("reward"), out.lastCheckpoint());
    }

    public static Result train(LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg, Session io) {
        return train(policy, reference, null, reward, prompts, cfg, io);
    }

    /** One step of the method, top to bottom. */
    private record Recipe(LlamaModel policy, LlamaModel reference, Iterates iterates, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg,
                          Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 0. iterative DPO: a new round moves the reference to the (extrapolated) policy
            if (iterates != null) {
                iterates.begin(s.step);
                s.metrics.put("iteration", (double) iterates.iteration(s.step));
            }
            // 1. G samples per prompt from the policy (+ one from the reference when exploring), scored; under launch, this
            //    rank's share of the prompts (equal shares), each pair's loss and metrics weighted into the mean over every rank's pairs
            boolean explore = cfg.exploration() != ExplorationBonus.Kind.NONE;
            Distributed dist = Distributed.get();
            Rollout own = Rollout.sampleShard(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            Rollout ro = explore ? own.append(Rollout.sampleOnePerPromptShard(reference, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step)) : own;
            s.metrics.put("distinct_completions", ro.distinctPerPrompt());            // among the candidates of a prompt
            double[] r = ro.score(reward, s.metrics);
            Rollout.gatherRewards(r, s.metrics);                                      // reward_std of the whole rollout
            int g = ro.groupSize(), padId = io.tok().padId;
            if (explore) s.metrics.put("reward", policyMean(r, g));             // the policy's own samples, as without exploration
            // 2. per prompt, the best candidate is chosen and the worst rejected, unless they tie
            List<Integer> chosen = new ArrayList<>(), rejected = new ArrayList<>(), refSamples = new ArrayList<>();
            for (int start = 0; start < ro.size(); start += g) {
                if (explore) refSamples.add(start + g - 1);
                int best = start, worst = start;
                for (int i = start + 1; i < start + g; i++) {
                    if (r[i] > r[best]) best = i;
                    if (r[i] < r[worst]) worst = i;
                }
                if (r[best] == r[worst]) continue;
                chosen.add(best);
                rejected.add(worst);
            }
            s.metrics.put("frac_ties", 1.0 - (double) chosen.size() / ro.examples().size());
            int p = chosen.size(), nb = refSamples.size();
            double allPairs = dist.sum((double) p);                                   // p in one process
            double pairWeight = allPairs > 0 ? dist.world * p / allPairs : 0;         // W·p_r/P: see Distributed.meanWeight
            if (allPairs == 0 && !explore) return;                                    // no rank has a pair: no step anywhere
            // 3. one DPO step on the pairs: rows 0..P−1 chosen, P..2P−1 rejected, then the B reference samples when exploring
            //    (a rank without a pair while others have some still steps, with a zero loss, so the all-reduce meets)
            boolean norm = cfg.loss().lengthNormalized();                          // SimPO-style mean log-probs, else sums
            List<Integer> rows = new ArrayList<>(chosen);
            rows.addAll(rejected);
            rows.addAll(refSamples);
            if (rows.isEmpty()) rows.add(0);
            SeqBatch sb = ro.batch(rows, padId);
            Tensor refX, refSum;
            try (NoGradGuard ng = new NoGradGuard()) {
                Scoring.Scores rs = Scoring.score(reference, sb, false);
                refX = (norm ? rs.mean() : rs.sum()).clone();                       // (2P + B)
                refSum = rs.sum().clone();
            }
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(policy, sb, false);
                Tensor x = norm ? sc.mean() : sc.sum();
                Tensor loss = null;
                if (p > 0) {
                    PreferenceLoss.Out o = PreferenceLoss.compute(cfg.loss(), x.narrow(0, 0, p), x.narrow(0, p, p), refX.narrow(0, 0, p), refX.narrow(0, p, p),
                            cfg.beta(), cfg.labelSmoothing(), 0);
                    Pairs.rewardMetrics(m, o.chosenRewards(), o.rejectedRewards(), sc.sum().narrow(0, 0, p), sc.sum().narrow(0, p, p));
                    loss = o.losses().mean();
                    m.put("loss/dpo", Torch.item(loss.detach()));
                    if (pairWeight != 1) m.replaceAll((k, v) -> PAIR_METRICS.contains(k) ? v * pairWeight : v);
                    loss = loss.mul(Torch.s(pairWeight));
                } else if (dist.isDistributed()) {
                    for (String k : PAIR_METRICS) m.put(k, 0.0);                       // the same names on every rank, weight 0
                    loss = x.sum().mul(Torch.s(0.0));                                  // every parameter gets a (zero) gradient
                }
                if (explore) {
                    Tensor lp = sc.sum().narrow(0, 2 * p, nb);                       // (B) log π(ỹ), with gradients
                    Tensor bonus = ExplorationBonus.losses(cfg.exploration(), lp, refSum.narrow(0, 2 * p, nb), cfg.alpha(), cfg.beta(), cfg.vpoSign()).mean();
                    m.put("loss/exploration", Torch.item(bonus.detach()));
                    m.put("logps/reference_samples", Torch.item(lp.detach().mean()));
                    loss = loss == null ? bonus : loss.add(bonus);
                }
                return loss;
            });
        }

        @Override public void save(ObjectNode state, Path dir) { if (iterates != null) iterates.save(state, dir); }

        @Override public void restore(JsonNode state, Path checkpoint) { if (iterates != null) iterates.restore(state, checkpoint); }
    }

    /** The metrics of the pairs, weighted by the rank's share of pairs under launch. */
    static final List<String> PAIR_METRICS = List.of("rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
            "logps/rejected", "loss/dpo");

    /** The mean reward of the first G − 1 rows of each group of {@code g} (the policy's samples; the last is the reference's). */
    static double policyMean(double[] r, int g) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < r.length; i++) if (i % g != g - 1) { sum += r[i]; n++; }
        return sum / Math.max(1, n);
    }
}
