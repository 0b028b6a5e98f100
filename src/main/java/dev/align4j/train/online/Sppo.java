package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.SelfPlayLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
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
 * SPPO, Self-Play Preference Optimization (Wu et al. 2024): iterative multiplicative weights on the preference game. Each
 * step: K samples of every prompt from the current policy → the judge's P(y_i ≻ y_j) on every pair of a prompt's samples →
 * each sample's win rate against the policy, P̂(y_i ≻ π) = mean over j ≠ i → log π_t of the samples (no gradients) → one
 * update of the squared loss {@link SelfPlayLoss#sppo}. The reference π_t is the previous iterate, moved to the policy at the
 * start of each of {@code iterations} rounds ({@link Iterates}). Shapes: N = B·K sequences.
 */
public final class Sppo {
    private Sppo() {}

    /**
     * SPPO settings; K is {@code rollouts.samplesPerPrompt}.
     *
     * @param eta        η: the log-ratio is regressed onto η(P̂ − ½), so a round moves log π by at most η/2 per sample
     * @param iterations rounds T; the reference π_t moves to the policy at the start of each (steps / T steps per round)
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, double eta, int iterations) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= 2, "sppo estimates win rates among a prompt's samples: samples-per-prompt must be >= 2, not %s", rollouts.samplesPerPrompt());
            UserError.check(eta > 0, "eta must be > 0: %s", eta);
            UserError.check(iterations >= 1 && iterations <= run.steps(), "iterations must be in [1, steps = %s]: %s", run.steps(), iterations);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 90, "lr", 1e-4, "warmupSteps", 5, "promptsPerStep", 16,
                "samplesPerPrompt", 4, "eta", 2.0, "iterations", 3);
    }

    public record Result(double finalLoss, Path lastCheckpoint) {}

    /** @param iterate a second model of the policy's config, overwritten with π_t at each round */
    public static Result train(LlamaModel policy, LlamaModel iterate, Judge judge, List<Task.Example> prompts, Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("sppo: no prompts");
        Recipe r = new Recipe(policy, new Iterates(policy, iterate, cfg.run().steps(), cfg.iterations()), judge, prompts, cfg, io);
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("sppo", cfg.run(), cfg, policy, 1), r);
        return new Result(out.get("loss"), out.lastCheckpoint());
    }

    /**
     * P̂(y_i ≻ π) for every sample: the mean of the judge's P(y_i ≻ y_j) over the other samples j of its prompt (groups of
     * {@code k} consecutive rows). Each unordered pair is judged once; P(y_j ≻ y_i) = 1 − P(y_i ≻ y_j).
     */
    static double[] winRates(Judge judge, Rollout ro, int k) {
        List<Task.Example> ex = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < ro.size(); i++) { ex.add(ro.examples().get(i / k)); texts.add(ro.outs().get(i).text()); }
        return Judges.winRates(judge, ex, texts, k);
    }

    /** One step of the method, top to bottom. */
    private record Recipe(LlamaModel policy, Iterates iterates, Judge judge, List<Task.Example> prompts, Config cfg, Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 0. a new round: the reference π_t becomes the current policy
            iterates.begin(s.step);
            s.metrics.put("iteration", (double) iterates.iteration(s.step));
            // 1. K samples per prompt from the current policy
            //    (under launch, this rank's share of whole groups: win rates are within a group, the mean loss over equal shares)
            Rollout ro = Rollout.sampleShard(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            int k = cfg.rollouts().samplesPerPrompt();
            s.metrics.put("completion_length", ro.outs().stream().mapToInt(o -> o.tokens().length).average().orElse(0));
            // 2. each sample's win rate against the policy, from the judge
            double[] w = winRates(judge, ro, k);
            double[] allW = dev.align4j.core.Distributed.get().allGather(w);             // every rank's, for the std
            s.metrics.put("win_rate_std", Torch.item(Torch.doubles(allW, allW.length).std()));
            // 3. log π_t of every sample, without gradients
            SeqBatch sb = ro.batch(IntStream.range(0, ro.size()).boxed().toList(), io.tok().padId);
            Tensor iterLogp, winRate = Torch.doubles(w, w.length);
            try (NoGradGuard ng = new NoGradGuard()) {
                iterLogp = Scoring.score(iterates.model(), sb, false).sum().clone();          // (N)
            }
            // 4. one update of the squared loss: log π/π_t regressed onto η(P̂ − ½)
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(policy, sb, false);
                SelfPlayLoss.Out o = SelfPlayLoss.sppo(sc.sum(), iterLogp, winRate, cfg.eta());
                m.put("logps", Torch.item(sc.sum().detach().mean()));
                m.put("kl", Torch.item(o.prediction().mean()));                           // k1 estimate of KL(π ‖ π_t) on π's samples
                m.put("target", Torch.item(o.target().abs().mean()));
                return o.losses().mean();
            });
        }

        @Override public void save(ObjectNode state, Path dir) { iterates.save(state, dir); }

        @Override public void restore(JsonNode state, Path checkpoint) { iterates.restore(state, checkpoint); }
    }
}
