package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.SftExample;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Revision;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
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
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * SCoRe (Kumar et al. 2024, arXiv 2409.12917): two-attempt self-correction trained by RL on the policy's own attempts.
 * Each step reads top to bottom: B prompts × G first attempts y₁ → for each, the second-turn prompt ({@link Revision}:
 * the fixed "check and correct" instruction) and one second attempt y₂ → gold rewards r₁, r₂ → per-row advantages and KL
 * coefficients of the stage → one policy-gradient update on all 2N attempts (REINFORCE with a group baseline: one update
 * per rollout, so the clipped surrogate's ratio is 1 and its gradient is the plain policy gradient).
 *
 * <pre>
 * stage I  (steps 1 … stageOneSteps):  max E[ r(y₂) ] − β₂·KL(π(·|x) ‖ π_ref(·|x)) − β₁·KL on attempt 2
 *          attempt-1 rows: advantage 0, KL coefficient β₂ (strong: attempt 1 stays the start policy's)
 *          attempt-2 rows: GRPO advantage of r₂,  KL coefficient β₁
 * stage II (the remaining steps):      max E[ r(y₁) + r(y₂) + α·(r(y₂) − r(y₁)) ] − β₁·KL on both attempts
 *          attempt-1 rows: GRPO advantage of r₁, attempt-2 rows: GRPO advantage of r₂ + α·(r₂ − r₁); KL coefficient β₁
 * </pre>
 *
 * Shapes: N = B·G first attempts; rows 0 … N − 1 are the first attempts, N … 2N − 1 the second attempts (row N + i revises
 * row i); T completion positions. The reference π_ref is the starting policy. Deviations from the paper: GRPO's group
 * baseline and normalisation over the G attempts of a prompt instead of REINFORCE's; the β₁ KL on attempt 2 in stage I
 * (the paper's stage I objective names only β₂'s term).
 */
public final class Score {
    private Score() {}

    /** The two stages of SCoRe. */
    public enum Stage { ONE, TWO }

    /**
     * SCoRe's settings; defaults in {@link #DEFAULTS}.
     *
     * @param stageOneSteps steps of stage I (the rest of {@code steps} are stage II); 0 = stage II only
     * @param alpha         α, the weight of the self-correction bonus α·(r₂ − r₁) on attempt 2's reward in stage II
     * @param betaFirst     β₂, stage I's strong KL coefficient on attempt 1 (keeps it at the starting policy)
     * @param beta          β₁, the KL coefficient on attempt 2 in both stages and on attempt 1 in stage II
     * @param kl            the per-token KL estimator
     * @param scale         GRPO's scaling of the group-centred rewards
     * @param sftSteps      a supervised warm-up before RL: steps of SFT on two-attempt demonstrations (attempt 1 sampled
     *                      from the starting policy, attempt 2 the gold answer); 0 = none
     * @param sftExamples   demonstrations the warm-up samples
     * @param sftLr         the warm-up's learning rate
     * @param sftBatchSize  the warm-up's batch size
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, int stageOneSteps, double alpha, double betaFirst,
                         double beta, PolicyLoss.KlEstimator kl, Advantages.Scale scale, int sftSteps, int sftExamples, double sftLr, int sftBatchSize) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= 2, "samples-per-prompt must be >= 2 (the baseline compares the attempts of one prompt): %s", rollouts.samplesPerPrompt());
            UserError.check(stageOneSteps >= 0 && stageOneSteps <= run.steps(), "stage-one-steps must be in [0, steps = %s]: %s", run.steps(), stageOneSteps);
            UserError.check(alpha >= 0, "alpha must be >= 0: %s", alpha);
            UserError.check(betaFirst >= 0 && beta >= 0, "beta-first and beta must be >= 0: %s, %s", betaFirst, beta);
            UserError.check(sftSteps >= 0 && sftExamples >= 1 && sftLr > 0 && sftBatchSize >= 1,
                    "sft-steps must be >= 0, sft-examples and sft-batch-size >= 1, sft-lr > 0");
        }

        /** The stage of step {@code step} (from 1). */
        public Stage stage(long step) { return step <= stageOneSteps ? Stage.ONE : Stage.TWO; }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 100, "lr", 1e-4, "warmupSteps", 5,
                "promptsPerStep", 16, "samplesPerPrompt", 4, "stageOneSteps", 50, "alpha", 10.0, "betaFirst", 1.0, "beta", 0.01,
                "kl", PolicyLoss.KlEstimator.K3, "scale", Advantages.Scale.GROUP, "sftSteps", 0, "sftExamples", 2048, "sftLr", 5e-4, "sftBatchSize", 32);
    }

    /**
     * The shaped reward of attempt 2 in stage II: r₂ + α·(r₂ − r₁) (SCoRe, Eq. 4 with the bonus b̂(y₂|y₁, y*) = α·(r̂(y₂, y*) −
     * r̂(y₁, y*))). A fix (0 → 1) earns 1 + α, keeping a right answer 1, breaking one (1 → 0) −α, staying wrong 0.
     */
    public static double[] shaped(double[] r1, double[] r2, double alpha) {
        double[] out = new double[r2.length];
        for (int i = 0; i < r2.length; i++) out[i] = r2[i] + alpha * (r2[i] - r1[i]);
        return out;
    }

    /**
     * Per-row advantages (2N) of one rollout: stage I [0 (N), A(r₂)]; stage II [A(r₁), A(r₂ + α·(r₂ − r₁))], with A GRPO's
     * group-centred (and scaled) rewards over the G attempts of each prompt.
     */
    public static Tensor advantages(Stage stage, double[] r1, double[] r2, double alpha, int groupSize, Advantages.Scale scale) {
        int n = r1.length;
        Tensor first = stage == Stage.ONE ? torch.zeros(new long[]{n}, Torch.opts(ScalarType.Double))
                : Advantages.grpo(Torch.doubles(r1, n), groupSize, scale);
        Tensor second = Advantages.grpo(Torch.doubles(stage == Stage.ONE ? r2 : shaped(r1, r2, alpha), n), groupSize, scale);
        return torch.cat(new TensorVector(first, second), 0).to(ScalarType.Float);
    }

    /** Per-row KL coefficients (2N, 1): attempt-1 rows β₂ in stage I and β₁ in stage II; attempt-2 rows β₁. */
    public static Tensor klCoefficients(Stage stage, int n, double betaFirst, double beta) {
        float[] c = new float[2 * n];
        for (int i = 0; i < 2 * n; i++) c[i] = (float) (i < n && stage == Stage.ONE ? betaFirst : beta);
        return Torch.floats(c, 2 * n, 1);
    }

    /**
     * SCoRe's loss for one rollout: the policy-gradient surrogate on every attempt plus each row's KL coefficient times the
     * per-token KL to the reference, averaged over each row's tokens and then over rows:
     * L = mean_i [ mean_t ( −ρ_{i,t}·A_i + c_i·KL_{i,t} ) ] with ρ = π/π_old (= 1 in value at one update per rollout).
     */
    public static PolicyLoss.Out loss(Tensor logp, Tensor oldLogp, Tensor refLogp, Tensor advantages, Tensor klCoefficients, Tensor mask,
                                      PolicyLoss.KlEstimator kl, int maxNewTokens) {
        Tensor penalty = PolicyLoss.kl(logp, refLogp, kl).mul(klCoefficients);                      // (2N, T)
        return PolicyLoss.clippedSurrogate(logp, oldLogp, advantages, mask, penalty,
                new PolicyLoss.Clip(0.2, 0.2, false, PolicyLoss.Aggregation.SEQUENCE_MEAN, maxNewTokens));
    }

    public record Result(double finalAccuracyFirst, double finalAccuracySecond, java.nio.file.Path lastCheckpoint) {}

    /**
     * Trains {@code policy} with SCoRe against the frozen {@code reference} (the starting policy).
     *
     * @param task decides which attempts are correct (the accuracy and Δ metrics); the reward trains
     */
    public static Result train(LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, Task task, List<Task.Example> prompts, Revision format,
                               Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("score: no prompts");
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("score", cfg.run(), cfg, policy, 1), new Recipe(policy, reference, reward, task, prompts, format, cfg, io));
        return new Result(out.get("accuracy/t1"), out.get("accuracy/t2"), out.lastCheckpoint());
    }

    /** One step of SCoRe, top to bottom. */
    private record Recipe(LlamaModel policy, LlamaModel reference, Rewards.Weighted reward, Task task, List<Task.Example> prompts, Revision format,
                          Config cfg, Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            Stage stage = cfg.stage(s.step);
            int g = cfg.rollouts().samplesPerPrompt();
            // 1. attempt 1: B prompts × G samples; attempt 2: one revision of each, after the instruction
            Rollout first = Rollout.sample(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            Rollout second = revise(first, s.step);
            int n = first.size();
            // 2. gold rewards of both attempts, and the self-correction metrics
            double[] r1 = reward.score(first.samples()).total(), r2 = reward.score(second.samples()).total();
            transitions(first, second, s);
            s.metrics.put("score_stage", stage == Stage.ONE ? 1.0 : 2.0);
            s.metrics.put("reward/t1", mean(r1));
            s.metrics.put("reward/t2", mean(r2));
            if (stage == Stage.TWO) s.metrics.put("reward/shaped", mean(shaped(r1, r2, cfg.alpha())));
            // 3. both attempts as one batch; old and reference log-probs without gradients
            List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
            for (Rollout ro : List.of(first, second))
                for (int i = 0; i < n; i++) { p.add(ro.promptIds().get(i)); c.add(ro.completionIds(i, io.tok().padId)); }
            SeqBatch sb = SeqBatch.of(p, c, io.tok().padId);
            Tensor refLogp;                                                                            // (2N, T)
            try (NoGradGuard ng = new NoGradGuard()) {
                refLogp = Scoring.score(reference, sb, false).tokenLogps();
            }
            // 4. advantages and KL coefficients of the stage
            Tensor adv = advantages(stage, r1, r2, cfg.alpha(), g, cfg.scale());                      // (2N)
            Tensor coef = klCoefficients(stage, n, cfg.betaFirst(), cfg.beta());                      // (2N, 1)
            // 5. one policy-gradient update on both attempts
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(policy, sb, true);
                Tensor logp = sc.tokenLogps(), mask = sc.mask();
                PolicyLoss.Out o = loss(logp, logp.detach(), refLogp, adv, coef, mask, cfg.kl(), cfg.rollouts().maxNewTokens());
                Tensor kl = PolicyLoss.kl(logp.detach(), refLogp, cfg.kl()).mul(mask);
                m.put("kl/t1", Torch.item(kl.narrow(0, 0, n).sum()) / Math.max(1, Torch.item(mask.narrow(0, 0, n).sum())));
                m.put("kl/t2", Torch.item(kl.narrow(0, n, n).sum()) / Math.max(1, Torch.item(mask.narrow(0, n, n).sum())));
                m.put("entropy", Torch.item(sc.entropy().sum()) / Math.max(1, Torch.item(mask.sum())));
                return o.loss();
            });
        }

        /** One second attempt per first attempt, sampled after the second-turn prompt. */
        private Rollout revise(Rollout first, long step) {
            List<int[]> ids = new ArrayList<>();
            for (int i = 0; i < first.size(); i++)
                ids.add(io.tok().encode(format.second(first.examples().get(i / first.groupSize()).prompt(), first.outs().get(i).text()), true));
            RolloutConfig rc = cfg.rollouts();
            List<Completion> outs = Sampler.generate(policy, io.tok(), ids,
                    new SamplingConfig(rc.maxNewTokens(), rc.temperature(), 0, 1.0, cfg.run().seed() * 53 + step + 7_777_777, List.of()));
            return new Rollout(first.examples(), ids, outs, first.groupSize());
        }

        /** accuracy/t1, accuracy/t2, delta/i_to_c, delta/c_to_i of the training attempts. */
        private void transitions(Rollout first, Rollout second, Loop.Step s) {
            int n = first.size();
            double a1 = 0, a2 = 0, ic = 0, ci = 0;
            for (int i = 0; i < n; i++) {
                Task.Example e = first.examples().get(i / first.groupSize());
                boolean c1 = task.correct(e, first.outs().get(i).text()), c2 = task.correct(e, second.outs().get(i).text());
                a1 += c1 ? 1 : 0;
                a2 += c2 ? 1 : 0;
                ic += !c1 && c2 ? 1 : 0;
                ci += c1 && !c2 ? 1 : 0;
            }
            s.metrics.put("accuracy/t1", a1 / n);
            s.metrics.put("accuracy/t2", a2 / n);
            s.metrics.put("delta/i_to_c", ic / n);
            s.metrics.put("delta/c_to_i", ci / n);
        }
    }

    private static double mean(double[] x) { return java.util.Arrays.stream(x).average().orElse(0); }

    /**
     * The warm-up's two-attempt demonstrations: for {@code n} training prompts, attempt 1 sampled from {@code policy} (its
     * own mistakes, at {@code temperature}), and as the trained completion of the second-turn prompt the task's gold answer
     * (the paper's base models already follow the instruction; a model trained only on one-attempt answers does not). Each
     * sample also gives a one-attempt row, prompt → that same sample, so the warm-up keeps attempt 1 where it was (in
     * expectation SFT on the model's own samples leaves it unchanged; without these rows 80 warm-up steps took arithmetic's
     * greedy attempt 1 from 20.5% to 1.0% on seed 0). 2n rows.
     */
    public static List<SftExample> demonstrations(LlamaModel policy, dev.align4j.model.Tokenizer tok, Task task, List<Task.Example> prompts, Revision format,
                                                  int n, int maxNewTokens, double temperature, long seed) {
        return demonstrations(policy, tok, task, prompts, format, n, maxNewTokens, temperature, seed, false);
    }

    /**
     * The same demonstrations with, when {@code critiques}, the gold critique of attempt 1 ({@code Critique: TEXT},
     * {@link dev.align4j.task.Critiques#of}) as the feedback in place of the fixed instruction: the warm-up of a generator
     * that revises after a critic's critique ({@link CriticRl}).
     */
    public static List<SftExample> demonstrations(LlamaModel policy, dev.align4j.model.Tokenizer tok, Task task, List<Task.Example> prompts, Revision format,
                                                  int n, int maxNewTokens, double temperature, long seed, boolean critiques) {
        Random rng = new Random(seed);
        List<Task.Example> picked = new ArrayList<>();
        for (int i = 0; i < n; i++) picked.add(prompts.get(rng.nextInt(prompts.size())));
        List<SftExample> out = new ArrayList<>();
        for (int from = 0; from < n; from += 256) {
            List<Task.Example> chunk = picked.subList(from, Math.min(n, from + 256));
            List<int[]> ids = new ArrayList<>();
            for (Task.Example e : chunk) ids.add(tok.encode(e.prompt(), true));
            List<Completion> a1 = Sampler.generate(policy, tok, ids, new SamplingConfig(maxNewTokens, temperature, 0, 1.0, seed * 31 + from, List.of()));
            for (int i = 0; i < chunk.size(); i++) {
                out.add(new SftExample(chunk.get(i).prompt(), a1.get(i).text()));
                String x = chunk.get(i).prompt(), y1 = a1.get(i).text();
                String second = critiques ? format.next(x, List.of(y1), List.of(Revision.critiqueFeedback(dev.align4j.task.Critiques.of(task, chunk.get(i), y1))))
                        : format.second(x, y1);
                out.add(new SftExample(second, task.demonstrate(chunk.get(i), 0, rng)));
            }
        }
        return out;
    }
}
