package dev.align4j.train;

import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.generate.Completion;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.generate.Sampler;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.*;

/**
 * Critic-free online RL: GRPO and its variants (Dr. GRPO, DAPO's clip-higher / token-level loss / dynamic
 * sampling, GSPO's sequence ratio), RLOO and REINFORCE++. One readable loop per round: sample prompts → G
 * completions each → rewards → (old / reference log-probs) → advantages → μ clipped policy-gradient updates →
 * log. Shapes: N = B·G sequences, T completion positions.
 */
public final class GrpoTrainer {
    private GrpoTrainer() {}

    public record Result(double finalReward, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, Tokenizer tok, Rewards.Weighted reward, List<Task.Example> prompts,
                               GrpoConfig cfg, Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        if (cfg.beta() > 0 && reference == null) throw new IllegalArgumentException("beta > 0 needs a reference model");
        if (prompts.isEmpty()) throw new UserError("grpo: no prompts");
        int g = cfg.groupSize();
        String stage = cfg.stage();
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps() * cfg.updatesPerRollout(), 0.1);
        Path lastCkpt = null;
        double lastReward = Double.NaN;
        StepEnd end = new StepEnd(stage, cfg.steps(), 1, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        policy.requiresGrad(false);
        try (AdamW opt = new AdamW(policy.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, policy, opt);
            long start = resumed.step();
            for (long step = start + 1; step <= cfg.steps(); step++) {
                // 1. rollout: B prompts (a fixed function of the step), G samples each
                Rollout ro = rollout(policy, tok, prompts, cfg.promptsPerStep(), g, cfg.maxNewTokens(), cfg.temperature(), cfg.seed(), step);
                // 2. rewards
                int n = ro.outs.size();
                Rewards.Scored scored = reward.score(ro.samples());
                double[] rewards = scored.total();
                Map<String, Double> m = new LinkedHashMap<>();
                double meanReward = Arrays.stream(rewards).average().orElse(0);
                m.put("reward", meanReward);
                m.put("reward_std", Advantages.std(rewards, 0, n));
                if (scored.components().size() > 1) scored.componentMeans().forEach((k, v) -> m.put("reward/" + k, v));
                int zeroStdGroups = 0;
                List<Integer> keep = new ArrayList<>();
                for (int s = 0; s < n; s += g) {
                    boolean flat = g > 1 && Advantages.zeroStd(rewards, s, g);
                    if (flat) zeroStdGroups++;
                    if (!(flat && cfg.dynamicSampling())) for (int i = s; i < s + g; i++) keep.add(i);
                }
                m.put("frac_reward_zero_std", (double) zeroStdGroups / (n / g));
                m.put("completion_length", ro.meanLength());
                lastReward = meanReward;
                if (!keep.isEmpty()) {
                    // 3. the kept sequences as one right-padded batch; old and reference log-probs without gradients
                    List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
                    for (int i : keep) { p.add(ro.promptIds.get(i)); c.add(ro.completionIds(i, tok)); }
                    try (PointerScope scope = new PointerScope()) {
                        SeqBatch sb = SeqBatch.of(p, c, tok.padId);
                        Tensor oldLogp = null, refLogp = null;
                        try (NoGradGuard ng = new NoGradGuard()) {
                            if (cfg.updatesPerRollout() > 1 || (cfg.estimator().klInReward() && cfg.beta() > 0)) oldLogp = Scoring.score(policy, sb, false).tokenLogps();
                            if (cfg.beta() > 0) refLogp = Scoring.score(reference, sb, false).tokenLogps();
                        }
                        // 4. advantages: one per sequence (GRPO, RLOO) or per token (REINFORCE++)
                        Tensor advT = advantages(cfg, rewards, keep, sb, oldLogp, refLogp, m);
                        policy.requiresGrad(true);
                        double loss = 0, kl = 0, entropy = 0, clip = 0, gradNorm = 0;
                        for (int it = 0; it < cfg.updatesPerRollout(); it++) {
                            try (PointerScope inner = new PointerScope()) {
                                Scoring.Scores sc = Scoring.score(policy, sb, true);
                                Tensor logp = sc.tokenLogps(), mask = sc.mask();
                                Tensor old = oldLogp != null ? oldLogp : logp.detach();
                                Tensor klT = refLogp == null ? null : PolicyLoss.kl(logp, refLogp, cfg.kl());
                                double klCoef = cfg.estimator().klInReward() ? 0 : cfg.beta();
                                PolicyLoss.Out o = PolicyLoss.clippedSurrogate(logp, old, advT, mask, cfg.epsLow(), cfg.epsHigh(),
                                        cfg.sequenceRatio(), klT, klCoef, cfg.aggregation(), cfg.maxNewTokens());
                                o.loss().backward();
                                double tokens = Math.max(1, Torch.item(mask.sum()));
                                loss += Torch.item(o.loss()) / cfg.updatesPerRollout();
                                clip += o.clipFraction() / cfg.updatesPerRollout();
                                entropy += Torch.item(sc.entropy().sum()) / tokens / cfg.updatesPerRollout();
                                if (klT != null) kl += Torch.item(klT.detach().mul(mask).sum()) / tokens / cfg.updatesPerRollout();
                            }
                            gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                            if (!end.skip(step, loss, gradNorm, lastCkpt)) opt.step(schedule.at((step - 1) * cfg.updatesPerRollout() + it + 1));   // a skipped step only drops its gradients
                            opt.zeroGrad();
                        }
                        policy.requiresGrad(false);
                        m.put("loss", loss);
                        m.put("kl", kl);
                        m.put("entropy", entropy);
                        m.put("clip_ratio", clip);
                        m.put("grad_norm", gradNorm);
                    }
                }
                m.put("learning_rate", schedule.at(step * cfg.updatesPerRollout()));
                lastCkpt = end.finish(step, start + 1, m, policy, tok, opt, null, lastCkpt);
            }
        }
        return new Result(lastReward, lastCkpt);
    }

    /** Advantages of the kept sequences as a tensor: (K) for outcome estimators, (K, T) for REINFORCE++. */
    private static Tensor advantages(GrpoConfig cfg, double[] rewards, List<Integer> keep, SeqBatch sb, Tensor oldLogp, Tensor refLogp,
                                     Map<String, Double> m) {
        int k = keep.size();
        if (!cfg.estimator().klInReward()) {
            double[] all = cfg.estimator() == GrpoConfig.Estimator.RLOO ? Advantages.rloo(rewards, cfg.groupSize())
                    : Advantages.grpo(rewards, cfg.groupSize(), cfg.scale());
            float[] a = new float[k];
            for (int j = 0; j < k; j++) a[j] = (float) all[keep.get(j)];
            return Torch.floats(a, k);
        }
        // REINFORCE++: token rewards −β·(log π_old − log π_ref), outcome on the last token, global normalisation
        long t = sb.length() - 1;
        int[] offsets = new int[k], lengths = new int[k];
        List<Integer> rows = new ArrayList<>();
        double[] outcome = new double[k];
        for (int j = 0; j < k; j++) {
            offsets[j] = sb.promptLens()[j] - 1;
            lengths[j] = sb.completionLens()[j];
            outcome[j] = rewards[keep.get(j)];
            rows.add(j);
        }
        double[][] kl = null;
        if (refLogp != null) {
            double[][] old = TokenRows.rows(oldLogp, offsets, lengths), ref = TokenRows.rows(refLogp, offsets, lengths);
            kl = new double[k][];
            double klSum = 0;
            long klCount = 0;
            for (int j = 0; j < k; j++) {
                kl[j] = new double[lengths[j]];
                for (int u = 0; u < lengths[j]; u++) { kl[j][u] = old[j][u] - ref[j][u]; klSum += kl[j][u]; klCount++; }
            }
            m.put("kl_in_reward", klSum / Math.max(1, klCount));
        }
        int groups = cfg.estimator() == GrpoConfig.Estimator.REINFORCE_PP_BASELINE ? cfg.groupSize() : 1;
        if (groups > 1 && k != rewards.length) groups = 1;     // dynamic sampling broke the groups apart: no baseline
        return TokenRows.dense(Advantages.reinforcePlusPlus(outcome, kl, lengths, cfg.beta(), groups), rows, offsets, lengths, t);
    }

    /** One round of sampling: the prompts, their token ids (repeated G times) and the completions. */
    record Rollout(List<Task.Example> examples, List<int[]> promptIds, List<Completion> outs, int groupSize) {
        List<RewardFunction.Sample> samples() {
            List<RewardFunction.Sample> s = new ArrayList<>();
            for (int i = 0; i < outs.size(); i++)
                s.add(new RewardFunction.Sample(examples.get(i / groupSize), outs.get(i).text(), outs.get(i).tokens().length,
                        outs.get(i).finishReason().equals("length")));
            return s;
        }

        double meanLength() {
            return outs.stream().mapToInt(o -> o.tokens().length).average().orElse(0);
        }

        /** Completion tokens of sample {@code i} as scored: an empty completion is scored as one pad token. */
        int[] completionIds(int i, Tokenizer tok) {
            int[] t = outs.get(i).tokens();
            return t.length == 0 ? new int[]{tok.padId} : t;
        }
    }

    /** Samples {@code b} prompts (a pure function of seed and step) and {@code g} completions of each. */
    static Rollout rollout(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, int b, int g, int maxNewTokens,
                           double temperature, long seed, long step) {
        Random pick = new Random(seed * 7_919 + step);
        List<Task.Example> batch = new ArrayList<>();
        List<int[]> promptIds = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            Task.Example e = prompts.get(pick.nextInt(prompts.size()));
            batch.add(e);
            int[] ids = tok.encode(e.prompt(), true);
            for (int k = 0; k < g; k++) promptIds.add(ids);
        }
        List<Completion> outs = Sampler.generate(policy, tok, promptIds,
                new SamplingConfig(maxNewTokens, temperature, 0, 1.0, seed * 31 + step, List.of()));
        return new Rollout(batch, promptIds, outs, g);
    }
}
