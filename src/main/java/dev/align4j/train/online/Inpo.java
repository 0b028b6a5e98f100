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
import dev.align4j.task.Task;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * INPO, Iterative Nash Policy Optimization (Zhang et al. 2024): online mirror descent on the KL-regularised preference
 * game, played by the policy against itself. Each step: samples of every prompt from the current policy, paired
 * consecutively ((0, 1), (2, 3), …) → the judge's P(a ≻ b) → one label per pair drawn from it (the annotator's Bernoulli
 * draw: y_w the winner), or with {@code --labels expected} the draw averaged out → log π_t and log π_ref of the pairs (no gradients) → one update of {@link SelfPlayLoss#inpo}.
 * No win-rate estimate: only labelled pairs. π_t is the previous iterate ({@link Iterates}); π_ref the frozen start.
 * Shapes: P pairs.
 */
public final class Inpo {
    private Inpo() {}

    /**
     * INPO settings; each prompt gets {@code rollouts.samplesPerPrompt} samples (even), paired consecutively.
     *
     * @param eta        η, the mirror-descent step: the regularised log-ratio margin h is regressed onto η/2
     * @param tau        τ, the KL regularisation towards π_ref (ητ ≤ 1: π_ref's weight in the next iterate)
     * @param iterations rounds T; π_t moves to the policy at the start of each (steps / T steps per round)
     * @param labels     sampled: one Bernoulli label per pair from the judge's probability (the paper's oracle);
     *                   expected: the label averaged out ({@link SelfPlayLoss#inpoExpected}), the same expected gradient without
     *                   label noise
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, double eta, double tau, int iterations, Labels labels) {
        public Config {
            labels = labels == null ? Labels.SAMPLED : labels;
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(rollouts.samplesPerPrompt() >= 2 && rollouts.samplesPerPrompt() % 2 == 0,
                    "inpo pairs a prompt's samples: samples-per-prompt must be even and >= 2, not %s", rollouts.samplesPerPrompt());
            UserError.check(eta > 0, "eta must be > 0: %s", eta);
            UserError.check(tau >= 0 && eta * tau <= 1, "tau must be >= 0 with eta * tau <= 1 (the reference's weight in the next iterate): eta %s, tau %s", eta, tau);
            UserError.check(iterations >= 1 && iterations <= run.steps(), "iterations must be in [1, steps = %s]: %s", run.steps(), iterations);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 90, "lr", 1e-4, "warmupSteps", 5, "promptsPerStep", 16,
                "samplesPerPrompt", 2, "eta", 2.0, "tau", 0.1, "iterations", 3, "labels", Labels.SAMPLED);
    }

    /** How a pair's judge probability becomes the loss's label. */
    public enum Labels {
        /** one winner drawn per pair with the judge's probability (the preference oracle of the paper) */
        SAMPLED,
        /** no draw: the squared loss's expectation over the draw, (h_ab − η(P(a ≻ b) − ½))² */
        EXPECTED
    }

    public record Result(double finalLoss, Path lastCheckpoint) {}

    /**
     * @param iterate   a second model of the policy's config, overwritten with π_t at each round
     * @param reference the frozen π_ref (the starting policy)
     */
    public static Result train(LlamaModel policy, LlamaModel iterate, LlamaModel reference, Judge judge, List<Task.Example> prompts, Config cfg, Session io) {
        if (prompts.isEmpty()) throw new UserError("inpo: no prompts");
        Recipe r = new Recipe(policy, new Iterates(policy, iterate, cfg.run().steps(), cfg.iterations()), reference, judge, prompts, cfg, io);
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("inpo", cfg.run(), cfg, policy, 1), r);
        return new Result(out.get("loss"), out.lastCheckpoint());
    }

    /** One step of the method, top to bottom. */
    private record Recipe(LlamaModel policy, Iterates iterates, LlamaModel reference, Judge judge, List<Task.Example> prompts, Config cfg,
                          Session io) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 0. a new round: π_t becomes the current policy
            iterates.begin(s.step);
            s.metrics.put("iteration", (double) iterates.iteration(s.step));
            // 1. samples from the current policy, paired consecutively within a prompt
            //    (under launch, this rank's share of whole groups, so of the pairs: equal shares, the mean loss averages exactly)
            Rollout ro = Rollout.sampleShard(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            int k = cfg.rollouts().samplesPerPrompt();
            s.metrics.put("completion_length", ro.outs().stream().mapToInt(o -> o.tokens().length).average().orElse(0));
            List<Task.Example> ex = new ArrayList<>();
            List<String> a = new ArrayList<>(), b = new ArrayList<>();
            for (int i = 0; i < ro.size(); i += 2) {
                ex.add(ro.examples().get(i / k));
                a.add(ro.outs().get(i).text());
                b.add(ro.outs().get(i + 1).text());
            }
            // 2. the judge's P(a ≻ b); sampled: one label drawn from it per pair (a function of seed and step, so resume is
            //    exact), the winner's row first; expected: no draw, rows in sampled order (a, b)
            double[] p = judge.prob(ex, a, b);
            boolean sampled = cfg.labels() == Labels.SAMPLED;
            Random draw = new Random(cfg.run().seed() * 1_000_003 + s.step);
            if (sampled) for (long x = 0; x < (long) dev.align4j.core.Distributed.get().rank * p.length; x++) draw.nextDouble();   // earlier ranks' pairs' draws
            List<Integer> first = new ArrayList<>(), second = new ArrayList<>();
            double agree = 0;
            for (int x = 0; x < p.length; x++) {
                boolean aFirst = !sampled || draw.nextDouble() < p[x];
                first.add(aFirst ? 2 * x : 2 * x + 1);
                second.add(aFirst ? 2 * x + 1 : 2 * x);
                agree += aFirst ? p[x] : 1 - p[x];
            }
            if (sampled) s.metrics.put("label_prob", agree / p.length);                // mean judge probability of the drawn label
            s.metrics.put("tie_fraction", Arrays.stream(p).filter(q -> Math.abs(q - 0.5) < 1e-6).count() / (double) p.length);
            Tensor prob = Torch.doubles(p, p.length);
            int np = p.length;
            List<Integer> rows = new ArrayList<>(first);
            rows.addAll(second);
            SeqBatch sb = ro.batch(rows, io.tok().padId);                                 // rows 0..P−1 first (winners), P..2P−1 second
            // 3. log π_t and log π_ref of both sides, without gradients
            Tensor tw, tl, rw, rl;
            try (NoGradGuard ng = new NoGradGuard()) {
                Tensor t = Scoring.score(iterates.model(), sb, false).sum(), r = Scoring.score(reference, sb, false).sum();
                tw = t.narrow(0, 0, np).clone();
                tl = t.narrow(0, np, np).clone();
                rw = r.narrow(0, 0, np).clone();
                rl = r.narrow(0, np, np).clone();
            }
            // 4. one update of the squared loss on the pairs
            s.update(1, (micro, m) -> {
                Scoring.Scores sc = Scoring.score(policy, sb, false);
                Tensor w = sc.sum().narrow(0, 0, np), l = sc.sum().narrow(0, np, np);
                SelfPlayLoss.Out o = sampled ? SelfPlayLoss.inpo(w, l, tw, tl, rw, rl, cfg.eta(), cfg.tau())
                        : SelfPlayLoss.inpoExpected(w, l, tw, tl, rw, rl, prob, cfg.eta(), cfg.tau());
                if (sampled) {
                    m.put("logps/chosen", Torch.item(w.detach().mean()));
                    m.put("logps/rejected", Torch.item(l.detach().mean()));
                }
                m.put("margin", Torch.item(o.prediction().mean()));                       // h, regressed onto η/2 (sampled) or η(p − ½)
                m.put("kl", Torch.item(sc.sum().detach().sub(torch.cat(new TensorVector(rw, rl))).mean()));   // k1 estimate of KL(π ‖ π_ref)
                return o.losses().mean();
            });
        }

        @Override public void save(ObjectNode state, Path dir) { iterates.save(state, dir); }

        @Override public void restore(JsonNode state, Path checkpoint) { iterates.restore(state, checkpoint); }
    }
}
