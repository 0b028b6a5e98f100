package dev.align4j.eval;

import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.GoldPreference;
import dev.align4j.task.Task;

import java.util.ArrayList;
import java.util.List;

/**
 * Exact quantities of the preference game of a task whose gold preference sees completions through a few classes
 * ({@link GoldPreference.Classes}, e.g. {@code cycle}): with payoff M[i][j] = P*(class i ≻ class j), a policy is a
 * distribution p over the classes and
 * <pre>  win rate of p against q   W(p, q) = pᵀ M q                      (Munos et al. 2023, P(π ≻ π'))
 *  exploitability of p       max_i (M p)_i − ½ = max_π' W(π', p) − ½</pre>
 * The maximum over responses is attained by a pure class because W(π', p) is linear in π' (a best response in a
 * finite game can be pure). Exploitability is ≥ 0 (W(p, p) = ½), and 0 exactly at a Nash (von Neumann) policy: no
 * response beats it more than half the time. The definition is the duality gap of a symmetric constant-sum game as used
 * for Nash learning from human feedback (Munos et al. 2023, §3; Swamy et al. 2024, the "minimax winner").
 *
 * <p>Estimates from samples: a policy's class distribution comes from K samples per held-out prompt
 * ({@link #sample}). {@link #winRate(List, List, double[][])} averages pᵀ M q prompt by prompt (unbiased for
 * independent samples); {@link #exploitability} is taken on the class distribution pooled over prompts, i.e. against a
 * best response that answers every prompt in one class — the payoff is the same for every prompt, so this is the natural
 * best response; a prompt-wise best response could only exploit more.
 *
 * <p>Reads policies; never trains.
 */
public final class Game {
    private Game() {}

    /** W(p, q) = Σ_ij p_i M_ij q_j: the probability that a draw from p is preferred to a draw from q. */
    public static double winRate(double[] p, double[] q, double[][] m) {
        check(p, m);
        check(q, m);
        double w = 0;
        for (int i = 0; i < p.length; i++)
            for (int j = 0; j < q.length; j++) w += p[i] * m[i][j] * q[j];
        return w;
    }

    /** The mean over prompts of W(a_x, b_x), per-prompt class distributions in the same prompt order. */
    public static double winRate(List<double[]> a, List<double[]> b, double[][] m) {
        if (a.size() != b.size() || a.isEmpty()) throw new IllegalArgumentException("win rate needs as many prompts on both sides (and some): " + a.size() + " vs " + b.size());
        double s = 0;
        for (int x = 0; x < a.size(); x++) s += winRate(a.get(x), b.get(x), m);
        return s / a.size();
    }

    /** (M p)_i: the win rate of each pure class against p. */
    public static double[] responses(double[] p, double[][] m) {
        check(p, m);
        double[] r = new double[m.length];
        for (int i = 0; i < m.length; i++)
            for (int j = 0; j < p.length; j++) r[i] += m[i][j] * p[j];
        return r;
    }

    /** The best pure response to p: argmax_i (M p)_i (the first on a tie). */
    public static int bestResponse(double[] p, double[][] m) {
        double[] r = responses(p, m);
        int best = 0;
        for (int i = 1; i < r.length; i++) if (r[i] > r[best]) best = i;
        return best;
    }

    /** max_i (M p)_i − ½: how much more than half the time the best response beats p. */
    public static double exploitability(double[] p, double[][] m) {
        double[] r = responses(p, m);
        double best = r[0];
        for (double v : r) best = Math.max(best, v);
        return best - 0.5;
    }

    /** The class frequencies of completions (all prompts pooled). */
    public static double[] distribution(GoldPreference.Classes g, List<Task.Example> examples, List<String> completions) {
        if (examples.size() != completions.size() || examples.isEmpty()) throw new IllegalArgumentException("one example per completion (and some): " + examples.size() + " vs " + completions.size());
        double[] p = new double[g.classNames().size()];
        for (int i = 0; i < examples.size(); i++) p[g.classOf(examples.get(i), completions.get(i))]++;
        for (int i = 0; i < p.length; i++) p[i] /= examples.size();
        return p;
    }

    /** The mean of per-prompt distributions: the pooled class distribution. */
    public static double[] pooled(List<double[]> perPrompt) {
        double[] p = new double[perPrompt.get(0).length];
        for (double[] q : perPrompt) for (int i = 0; i < p.length; i++) p[i] += q[i] / perPrompt.size();
        return p;
    }

    /**
     * A policy's class distribution on each prompt from {@code k} samples at {@code temperature} (1 for the policy
     * itself; sampling is seeded by {@code seed}).
     */
    public static List<double[]> sample(LlamaModel model, Tokenizer tok, Task task, GoldPreference.Classes g, List<Task.Example> prompts,
                                        int k, double temperature, long seed) {
        SamplingConfig cfg = new SamplingConfig(Math.max(4, task.maxCompletionChars() + 4), temperature, 0, 1, seed, List.of());
        int n = g.classNames().size();
        List<double[]> out = new ArrayList<>();
        for (int from = 0; from < prompts.size(); from += 64) {
            List<Task.Example> chunk = prompts.subList(from, Math.min(prompts.size(), from + 64));
            List<int[]> ids = new ArrayList<>();
            for (Task.Example e : chunk) for (int s = 0; s < k; s++) ids.add(tok.encode(e.prompt(), true));
            List<Completion> c = Sampler.generate(model, tok, ids, cfg);
            for (int x = 0; x < chunk.size(); x++) {
                double[] p = new double[n];
                for (int s = 0; s < k; s++) p[g.classOf(chunk.get(x), c.get(x * k + s).text())] += 1.0 / k;
                out.add(p);
            }
        }
        return out;
    }

    /**
     * The game quantities logged at each evaluation of an online trainer on a {@link GoldPreference.Classes} task:
     * {@code exploitability} of the policy's pooled class distribution and its {@code win_rate} against the starting
     * policy, W(π, π_0) averaged over held-out prompts, both from {@code k} samples per prompt at temperature 1 (the
     * starting policy's once, before training; the same sampling seed every time, so successive evaluations share noise).
     */
    public static final class Tracker {
        private final Task task;
        private final GoldPreference.Classes g;
        private final List<Task.Example> prompts;
        private final List<double[]> start;
        private final int k;
        private final long seed;

        private Tracker(Task task, GoldPreference.Classes g, List<Task.Example> prompts, List<double[]> start, int k, long seed) {
            this.task = task;
            this.g = g;
            this.prompts = prompts;
            this.start = start;
            this.k = k;
            this.seed = seed;
        }

        /** Samples the starting policy; null when the task's gold preference has no classes (nothing exact to compute). */
        public static Tracker start(LlamaModel model, Tokenizer tok, Task task, List<Task.Example> prompts, int k, long seed) {
            if (!(task instanceof GoldPreference.Classes g) || prompts.isEmpty()) return null;
            return new Tracker(task, g, prompts, sample(model, tok, task, g, prompts, k, 1.0, seed), k, seed);
        }

        /** {@code exploitability} and {@code win_rate} (against the starting policy) of {@code model} now. */
        public java.util.Map<String, Double> evaluate(LlamaModel model, Tokenizer tok) {
            List<double[]> now = sample(model, tok, task, g, prompts, k, 1.0, seed);
            double[][] m = g.payoff();
            java.util.Map<String, Double> out = new java.util.LinkedHashMap<>();
            out.put("exploitability", exploitability(pooled(now), m));
            out.put("win_rate", winRate(now, start, m));
            return out;
        }
    }

    private static void check(double[] p, double[][] m) {
        if (p.length != m.length) throw new IllegalArgumentException("distribution over " + p.length + " classes, payoff over " + m.length);
        double s = 0;
        for (double v : p) {
            if (v < -1e-12) throw new IllegalArgumentException("negative probability " + v);
            s += v;
        }
        if (Math.abs(s - 1) > 1e-6) throw new IllegalArgumentException("probabilities sum to " + s + ", not 1");
    }
}
