package dev.align4j.pipeline;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.Progress;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.SftExample;
import dev.align4j.eval.ModelEval;
import dev.align4j.eval.Plot;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardEnsemble;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Annotator;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import dev.align4j.train.Session;
import dev.align4j.train.offline.RewardModel;
import dev.align4j.train.offline.Sft;
import dev.align4j.train.online.Grpo;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * The reward over-optimization study (Gao et al. 2023) with reward-model ensembles against it (Coste et al. 2024), on a
 * built-in task whose gold reward stands in for the human: a proxy reward model learned from a few hundred annotated
 * pairs of π_ref's own samples is optimized by best-of-N (KL analytic) and by GRPO (KL measured exactly on held-out
 * prompts), and every point is scored by the gold reward, the proxy and KL(π‖π_ref). An ensemble of K proxies trained on
 * the same pairs with other seeds (score-head init, data order) is optimized the same way through its mean, its minimum
 * (worst case) and mean − λ·std (uncertainty-weighted). Writes study.json, study.html and four plots into the output.
 *
 * <p>Every proxy is standardized on π_ref's samples of the training prompts (mean 0, std 1 there), so the members of an
 * ensemble are on one scale and a proxy gain reads in π_ref standard deviations. Calls Sft, RewardModel and Grpo
 * through their entry points; holds no training loop and never takes gradients itself.
 *
 * @param task                 built-in task (its gold reward is the "human"; sort's partial credit varies continuously)
 * @param init                 built-in model size for π_ref when no --model is given (trained with the quickstart's SFT settings)
 * @param sftSteps             SFT steps of that π_ref
 * @param rmPairs              annotated pairs the proxies learn from (limited on purpose)
 * @param rmSteps              optimizer steps of each proxy reward model (batch 32)
 * @param rmLr                 proxy learning rate
 * @param ensembleSize         proxies in the ensemble (K ≥ 2; member 0 is the single proxy)
 * @param annotatorTemperature Bradley–Terry noise of the simulated annotator that labels the pairs
 * @param prompts              held-out prompts (test split) for best-of-N and for the GRPO checkpoints
 * @param bonMax               largest N of best-of-N (a power of two; N = 1, 2, 4, …, bonMax from a pool of bonMax samples per prompt)
 * @param grpoSteps            GRPO steps against each objective (0 skips GRPO)
 * @param grpoLr               GRPO learning rate
 * @param evalEvery            GRPO steps between checkpoint evaluations
 * @param evalSamples          samples per held-out prompt at each GRPO checkpoint (gold, proxy and KL are means over them)
 * @param stdWeight            λ of the uncertainty-weighted objective mean − λ·std
 * @param seed                 every random choice
 */
public record Overoptimization(String task, String init, int sftSteps, int rmPairs, int rmSteps, double rmLr, int ensembleSize,
                               double annotatorTemperature, int prompts, int bonMax, int grpoSteps, double grpoLr, int evalEvery,
                               int evalSamples, double stdWeight, long seed) {
    public Overoptimization {
        Task.byName(task);
        UserError.check(sftSteps >= 1, "sft-steps must be >= 1: %s", sftSteps);
        UserError.check(rmPairs >= 8, "rm-pairs must be >= 8: %s", rmPairs);
        UserError.check(rmSteps >= 1 && rmLr > 0, "rm-steps must be >= 1 and rm-lr > 0");
        UserError.check(ensembleSize >= 2, "ensemble-size must be >= 2 (member 0 is also the single proxy): %s", ensembleSize);
        UserError.check(annotatorTemperature >= 0, "annotator-temperature must be >= 0: %s", annotatorTemperature);
        UserError.check(prompts >= 1, "prompts must be >= 1: %s", prompts);
        UserError.check(bonMax >= 2 && Integer.bitCount(bonMax) == 1, "bon-max must be a power of two >= 2: %s", bonMax);
        UserError.check(grpoSteps >= 0 && grpoLr > 0, "grpo-steps must be >= 0 and grpo-lr > 0");
        UserError.check(evalEvery >= 1 && evalSamples >= 1, "eval-every and eval-samples must be >= 1");
        UserError.check(stdWeight >= 0, "std-weight must be >= 0: %s", stdWeight);
    }

    /** Defaults sized to run whole in under 15 minutes on 2 CPU cores (docs/results.md has the measured run). */
    public static final Overoptimization DEFAULTS = Configs.of(Overoptimization.class, Map.of(), "task", "sort", "init", "tiny",
            "sftSteps", Quickstart.DEFAULTS.sftSteps(), "rmPairs", 300, "rmSteps", 60, "rmLr", 3e-4, "ensembleSize", 4,
            "annotatorTemperature", Quickstart.DEFAULTS.annotatorTemperature(), "prompts", 200, "bonMax", 64,
            "grpoSteps", 50, "grpoLr", 3e-4, "evalEvery", 5, "evalSamples", 4, "stdWeight", 1.0, "seed", 0L);

    /** What is optimized: the single proxy (ensemble member 0) or the ensemble through one of {@link RewardEnsemble}'s aggregations. */
    public enum Objective {
        SINGLE("single RM"), MEAN("ensemble mean"), MIN("ensemble min"), MEAN_MINUS_STD("ensemble mean-λ·std");

        public final String label;

        Objective(String label) { this.label = label; }

        public String key() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

        /** The objective per sample from the standardized member scores z [member][sample]. */
        double[] combine(double[][] z, double lambda) {
            return switch (this) {
                case SINGLE -> z[0];
                case MEAN -> RewardEnsemble.aggregate(z, RewardEnsemble.Aggregation.MEAN, lambda);
                case MIN -> RewardEnsemble.aggregate(z, RewardEnsemble.Aggregation.MIN, lambda);
                case MEAN_MINUS_STD -> RewardEnsemble.aggregate(z, RewardEnsemble.Aggregation.MEAN_MINUS_STD, lambda);
            };
        }
    }

    /**
     * One measured point of a curve. {@code x} is N for best-of-N, the step for GRPO; gold and proxy are means over the
     * held-out prompts with their standard errors; {@code proxy} is the optimized objective, {@code proxySingle} member 0
     * (one scale across curves).
     */
    public record Point(String method, Objective objective, long x, double kl, double gold, double goldSe, double proxy, double proxySe, double proxySingle) {}

    /**
     * How a curve behaved, in the order it was traced (N or step). A change of the gold reward counts when it exceeds
     * twice the combined standard error of its two points ({@link #noise}): it "rose" from the start to the peak, and
     * "fell" from the peak to the end. The proxy "kept rising" when it ends above its value at the gold peak.
     * Over-optimization = the gold fell while the proxy kept rising.
     */
    public record Summary(String method, Objective objective, long xAtPeak, double klAtPeak, double goldStart, double goldPeak, double goldEnd,
                          double goldEndSe, double goldRise, double goldDrop, double dropThreshold, double proxyStart, double proxyAtPeak,
                          double proxyEnd, double proxyRise, double klEnd, boolean goldRose, boolean goldFell, boolean proxyKeptRising,
                          boolean overoptimized) {}

    /**
     * An ensemble curve against the single proxy's curve of the same method. The fall is "reduced" and the final gold
     * "higher" only beyond the noise of the two end points (2·√(SE₁² + SE₂²)); the peak is "delayed" when it comes at a later N
     * or step and at a larger KL.
     */
    public record Comparison(String method, Objective objective, double klAtPeakDelta, double goldPeakDelta, double goldDropDelta,
                             double goldEndDelta, double noise, boolean delaysPeak, boolean reducesFall, boolean higherFinalGold) {}

    /** Twice the standard error of a difference of two independent means: 2·√(a² + b²). */
    static double noise(double seA, double seB) { return 2 * Math.sqrt(seA * seA + seB * seB); }

    // ------------------------------------------------------------------------------------------ the math

    /** KL(π_bon‖π_ref) = log N − (N−1)/N nats, the analytic bound of best-of-N (Stiennon et al. 2020; Gao et al. 2023, eq. 1). */
    public static double bonKl(int n) {
        UserError.check(n >= 1, "N must be >= 1: %s", n);
        return Math.log(n) - (n - 1.0) / n;
    }

    /** The index of the best of the first {@code n} samples by {@code proxy} (the first on a tie): best-of-N selection. */
    public static int bestOfN(double[] proxy, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (proxy[i] > proxy[best]) best = i;
        return best;
    }

    /**
     * E[value of the proxy's argmax among N of the M samples drawn without replacement], over all C(M, N) subsets
     * (Gao et al. 2023, appendix; Nakano et al. 2021): with the samples ranked by proxy ascending, the i-th (0-based) is
     * a subset's best with probability C(i, N−1) / C(M, N). Unbiased for best-of-N and lower in variance than one draw.
     */
    public static double bestOfNExpectation(double[] proxy, double[] value, int n) {
        int m = proxy.length;
        UserError.check(n >= 1 && n <= m, "N must be in 1..%s: %s", m, n);
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> proxy[i]).thenComparing(i -> -i));   // ascending; the earlier of a tie ranks higher, as bestOfN
        double total = binomial(m, n), e = 0;
        for (int i = n - 1; i < m; i++) e += binomial(i, n - 1) / total * value[order[i]];
        return e;
    }

    static double binomial(int n, int k) {
        if (k < 0 || k > n) return 0;
        double c = 1;
        for (int j = 1; j <= Math.min(k, n - k); j++) c = c * (n - Math.min(k, n - k) + j) / j;
        return c;
    }

    /** The peak / fall / rise numbers of one curve (points in the order traced). */
    public static Summary summarize(List<Point> curve) {
        if (curve.isEmpty()) throw new IllegalArgumentException("an empty curve");
        int peak = 0;
        for (int i = 1; i < curve.size(); i++) if (curve.get(i).gold() > curve.get(peak).gold()) peak = i;
        Point first = curve.get(0), top = curve.get(peak), last = curve.get(curve.size() - 1);
        double rise = top.gold() - first.gold(), drop = top.gold() - last.gold(), threshold = noise(top.goldSe(), last.goldSe());
        boolean rose = peak > 0 && rise > noise(first.goldSe(), top.goldSe());
        boolean fell = peak < curve.size() - 1 && drop > threshold;
        boolean rising = last.proxy() > top.proxy();
        return new Summary(first.method(), first.objective(), top.x(), top.kl(), first.gold(), top.gold(), last.gold(), last.goldSe(), rise, drop,
                threshold, first.proxy(), top.proxy(), last.proxy(), last.proxy() - first.proxy(), last.kl(), rose, fell, rising, fell && rising);
    }

    /** {@code ensemble} against {@code single}: positive deltas favour the ensemble except the drop's (a smaller fall is negative). */
    public static Comparison compare(Summary single, Summary ensemble) {
        double noise = noise(single.goldEndSe(), ensemble.goldEndSe()), dDrop = ensemble.goldDrop() - single.goldDrop(), dEnd = ensemble.goldEnd() - single.goldEnd();
        return new Comparison(ensemble.method(), ensemble.objective(), ensemble.klAtPeak() - single.klAtPeak(), ensemble.goldPeak() - single.goldPeak(),
                dDrop, dEnd, noise, ensemble.xAtPeak() > single.xAtPeak() && ensemble.klAtPeak() > single.klAtPeak(), -dDrop > noise, dEnd > noise);
    }

    // ------------------------------------------------------------------------------------------ the study

    /** Everything the run produced: the curves' points, their summaries and comparisons. */
    public record Result(List<Point> points, List<Summary> summaries, List<Comparison> comparisons, Path html) {}

    /**
     * Runs the study into {@code out}. {@code model}: π_ref as a causal LM in Hugging Face layout; null trains one the way the
     * quickstart does and saves it as {@code out/sft}.
     */
    public Result run(Path model, Path out) {
        long t0 = System.nanoTime();
        Torch.init();
        Task t = Task.byName(task);
        if (model != null && !Files.isRegularFile(model.resolve("config.json")))
            throw new UserError("--model " + model + ": not a model directory (expected config.json, *.safetensors, tokenizer.json)");
        Json.write(out.resolve("study_config.json"), Json.MAPPER.valueToTree(this));
        List<Task.Example> train = t.draws(Task.Split.TRAIN, 20_000, seed + 9), test = t.examples(Task.Split.TEST, prompts, seed + 1);
        int budget = t.maxCompletionChars() + 4;
        Map<String, String> facts = new LinkedHashMap<>();
        List<LlamaModel> rms = new ArrayList<>();
        HfModel.Loaded loaded = model == null ? null : HfModel.load(model, ScalarType.Float);
        Tokenizer tok = loaded != null ? loaded.tokenizer() : Tokenizer.writeBuiltin(out.resolve("tokenizer"));
        LlamaModel ref = loaded != null ? loaded.model() : null;
        try {
            // 0. π_ref: the given SFT model, or one trained as the quickstart trains it
            if (ref == null) ref = trainSft(t, tok, out, facts);
            else {
                if (!ref.config.isCausalLm()) throw new UserError("--model " + model + ": a reward model (score head), not a policy");
                facts.put("π_ref", model + String.format(" (%,d parameters)", ref.parameterCount()));
            }
            System.err.printf("study overoptimization: task %s, π_ref %,d parameters, seed %d -> %s%n", task, ref.parameterCount(), seed, out);

            // 1. a limited set of annotated pairs of π_ref's samples; K proxies learn from them, standardized on those samples
            List<PreferencePair> pairs = new ArrayList<>();
            List<RewardFunction.Sample> pool = new ArrayList<>();
            double agreement = annotate(ref, tok, t, train, budget, pairs, pool);
            facts.put("preference pairs", String.format("%d best-vs-worst pairs of 4 π_ref samples per training prompt, simulated annotator "
                    + "(Bradley–Terry temperature %s) agreeing with gold on %.1f%%", pairs.size(), annotatorTemperature, 100 * agreement));
            Proxy proxy = trainProxies(ref, tok, pairs, pool, rms, facts);

            // 2. best-of-N from a pool of bonMax π_ref samples per held-out prompt
            List<Point> points = new ArrayList<>();
            Samples bon = Samples.draw(ref, tok, test, bonMax, budget, seed + 11, "study: best-of-N pool");
            double[] gold = bon.gold(t);
            double[][] z = proxy.scores(bon.samples());
            for (Objective o : Objective.values()) points.addAll(bestOfNCurve(o, o.combine(z, stdWeight), z[0], gold, test.size(), bonMax));
            facts.put("proxy held-out accuracy", heldOutAccuracy(z, gold, test.size(), bonMax));
            for (Objective o : Objective.values()) {
                StringBuilder line = new StringBuilder(String.format("study: best-of-N, %-20s N: gold / proxy", o.label));
                for (Point p : curve(points, "bon", o)) line.append(String.format("  %d: %.3f / %+.2f", p.x(), p.gold(), p.proxy()));
                System.err.println(line);
            }

            // 3. GRPO against each objective, evaluated at checkpoints on the held-out prompts
            if (grpoSteps > 0)
                for (Objective o : Objective.values()) points.addAll(grpoCurve(o, ref, tok, t, train, test, budget, proxy));

            // 4. summaries and output
            List<Summary> summaries = new ArrayList<>();
            List<Comparison> comparisons = new ArrayList<>();
            for (String method : List.of("bon", "grpo")) {
                Map<Objective, Summary> byObjective = new EnumMap<>(Objective.class);
                for (Objective o : Objective.values()) {
                    List<Point> curve = curve(points, method, o);
                    if (!curve.isEmpty()) byObjective.put(o, summarize(curve));
                }
                summaries.addAll(byObjective.values());
                if (byObjective.containsKey(Objective.SINGLE))
                    for (Objective o : Objective.values())
                        if (o != Objective.SINGLE && byObjective.containsKey(o)) comparisons.add(compare(byObjective.get(Objective.SINGLE), byObjective.get(o)));
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            facts.put("total time", String.format("%.0f s on %d threads", seconds, Torch.threads()));
            facts.put("reproduce", reproduce(model));
            Path html = write(out, points, summaries, comparisons, facts, seconds);
            System.err.printf("study: done in %.0f s; %s%n", seconds, html);
            for (Summary s : summaries)
                System.err.printf("  %-4s %-22s gold %.3f -> peak %.3f (KL %.2f) -> %.3f; proxy %+.2f -> %+.2f; overoptimized %s%n", s.method(), s.objective().label,
                        s.goldStart(), s.goldPeak(), s.klAtPeak(), s.goldEnd(), s.proxyStart(), s.proxyEnd(), s.overoptimized());
            return new Result(points, summaries, comparisons, html);
        } finally {
            for (LlamaModel rm : rms) rm.close();
            if (ref != null) ref.close();
            tok.close();
        }
    }

    /** π_ref trained with the quickstart's SFT settings on its demonstrations (random flaws and systematic slips); saved as out/sft. */
    private LlamaModel trainSft(Task t, Tokenizer tok, Path out, Map<String, String> facts) {
        Quickstart q = Quickstart.DEFAULTS;
        ModelConfig cfg = ModelConfig.builtin(init, Tokenizer.BUILTIN_VOCAB, Tokenizer.BUILTIN_BOS, new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD);
        LlamaModel policy = LlamaModel.init(cfg, seed, ScalarType.Float);
        try {
            List<SftExample> demos = TaskData.demonstrations(t, 20_000, q.errorRate(), q.slipRate(), seed);
            System.err.printf("study: SFT of π_ref (%s, %,d parameters) on %d demonstrations, %d steps%n", init, policy.parameterCount(), demos.size(), sftSteps);
            Sft.Config sft = Configs.with(Sft.Config.DEFAULTS, "steps", sftSteps, "batchSize", q.sftBatch(), "lr", q.sftLr(), "weightDecay", 0.01,
                    "warmupSteps", Math.min(50, sftSteps / 10), "maxLength", 64, "keep", 1, "seed", seed, "loggingSteps", Math.max(1, sftSteps / 6));
            Sft.train(policy, demos, sft, session(tok));
            HfModel.save(out.resolve("sft"), policy, tok);
            facts.put("π_ref", String.format("%s model, %,d parameters, SFT %d steps × batch %d on demonstrations (%.0f%% random flaws, slip rate %.0f%%); saved as sft/",
                    init, policy.parameterCount(), sftSteps, q.sftBatch(), 100 * q.errorRate(), 100 * q.slipRate()));
            return policy;
        } catch (RuntimeException e) {
            policy.close();
            throw e;
        }
    }

    /**
     * Samples 4 completions per training prompt from π_ref, chunk by chunk, until {@code rmPairs} decidable pairs: the
     * annotator ranks them, best vs worst is a pair, gold ties are dropped. Every sample goes into {@code pool}. Returns the
     * annotator's agreement with gold.
     */
    private double annotate(LlamaModel ref, Tokenizer tok, Task t, List<Task.Example> train, int budget, List<PreferencePair> pairs,
                            List<RewardFunction.Sample> pool) {
        Annotator annotator = new Annotator(annotatorTemperature, seed + 7);
        int k = 4, agree = 0, chunk = 64;
        Progress progress = new Progress("study: sampling + annotating pairs", rmPairs);
        for (int from = 0; pairs.size() < rmPairs; from += chunk) {
            if (from >= train.size()) throw new UserError("study: π_ref's samples gave only " + pairs.size() + " decidable pairs from "
                    + train.size() + " prompts; lower --rm-pairs or train π_ref longer");
            List<Task.Example> batch = train.subList(from, Math.min(train.size(), from + chunk));
            Samples s = Samples.draw(ref, tok, batch, k, budget, seed + 5 + from, null);
            pool.addAll(s.samples());
            double[] gold = s.gold(t);
            for (int p = 0; p < batch.size() && pairs.size() < rmPairs; p++) {
                int[] order = annotator.rank(Arrays.copyOfRange(gold, p * k, (p + 1) * k));
                int b = p * k + order[0], w = p * k + order[k - 1];
                if (gold[b] == gold[w]) continue;                                     // a tie: not a training pair
                pairs.add(new PreferencePair(batch.get(p).prompt(), s.samples().get(b).completion(), s.samples().get(w).completion()));
                if (gold[b] > gold[w]) agree++;
            }
            progress.update(pairs.size());
        }
        return (double) agree / pairs.size();
    }

    /** K reward models from π_ref's trunk, each with its own score-head init and data order; standardized on {@code pool}. */
    private Proxy trainProxies(LlamaModel ref, Tokenizer tok, List<PreferencePair> pairs, List<RewardFunction.Sample> pool, List<LlamaModel> rms,
                               Map<String, String> facts) {
        List<RewardFunction> fns = new ArrayList<>();
        double[] mu = new double[ensembleSize], sigma = new double[ensembleSize];
        List<String> acc = new ArrayList<>();
        for (int k = 0; k < ensembleSize; k++) {
            long s = seed + 100 + k;
            LlamaModel rm = ref.withScoreHead(1, s);
            rms.add(rm);
            RewardModel.Config cfg = Configs.with(RewardModel.Config.DEFAULTS, "steps", rmSteps, "lr", rmLr, "batchSize", 32, "maxLength", 64,
                    "warmupSteps", Math.min(10, rmSteps / 10), "keep", 1, "seed", s, "loggingSteps", Math.max(1, rmSteps / 2));
            RewardModel.Result r = RewardModel.train(rm, pairs, cfg, session(tok));
            RewardFunction fn = Rewards.model("rm" + k, rm, tok, 0, 64, 64);
            double[] raw = fn.score(pool);
            mu[k] = mean(raw);
            sigma[k] = se(raw) * Math.sqrt(raw.length);                                  // the sample std
            if (!(sigma[k] > 1e-8)) throw new UserError("study: proxy " + k + " gives every π_ref sample the same score; raise --rm-steps or --rm-lr");
            fns.add(fn);
            acc.add(String.format("%.2f", r.finalAccuracy()));
            System.err.printf("study: proxy RM %d/%d trained (%d steps, last-batch accuracy %.2f, loss %.3f)%n", k + 1, ensembleSize, rmSteps, r.finalAccuracy(), r.finalLoss());
        }
        facts.put("proxy reward models", String.format("%d from π_ref's trunk with a fresh score head (seeds %d..%d: head init and data order), "
                + "%d steps × 32 pairs, lr %s; last-batch training accuracy %s; each standardized on π_ref's %d annotation samples",
                ensembleSize, seed + 100, seed + 99 + ensembleSize, rmSteps, num(rmLr), String.join(", ", acc), pool.size()));
        return new Proxy(fns, mu, sigma, stdWeight);
    }

    /** The K standardized proxies; {@link #function} turns one objective into the reward GRPO optimizes. */
    record Proxy(List<RewardFunction> members, double[] mu, double[] sigma, double lambda) {
        /** Standardized scores [member][sample]; {@code upTo} members (1 for the single proxy). */
        double[][] scores(List<RewardFunction.Sample> samples, int upTo) {
            double[][] z = new double[upTo][];
            for (int k = 0; k < upTo; k++) {
                double[] r = members.get(k).score(samples);
                for (int i = 0; i < r.length; i++) r[i] = (r[i] - mu[k]) / sigma[k];
                z[k] = r;
            }
            return z;
        }

        double[][] scores(List<RewardFunction.Sample> samples) { return scores(samples, members.size()); }

        RewardFunction function(Objective o) {
            return new RewardFunction() {
                public String name() { return "proxy"; }

                public double[] score(List<RewardFunction.Sample> samples) {
                    return o.combine(scores(samples, o == Objective.SINGLE ? 1 : members.size()), lambda);
                }
            };
        }
    }

    /** Best-of-N for N = 1, 2, 4, …, m from m samples per prompt (prompt-major), by the unbiased estimator over subsets. */
    static List<Point> bestOfNCurve(Objective o, double[] objective, double[] single, double[] gold, int nPrompts, int m) {
        List<Point> out = new ArrayList<>();
        for (int n = 1; n <= m; n *= 2) {
            double[] g = new double[nPrompts], p = new double[nPrompts], p0 = new double[nPrompts];
            for (int i = 0; i < nPrompts; i++) {
                double[] s = Arrays.copyOfRange(objective, i * m, (i + 1) * m);
                g[i] = bestOfNExpectation(s, Arrays.copyOfRange(gold, i * m, (i + 1) * m), n);
                p[i] = bestOfNExpectation(s, s, n);
                p0[i] = bestOfNExpectation(s, Arrays.copyOfRange(single, i * m, (i + 1) * m), n);
            }
            out.add(new Point("bon", o, n, bonKl(n), mean(g), se(g), mean(p), se(p), mean(p0)));
        }
        return out;
    }

    /** Pairwise accuracy against gold on the held-out pool (samples 2j vs 2j+1 of each prompt, gold ties left out), per objective. */
    private String heldOutAccuracy(double[][] z, double[] gold, int nPrompts, int m) {
        List<String> parts = new ArrayList<>();
        for (Objective o : Objective.values()) {
            double[] s = o.combine(z, stdWeight);
            double right = 0, n = 0;
            for (int i = 0; i < nPrompts; i++)
                for (int j = i * m; j + 1 < (i + 1) * m; j += 2) {
                    if (gold[j] == gold[j + 1]) continue;
                    n++;
                    double agree = Math.signum(gold[j] - gold[j + 1]) * Math.signum(s[j] - s[j + 1]);
                    right += agree > 0 ? 1 : agree == 0 ? 0.5 : 0;
                }
            parts.add(String.format("%s %.1f%%", o.label, 100 * right / Math.max(1, n)));
        }
        return String.join(", ", parts) + " (pairs of π_ref samples on the held-out prompts with different gold rewards)";
    }

    /** GRPO's prompts per step and completions per prompt (the group); β = 0, GRPO's other settings its defaults. */
    static final int GRPO_PROMPTS = 8, GRPO_GROUP = 8;

    /** GRPO from π_ref against one objective; gold, proxy and exact KL(π‖π_ref) on the held-out prompts at step 0 and every evalEvery steps. */
    private List<Point> grpoCurve(Objective o, LlamaModel ref, Tokenizer tok, Task t, List<Task.Example> train, List<Task.Example> test, int budget, Proxy proxy) {
        List<Point> curve = new ArrayList<>();
        System.err.printf("study: GRPO against the %s, %d steps%n", o.label, grpoSteps);
        try (LlamaModel policy = ref.copy(ScalarType.Float)) {
            Session io0 = session(tok);
            Point start = checkpoint(o, 0, policy, ref, tok, t, test, budget, proxy);
            curve.add(start);
            io0.metrics().log("eval/grpo", 0, metrics(start));
            Grpo.Config cfg = Configs.with(Grpo.Config.DEFAULTS, "steps", grpoSteps, "promptsPerStep", GRPO_PROMPTS, "samplesPerPrompt", GRPO_GROUP,
                    "maxNewTokens", budget, "lr", grpoLr, "warmupSteps", Math.min(5, grpoSteps), "evalEvery", evalEvery, "keep", 1, "seed", seed, "loggingSteps", evalEvery);
            Session io = io0.withEval(step -> {
                Point p = checkpoint(o, step, policy, ref, tok, t, test, budget, proxy);
                curve.add(p);
                return metrics(p);
            });
            Grpo.train(policy, null, Rewards.Weighted.of(proxy.function(o)), train, cfg, io);
        }
        return curve;
    }

    private Point checkpoint(Objective o, long step, LlamaModel policy, LlamaModel ref, Tokenizer tok, Task t, List<Task.Example> test, int budget, Proxy proxy) {
        Samples s = Samples.draw(policy, tok, test, evalSamples, budget, seed + 17, null);   // the same draws at every checkpoint
        double[] gold = s.gold(t);
        double[][] z = proxy.scores(s.samples(), o == Objective.SINGLE ? 1 : proxy.members().size());
        double[] obj = o.combine(z, stdWeight);
        double[] kl = ModelEval.sequenceKl(policy, ref, s.promptIds(), s.completionIds(), tok.padId);
        int n = test.size(), k = evalSamples;
        Point p = new Point("grpo", o, step, mean(kl), mean(perPrompt(gold, n, k)), se(perPrompt(gold, n, k)),
                mean(perPrompt(obj, n, k)), se(perPrompt(obj, n, k)), mean(z[0]));
        return p;
    }

    /** A checkpoint as the loop logs it on stderr ([eval/grpo] step N …). */
    private static Map<String, Double> metrics(Point p) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("gold_reward", p.gold());
        m.put("proxy_reward", p.proxy());
        m.put("kl", p.kl());
        return m;
    }

    /** No files (this study writes its own outputs); the loop's log lines on stderr are its progress. */
    private static Session session(Tokenizer tok) {
        return Session.inMemory(tok).withMetrics(dev.align4j.core.Metrics.inMemory());
    }

    /** k completions per prompt at temperature 1, prompt-major (row i·k + j is prompt i's j-th). */
    record Samples(List<Task.Example> prompts, int k, List<int[]> promptIds, List<Completion> outs) {
        static Samples draw(LlamaModel m, Tokenizer tok, List<Task.Example> prompts, int k, int budget, long seed, String label) {
            List<int[]> ids = new ArrayList<>();
            for (Task.Example e : prompts) {
                int[] p = tok.encode(e.prompt(), true);
                for (int j = 0; j < k; j++) ids.add(p);
            }
            List<Completion> outs = new ArrayList<>(ids.size());
            Progress progress = label == null ? null : new Progress(label, ids.size());
            SamplingConfig sc = new SamplingConfig(budget, 1.0, 0, 1.0, seed, List.of());
            for (int from = 0, b = 0; from < ids.size(); from += 256, b++)
                try (PointerScope scope = new PointerScope()) {
                    outs.addAll(Sampler.generate(m, tok, ids.subList(from, Math.min(ids.size(), from + 256)), sc.withSeed(seed * 1_000 + b)));
                    if (progress != null) progress.update(outs.size());
                }
            return new Samples(prompts, k, ids, outs);
        }

        List<RewardFunction.Sample> samples() {
            List<RewardFunction.Sample> s = new ArrayList<>(outs.size());
            for (int i = 0; i < outs.size(); i++)
                s.add(new RewardFunction.Sample(prompts.get(i / k), outs.get(i).text(), outs.get(i).tokens().length, outs.get(i).finishReason().equals("length")));
            return s;
        }

        List<int[]> completionIds() { return outs.stream().map(Completion::tokens).toList(); }

        double[] gold(Task t) {
            double[] g = new double[outs.size()];
            for (int i = 0; i < g.length; i++) g[i] = t.reward(prompts.get(i / k), outs.get(i).text());
            return g;
        }
    }

    static double[] perPrompt(double[] v, int n, int k) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = mean(Arrays.copyOfRange(v, i * k, (i + 1) * k));
        return out;
    }

    static double mean(double[] v) { return Arrays.stream(v).average().orElse(Double.NaN); }

    /** Standard error of the mean (sample std / √n; 0 for one value). */
    static double se(double[] v) {
        if (v.length < 2) return 0;
        double m = mean(v), ss = 0;
        for (double x : v) ss += (x - m) * (x - m);
        return Math.sqrt(ss / (v.length - 1) / v.length);
    }

    static List<Point> curve(List<Point> points, String method, Objective o) {
        return points.stream().filter(p -> p.method().equals(method) && p.objective() == o).toList();
    }

    private String reproduce(Path model) {
        return String.format(Locale.ROOT, "./align4j study overoptimization --task %s%s --seed %d --rm-pairs %d --rm-steps %d --ensemble-size %d"
                        + " --rm-lr %s --annotator-temperature %s --prompts %d --bon-max %d --grpo-steps %d --grpo-lr %s --eval-every %d --eval-samples %d --std-weight %s",
                task, model == null ? " --init " + init + " --sft-steps " + sftSteps : " --model " + model, seed, rmPairs, rmSteps, ensembleSize, num(rmLr),
                num(annotatorTemperature), prompts, bonMax, grpoSteps, num(grpoLr), evalEvery, evalSamples, num(stdWeight));
    }

    /** A setting as a person writes it: 0.0003, 0.1, 1. */
    static String num(double x) { return java.math.BigDecimal.valueOf(x).stripTrailingZeros().toPlainString(); }

    // ------------------------------------------------------------------------------------------ output

    /** study.json, the four plots and study.html, each written atomically; returns the page. */
    private Path write(Path out, List<Point> points, List<Summary> summaries, List<Comparison> comparisons, Map<String, String> facts, double seconds) {
        ObjectNode root = Json.object();
        root.set("settings", Json.MAPPER.valueToTree(this));
        ObjectNode f = root.putObject("facts");
        facts.forEach(f::put);
        root.put("seconds", seconds);
        ArrayNode pts = root.putArray("points");
        for (Point p : points) {
            ObjectNode o = pts.addObject().put("method", p.method()).put("objective", p.objective().key());
            o.put(p.method().equals("bon") ? "n" : "step", p.x());
            o.put("kl", p.kl()).put("gold", p.gold()).put("gold_se", p.goldSe()).put("proxy", p.proxy()).put("proxy_se", p.proxySe()).put("proxy_single", p.proxySingle());
        }
        ArrayNode sum = root.putArray("summaries");
        for (Summary s : summaries) {
            ObjectNode o = Json.MAPPER.valueToTree(s);
            o.put("objective", s.objective().key());
            sum.add(o);
        }
        ArrayNode cmp = root.putArray("comparisons");
        for (Comparison c : comparisons) {
            ObjectNode o = Json.MAPPER.valueToTree(c);
            o.put("objective", c.objective().key());
            cmp.add(o);
        }
        Json.write(out.resolve("study.json"), root);

        List<String> figures = new ArrayList<>();
        for (String method : List.of("bon", "grpo")) {
            Map<String, double[][]> gold = new LinkedHashMap<>(), proxy = new LinkedHashMap<>();
            for (Objective o : Objective.values()) {
                List<Point> c = curve(points, method, o);
                if (c.isEmpty()) continue;
                gold.put(o.label, c.stream().map(p -> new double[]{p.kl(), p.gold()}).toArray(double[][]::new));
                proxy.put(o.label, c.stream().map(p -> new double[]{p.kl(), p.proxy()}).toArray(double[][]::new));
            }
            if (gold.isEmpty()) continue;
            String name = method.equals("bon") ? "best-of-N" : "GRPO";
            Plot.lines(out.resolve(method + "_gold.png"), name + ": gold reward against KL", "KL(pi || pi_ref), nats", "gold reward", gold);
            Plot.lines(out.resolve(method + "_proxy.png"), name + ": optimized proxy against KL", "KL(pi || pi_ref), nats", "proxy (pi_ref std units)", proxy);
            figures.add(method + "_gold.png");
            figures.add(method + "_proxy.png");
        }
        Path html = out.resolve("study.html");
        AtomicFiles.writeString(html, html(points, summaries, comparisons, facts, figures));
        return html;
    }

    private String html(List<Point> points, List<Summary> summaries, List<Comparison> comparisons, Map<String, String> facts, List<String> figures) {
        StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>align4j study: reward over-optimization</title><style>"
                + "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}"
                + "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
                + ".yes{color:#b00;font-weight:bold}img{max-width:100%}</style></head><body>\n");
        h.append("<h1>Reward over-optimization on <code>").append(esc(task)).append("</code></h1>\n");
        h.append("<p>Gao et al. 2023 (best-of-N and RL against a proxy reward model: the gold reward peaks and falls while the proxy keeps rising); "
                + "Coste et al. 2024 (ensembles of proxies, optimized through their mean, minimum or mean − λ·std, delay or reduce the fall). "
                + "Proxy values are in standard deviations of π_ref's samples; KL(π‖π_ref) in nats: analytic log N − (N−1)/N for best-of-N, "
                + "exact over the vocabulary on π's samples for GRPO.</p>\n<table>");
        facts.forEach((k, v) -> h.append("<tr><th>").append(esc(k)).append("</th><td style=\"text-align:left\">").append(esc(v)).append("</td></tr>"));
        h.append("</table>\n<h2>Does the gold reward peak and fall while the proxy keeps rising?</h2>\n<table><tr><th>method</th><th>objective</th>"
                + "<th>gold start</th><th>gold peak</th><th>at N / step</th><th>KL at peak</th><th>gold end</th><th>drop</th><th>2·SE</th>"
                + "<th>proxy start</th><th>proxy at peak</th><th>proxy end</th><th>KL end</th><th>gold rose</th><th>gold fell</th><th>proxy kept rising</th>"
                + "<th>over-optimized</th></tr>");
        for (Summary s : summaries)
            h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%.3f</td><td>%.3f</td><td>%d</td><td>%.2f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
                            + "<td>%+.2f</td><td>%+.2f</td><td>%+.2f</td><td>%.2f</td>%s%s%s%s</tr>", s.method(), esc(s.objective().label), s.goldStart(), s.goldPeak(), s.xAtPeak(),
                    s.klAtPeak(), s.goldEnd(), s.goldDrop(), s.dropThreshold(), s.proxyStart(), s.proxyAtPeak(), s.proxyEnd(), s.klEnd(),
                    yes(s.goldRose()), yes(s.goldFell()), yes(s.proxyKeptRising()), yes(s.overoptimized())));
        h.append("</table>\n<h2>Ensembles against the single proxy</h2>\n<table><tr><th>method</th><th>objective</th><th>Δ KL at peak</th><th>Δ gold peak</th>"
                + "<th>Δ drop</th><th>Δ gold end</th><th>noise (2·SE)</th><th>delays the peak</th><th>reduces the fall</th><th>higher final gold</th></tr>");
        for (Comparison c : comparisons)
            h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%+.2f</td><td>%+.3f</td><td>%+.3f</td><td>%+.3f</td><td>%.3f</td>%s%s%s</tr>", c.method(),
                    esc(c.objective().label), c.klAtPeakDelta(), c.goldPeakDelta(), c.goldDropDelta(), c.goldEndDelta(), c.noise(), yes(c.delaysPeak()),
                    yes(c.reducesFall()), yes(c.higherFinalGold())));
        h.append("</table>\n<p>Changes count only beyond twice the standard error over held-out prompts. Best-of-N curves of different "
                + "objectives select from one pool of samples, so their differences are correlated and this threshold is conservative for them.</p>\n");
        for (String fig : figures) h.append("<img src=\"").append(fig).append("\" alt=\"").append(fig).append("\">\n");
        h.append("<h2>Every point</h2>\n<table><tr><th>method</th><th>objective</th><th>N / step</th><th>KL</th><th>gold</th><th>± SE</th><th>proxy</th><th>± SE</th><th>single RM</th></tr>");
        for (Point p : points)
            h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%d</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%+.3f</td><td>%.3f</td><td>%+.3f</td></tr>",
                    p.method(), esc(p.objective().label), p.x(), p.kl(), p.gold(), p.goldSe(), p.proxy(), p.proxySe(), p.proxySingle()));
        return h.append("</table>\n</body></html>\n").toString();
    }

    private static String yes(boolean b) { return b ? "<td class=\"yes\">yes</td>" : "<td>no</td>"; }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
