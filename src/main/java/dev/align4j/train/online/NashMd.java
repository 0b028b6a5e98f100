package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.SelfPlayLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.reward.Judge;
import dev.align4j.task.Task;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Nash-MD (Munos et al. 2023, "Nash Learning from Human Feedback"), its policy-gradient form: mirror descent against the
 * geometric mixture of the policy and the reference. Each step: G samples y of every prompt from the policy and G
 * opponents y' from the mixture π^β ∝ π^{1−β} π_ref^β (token by token, {@link Rollout#sampleMixture}) → the judge's
 * P(y_i ≻ y'_i) → log π_ref(y) (no gradients) → one REINFORCE update of {@link SelfPlayLoss#nashMd} (½ as the control
 * variate, τ·KL to π_ref). The structure follows TRL's {@code NashMDTrainer}. Shapes: N = B·G sequences.
 */
public final class NashMd {
    private NashMd() {}

    /**
     * Nash-MD settings.
     *
     * @param mixtureCoef β, the reference's weight in the opponents' geometric mixture (0: plain self-play; 1: the reference)
     * @param beta        τ, the KL-to-reference coefficient of the objective P(π ≻ π^β) − τ KL(π ‖ π_ref)
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, double mixtureCoef, double beta) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(mixtureCoef >= 0 && mixtureCoef <= 1, "mixture-coef must be in [0, 1]: %s", mixtureCoef);
            UserError.check(beta >= 0, "beta must be >= 0: %s", beta);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 90, "lr", 1e-4, "warmupSteps", 5, "promptsPerStep", 16,
                "samplesPerPrompt", 2, "mixtureCoef", 0.5, "beta", 0.1);
    }

    public record Result(double finalLoss, Path lastCheckpoint) {}

    /** @param reference the frozen π_ref (the starting policy) */
    public static Result train(LlamaModel policy, LlamaModel reference, Judge judge, List<Task.Example> prompts, Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("nash-md: no prompts");
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("nash-md", cfg.run(), cfg, policy, 1), new Recipe(policy, reference, judge, prompts, cfg, io));
        return new Result(out.get("loss"), out.lastCheckpoint());
    }

    /** One step of the method, top to bottom. */
    private record Recipe(LlamaModel policy, LlamaModel reference, Judge judge, List<Task.Example> prompts, Config cfg, Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 1. samples from the policy, and as many opponents from the geometric mixture, for the same prompts
            //    (under launch, this rank's share of the prompts for both: equal shares, so the mean loss averages exactly)
            Rollout ro = Rollout.sampleShard(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            Rollout mix = Rollout.sampleMixtureShard(policy, reference, cfg.mixtureCoef(), io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            int g = cfg.rollouts().samplesPerPrompt();
            s.metrics.put("completion_length", ro.outs().stream().mapToInt(o -> o.tokens().length).average().orElse(0));
            // 2. the judge: P(y_i ≻ y'_i)
            List<Task.Example> ex = new ArrayList<>();
            List<String> a = new ArrayList<>(), b = new ArrayList<>();
            for (int i = 0; i < ro.size(); i++) {
                ex.add(ro.examples().get(i / g));
                a.add(ro.outs().get(i).text());
                b.add(mix.outs().get(i).text());
            }
            double[] p = judge.prob(ex, a, b);
            Tensor prob = Torch.doubles(p, p.length);
            s.metrics.put("win_rate", Torch.item(prob.mean()));                          // against the mixture, under the judge
            // 3. log π_ref of the policy's samples, without gradients
            SeqBatch sb = ro.batch(IntStream.range(0, ro.size()).boxed().toList(), io.tok().padId);
            Tensor refLogp;
            try (NoGradGuard ng = new NoGradGuard()) {
                refLogp = Scoring.score(reference, sb, false).sum().clone();              // (N)
            }
            // 4. one REINFORCE update: −(P − ½) log π + τ sg(log π/π_ref) log π
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(policy, sb, false);
                SelfPlayLoss.Out o = SelfPlayLoss.nashMd(sc.sum(), refLogp, prob, cfg.beta());
                m.put("logps", Torch.item(sc.sum().detach().mean()));
                m.put("kl", Torch.item(o.prediction().mean()));                           // k1 estimate of KL(π ‖ π_ref)
                return o.losses().mean();
            });
        }
    }
}
