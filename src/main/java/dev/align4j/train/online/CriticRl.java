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
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Critiques;
import dev.align4j.task.Task;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A critic trained so that a fixed generator's revision succeeds (CTRL, Xie et al. 2025, arXiv 2502.03492; RL4F, Akyürek
 * et al. 2023): the critic is the policy, its action is a one-line critique of the generator's attempt, and its reward is
 * the gold reward of the revision the generator writes after reading it. Each step reads top to bottom:
 *
 * <pre>
 * 1. B prompts; the fixed generator's attempt y₁ of each (sampled)
 * 2. G critiques c of each attempt from the critic:  c ~ π_θ(· | x, y₁, "Critique:")
 * 3. the generator's revision after each critique:   y₂ = generator(x, y₁, "Critique: c")   (greedy by default)
 * 4. reward r(c) = gold reward of y₂; GRPO advantage A = (r − mean_G r) / std_G r over the G critiques of one attempt
 * 5. one policy-gradient update of the critic: L = mean_i mean_t ( −A_i·π/π_old + β·KL_t(π_θ ‖ π_ref) )
 * </pre>
 *
 * Shapes: B attempts, N = B·G critiques (row i critiques attempt i / G), T critique positions. One update per rollout, so
 * the ratio is 1 in value and the surrogate's gradient is the plain policy gradient. π_ref is the critic's start (after
 * its supervised warm-up on gold critiques, CTRL's stage 1). The generator never changes: {@link Generator} abstracts it
 * (a model in the CLI, a stub in tests). Deviation from CTRL: a binary pass/fail reward there, the task's gold reward
 * (partial credit on some tasks) here; both papers sample revisions, align4j revises greedily by default so a critique's
 * reward is not a coin flip.
 */
public final class CriticRl {
    private CriticRl() {}

    /** The fixed generator: writes attempt 1 and revises an attempt after a critique. */
    public interface Generator {
        /** Attempt 1 of each prompt, sampled with {@code seed}. */
        List<String> attempt(List<String> prompts, long seed);

        /** The revision of {@code attempts[i]} after {@code critiques[i]}. */
        List<String> revise(List<String> prompts, List<String> attempts, List<String> critiques, long seed);
    }

    /**
     * A generator model in the {@link Revision} format: attempt 1 at {@code attemptTemperature}, the revision (after
     * {@code Critique: TEXT}) at {@code revisionTemperature} (0 = greedy), both within {@code maxNewTokens}.
     */
    public static Generator modelGenerator(LlamaModel model, Tokenizer tok, Revision format, int maxNewTokens, double attemptTemperature,
                                           double revisionTemperature) {
        return new Generator() {
            public List<String> attempt(List<String> prompts, long seed) {
                List<int[]> ids = new ArrayList<>();
                for (String p : prompts) ids.add(tok.encode(p, true));
                return texts(Sampler.generate(model, tok, ids, new SamplingConfig(maxNewTokens, attemptTemperature, 0, 1.0, seed, List.of())));
            }

            public List<String> revise(List<String> prompts, List<String> attempts, List<String> critiques, long seed) {
                List<int[]> ids = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++)
                    ids.add(tok.encode(format.next(prompts.get(i), List.of(attempts.get(i)), List.of(Revision.critiqueFeedback(critiques.get(i)))), true));
                return texts(Sampler.generate(model, tok, ids, new SamplingConfig(maxNewTokens, revisionTemperature, 0, 1.0, seed, List.of())));
            }
        };
    }

    private static List<String> texts(List<Completion> cs) {
        List<String> out = new ArrayList<>();
        for (Completion c : cs) out.add(c.text());
        return out;
    }

    /**
     * Settings. {@code rollouts}: B attempts per step ({@code promptsPerStep}), G critiques of each ({@code samplesPerPrompt}),
     * the critique budget ({@code maxNewTokens}) and the critiques' sampling temperature.
     *
     * @param beta                KL coefficient to the critic's start
     * @param kl                  the per-token KL estimator
     * @param scale               GRPO's scaling of the group-centred rewards
     * @param answerTokens        the generator's budget for an attempt and a revision (0 = the task's)
     * @param attemptTemperature  the generator's sampling temperature for attempt 1 (&gt; 0: varied attempts to critique)
     * @param revisionTemperature the generator's temperature for the revision (0 = greedy)
     * @param sftSteps            the critic's warm-up: SFT steps on gold critiques of the generator's attempts (CTRL's stage 1); 0 = none
     * @param sftExamples         critiques the critic's warm-up samples
     * @param generatorSftSteps   the generator's warm-up: SFT steps on revisions after gold critiques (a generator that never saw
     *                            the format); 0 = none
     * @param generatorSftExamples demonstrations the generator's warm-up samples
     * @param sftLr               both warm-ups' learning rate
     * @param sftBatchSize        both warm-ups' batch size
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, double beta, PolicyLoss.KlEstimator kl,
                         Advantages.Scale scale, int answerTokens, double attemptTemperature, double revisionTemperature, int sftSteps, int sftExamples,
                         int generatorSftSteps, int generatorSftExamples, double sftLr, int sftBatchSize) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= 2, "samples-per-prompt (critiques per attempt) must be >= 2: the baseline compares critiques of one attempt: %s",
                    rollouts.samplesPerPrompt());
            UserError.check(beta >= 0, "beta must be >= 0: %s", beta);
            UserError.check(answerTokens >= 0, "answer-tokens must be >= 0 (0 = the task's budget): %s", answerTokens);
            UserError.check(attemptTemperature > 0 && revisionTemperature >= 0, "attempt-temperature must be > 0 and revision-temperature >= 0 (0 = greedy)");
            UserError.check(sftSteps >= 0 && generatorSftSteps >= 0 && sftExamples >= 1 && generatorSftExamples >= 1 && sftLr > 0 && sftBatchSize >= 1,
                    "sft-steps and generator-sft-steps must be >= 0, sft-examples, generator-sft-examples and sft-batch-size >= 1, sft-lr > 0");
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 100, "lr", 1e-4, "warmupSteps", 5,
                "promptsPerStep", 16, "samplesPerPrompt", 4, "maxNewTokens", 24, "beta", 0.05, "kl", PolicyLoss.KlEstimator.K3,
                "scale", Advantages.Scale.GROUP, "answerTokens", 0, "attemptTemperature", 1.0, "revisionTemperature", 0.0, "sftSteps", 0,
                "sftExamples", 2048, "generatorSftSteps", 0, "generatorSftExamples", 2048, "sftLr", 5e-4, "sftBatchSize", 32);
    }

    public record Result(double finalRevisionReward, Path lastCheckpoint) {}

    /**
     * Trains {@code critic} in place against its frozen start {@code reference} (null when beta = 0).
     *
     * @param reward the gold reward of a revision (what trains)
     * @param task   decides which attempts and revisions are correct (the accuracy and Δ metrics)
     */
    public static Result train(LlamaModel critic, LlamaModel reference, Generator generator, Rewards.Weighted reward, Task task,
                               List<Task.Example> prompts, Revision format, Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("critic: no prompts");
        if (cfg.beta() > 0 && reference == null) throw new IllegalArgumentException("beta > 0 needs a reference model");
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("critic", cfg.run(), cfg, critic, 1), new Recipe(critic, reference, generator, reward, task, prompts, format, cfg, io));
        return new Result(out.get("reward"), out.lastCheckpoint());
    }

    /** One step of critic RL, top to bottom. */
    private record Recipe(LlamaModel critic, LlamaModel reference, Generator generator, Rewards.Weighted reward, Task task, List<Task.Example> prompts,
                          Revision format, Config cfg, Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            int b = cfg.rollouts().promptsPerStep(), g = cfg.rollouts().samplesPerPrompt(), n = b * g;
            long seed = cfg.run().seed();
            // 1. B prompts (a pure function of seed and step) and the generator's attempt 1 of each
            List<Task.Example> batch = Rollout.drawPrompts(prompts, b, seed, s.step);
            List<String> texts = batch.stream().map(Task.Example::prompt).toList();
            List<String> attempts = generator.attempt(texts, seed * 31 + s.step);
            // 2. G critiques of each attempt
            List<int[]> criticIds = new ArrayList<>();
            for (int i = 0; i < b; i++) {
                int[] ids = io.tok().encode(format.criticPrompt(texts.get(i), attempts.get(i)), true);
                for (int k = 0; k < g; k++) criticIds.add(ids);
            }
            List<Completion> outs = Sampler.generate(critic, io.tok(), criticIds, new SamplingConfig(cfg.rollouts().maxNewTokens(), cfg.rollouts().temperature(), 0, 1.0,
                    seed * 37 + s.step + 1_000_003, List.of()));
            Rollout critiques = new Rollout(batch, criticIds, outs, g);
            // 3. the generator's revision after each critique
            List<String> rp = new ArrayList<>(), ra = new ArrayList<>(), rc = new ArrayList<>();
            for (int i = 0; i < n; i++) { rp.add(texts.get(i / g)); ra.add(attempts.get(i / g)); rc.add(Task.firstLine(outs.get(i).text())); }
            List<String> revisions = generator.revise(rp, ra, rc, seed * 43 + s.step + 2_000_003);
            // 4. rewards of the revisions and GRPO advantages over the critiques of one attempt
            List<dev.align4j.reward.RewardFunction.Sample> samples = new ArrayList<>();
            for (int i = 0; i < n; i++)
                samples.add(new dev.align4j.reward.RewardFunction.Sample(batch.get(i / g), revisions.get(i), io.tok().encode(revisions.get(i), false).length, false));
            double[] r = reward.score(samples).total();
            Tensor adv = Advantages.grpo(Torch.doubles(r, n), g, cfg.scale()).to(org.bytedeco.pytorch.global.torch.ScalarType.Float);   // (N)
            metrics(batch, attempts, rc, revisions, r, s);
            // 5. one policy-gradient update of the critic, with a KL to its start
            SeqBatch sb = critiques.batch(java.util.stream.IntStream.range(0, n).boxed().toList(), io.tok().padId);
            Tensor refLogp = null;
            if (cfg.beta() > 0) try (NoGradGuard ng = new NoGradGuard()) {
                refLogp = Scoring.score(reference, sb, false).tokenLogps();                          // (N, T)
            }
            Tensor ref = refLogp;
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(critic, sb, true);
                Tensor logp = sc.tokenLogps(), mask = sc.mask();
                Tensor kl = ref == null ? null : PolicyLoss.kl(logp, ref, cfg.kl());
                PolicyLoss.Out o = PolicyLoss.clippedSurrogate(logp, logp.detach(), adv, mask, kl == null ? null : kl.mul(Torch.s(cfg.beta())),
                        new PolicyLoss.Clip(0.2, 0.2, false, PolicyLoss.Aggregation.SEQUENCE_MEAN, cfg.rollouts().maxNewTokens()));
                double tokens = Math.max(1, Torch.item(mask.sum()));
                m.put("kl", kl == null ? 0 : Torch.item(kl.detach().mul(mask).sum()) / tokens);
                m.put("entropy", Torch.item(sc.entropy().sum()) / tokens);
                m.put("critique_length", tokens / n);
                return o.loss();
            });
        }

        /**
         * {@code reward} (the revisions' mean gold reward), {@code accuracy/t1} (attempts), {@code accuracy/t2} (revisions,
         * over all critiques), {@code delta/i_to_c}, {@code delta/c_to_i}, and {@code critic/verdict_accuracy}: the share of
         * critiques that say "correct" exactly when the attempt is right.
         */
        private void metrics(List<Task.Example> batch, List<String> attempts, List<String> critiques, List<String> revisions, double[] r, Loop.Step s) {
            int g = cfg.rollouts().samplesPerPrompt(), n = revisions.size();
            double a1 = 0, a2 = 0, ic = 0, ci = 0, verdict = 0;
            for (int i = 0; i < n; i++) {
                Task.Example e = batch.get(i / g);
                boolean c1 = task.correct(e, attempts.get(i / g)), c2 = task.correct(e, revisions.get(i));
                a1 += c1 ? 1 : 0;
                a2 += c2 ? 1 : 0;
                ic += !c1 && c2 ? 1 : 0;
                ci += c1 && !c2 ? 1 : 0;
                verdict += critiques.get(i).equals(Critiques.CORRECT) == c1 ? 1 : 0;
            }
            s.metrics.put("reward", java.util.Arrays.stream(r).average().orElse(0));
            s.metrics.put("accuracy/t1", a1 / n);
            s.metrics.put("accuracy/t2", a2 / n);
            s.metrics.put("delta/i_to_c", ic / n);
            s.metrics.put("delta/c_to_i", ci / n);
            s.metrics.put("critic/verdict_accuracy", verdict / n);
        }
    }

    /**
     * The critic's warm-up rows (CTRL's stage 1, critiques synthesised from the gold check): for {@code n} training prompts,
     * an attempt of the generator and, as the critic's completion of {@link Revision#criticPrompt}, the gold critique
     * ({@link Critiques#of}) after a space.
     */
    public static List<SftExample> critiqueDemonstrations(Generator generator, Task task, List<Task.Example> prompts, Revision format, int n, long seed) {
        Random rng = new Random(seed);
        List<Task.Example> picked = new ArrayList<>();
        for (int i = 0; i < n; i++) picked.add(prompts.get(rng.nextInt(prompts.size())));
        List<SftExample> out = new ArrayList<>();
        for (int from = 0; from < n; from += 256) {
            List<Task.Example> chunk = picked.subList(from, Math.min(n, from + 256));
            List<String> texts = new ArrayList<>();
            for (Task.Example e : chunk) texts.add(e.prompt());
            List<String> a1 = generator.attempt(texts, seed * 31 + from);
            for (int i = 0; i < chunk.size(); i++)
                out.add(new SftExample(format.criticPrompt(texts.get(i), a1.get(i)), " " + Critiques.of(task, chunk.get(i), a1.get(i))));
        }
        return out;
    }
}
