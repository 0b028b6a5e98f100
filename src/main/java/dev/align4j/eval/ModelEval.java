package dev.align4j.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.Progress;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.GoldPreference;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.nio.file.Path;
import java.util.*;
import java.util.function.ToDoubleFunction;

/**
 * Evaluates models side by side the way papers report them, on held-out prompts of a built-in task (its test split) or
 * of a user's prompt file: greedy completions (gold reward, accuracy, the reward functions, a reward model's score,
 * length), K samples per prompt (pass@k by the unbiased estimator, maj@k), and against a reference π_ref the win rate
 * of greedy completions and the exact KL(π‖π_ref) over the full vocabulary on π's own samples. A recipe trained on
 * several seeds is summarised by the IQM with a stratified-bootstrap CI ({@link Stats#summary}). Reads models and
 * writes the report; never takes gradients.
 *
 * <p>Shapes: B sequences, T tokens, V vocab.
 */
public final class ModelEval {
    private ModelEval() {}

    /** Bootstrap replicates of a group's confidence intervals. */
    static final int BOOTSTRAP_REPS = 2000;

    /**
     * @param prompts      held-out prompts: drawn from the task's test split, or the first N rows of a prompt file
     * @param samples      K completions per prompt for pass@k and maj@k (and, at temperature 1, for the KL)
     * @param temperature  temperature of the K samples (0 = greedy: every sample the same)
     * @param maxNewTokens generation budget; 0 = the task's (its longest answer + 4), or 64 for a prompt file
     * @param batchSize    rows per generation batch
     * @param seed         the task's prompts and every sample follow it
     */
    public record Config(int prompts, int samples, double temperature, int maxNewTokens, int batchSize, long seed) {
        public static final Config DEFAULTS = Configs.of(Config.class, Map.of(), "prompts", 200, "samples", 8, "temperature", 1.0,
                "maxNewTokens", 0, "batchSize", 64, "seed", 0L);

        public Config {
            UserError.check(prompts >= 1, "--prompts must be >= 1: %s", prompts);
            UserError.check(samples >= 1, "--samples must be >= 1: %s", samples);
            UserError.check(temperature >= 0, "--temperature must be >= 0 (0 = greedy): %s", temperature);
            UserError.check(maxNewTokens >= 0, "--max-new-tokens must be >= 0 (0 = the task's budget, 64 for a prompt file): %s", maxNewTokens);
            UserError.check(batchSize >= 1, "--batch-size must be >= 1: %s", batchSize);
        }

        /** The generation budget on {@code task} (null: a prompt file). */
        public int budget(Task task) {
            return maxNewTokens > 0 ? maxNewTokens : task != null ? Math.max(4, task.maxCompletionChars() + 4) : 64;
        }
    }

    /**
     * What every model is scored by. {@code task} gives gold reward, accuracy, pass@k and maj@k (null for a prompt file);
     * {@code reward} the reward functions ({@code reward}, {@code reward/NAME}; may be null with a task); {@code rm} a reward
     * model for {@code rm_score} (may be null). The win rate's judge: the gold reward with a task, else {@code reward}'s total.
     */
    public record Suite(Task task, Rewards.Weighted reward, RewardFunction rm) {
        public Suite {
            if (task == null && reward == null) throw new IllegalArgumentException("a prompt file is scored by reward functions: give some");
        }

        public String judgeName() { return task != null ? "gold" : "reward"; }

        double[] judge(List<RewardFunction.Sample> s) {
            return task != null ? s.stream().mapToDouble(x -> task.reward(x.example(), x.completion())).toArray() : reward.score(s).total();
        }
    }

    /** The reference π_ref: its model (for the KL) and the judge's scores of its greedy completions (for the win rate). */
    public record Reference(LlamaModel model, double[] judged) {
        public static Reference of(LlamaModel model, Tokenizer tok, List<Task.Example> prompts, Suite suite, Config cfg) {
            return new Reference(model, suite.judge(greedy(model, tok, prompts, cfg.budget(suite.task()), cfg.batchSize(), "reference")));
        }
    }

    /**
     * What a head-to-head comparison needs from one evaluated model: the judge's score of each greedy completion (in
     * prompt order), and on a task whose gold preference sees completions through classes ({@link GoldPreference.Classes},
     * e.g. {@code cycle}) each prompt's class distribution from the K samples at temperature 1 (else null).
     */
    public record Profile(double[] judged, List<double[]> classes) {}

    /** One evaluated model: its metrics and its {@link Profile}. */
    public record Run(Map<String, Double> metrics, Profile profile) {}

    /** Every metric of one model, by the names of docs/metrics.md ({@code gold_reward}, {@code pass@1}, {@code win_rate}, {@code kl}, …). */
    public static Map<String, Double> evaluate(LlamaModel model, Tokenizer tok, List<Task.Example> prompts, Suite suite, Reference ref, Config cfg, String label) {
        return run(model, tok, prompts, suite, ref, cfg, label).metrics();
    }

    /**
     * {@link #evaluate}, keeping what head-to-head win rates need. On a {@link GoldPreference.Classes} task it adds the
     * policy's {@code exploitability} (eval.Game: max_i (M p̄)_i − ½ on the class distribution pooled over prompts, from
     * the K samples at temperature 1 — the samples of pass@k when {@code --temperature} is 1, else K more).
     */
    public static Run run(LlamaModel model, Tokenizer tok, List<Task.Example> prompts, Suite suite, Reference ref, Config cfg, String label) {
        Task task = suite.task();
        int budget = cfg.budget(task), k = cfg.samples(), n = prompts.size();
        Map<String, Double> m = new LinkedHashMap<>();
        // 1. greedy completions, scored by the task
        List<RewardFunction.Sample> greedy = greedy(model, tok, prompts, budget, cfg.batchSize(), label + " greedy");
        if (task != null) {
            m.put("gold_reward", mean(greedy, s -> task.reward(s.example(), s.completion())));
            m.put("accuracy", mean(greedy, s -> task.correct(s.example(), s.completion()) ? 1 : 0));
        }
        // 2. K samples per prompt: pass@k from each prompt's count of correct samples, maj@k from its most frequent answer
        List<int[]> ids = encode(tok, prompts);
        List<Completion> sampled = null;
        if (task != null) {
            sampled = generate(model, tok, ids, k, new SamplingConfig(budget, cfg.temperature(), 0, 1, cfg.seed(), null), cfg.batchSize(), label + " samples");
            int[] correct = new int[n];
            double maj = 0, distinct = 0;
            for (int i = 0; i < n; i++) {
                List<String> answers = new ArrayList<>();
                distinct += sampled.subList(i * k, (i + 1) * k).stream().map(Completion::text).distinct().count();
                for (Completion c : sampled.subList(i * k, (i + 1) * k)) {
                    if (task.correct(prompts.get(i), c.text())) correct[i]++;
                    answers.add(Task.firstLine(c.text()));
                }
                String vote = Stats.majority(answers);
                if (vote != null && task.correct(prompts.get(i), vote)) maj++;
            }
            m.put("pass@1", meanPassAtK(correct, k, 1));
            m.put("pass@" + k, meanPassAtK(correct, k, k));
            m.put("maj@" + k, maj / n);
            m.put("distinct@" + k, distinct / n);
        }
        // 3. greedy completions, scored by the reward functions and the reward model
        if (suite.reward() != null) {
            Rewards.Scored sc = suite.reward().score(greedy);
            m.put("reward", Arrays.stream(sc.total()).average().orElse(0));
            if (sc.components().size() > 1) sc.componentMeans().forEach((name, v) -> m.put("reward/" + name, v));
        }
        if (suite.rm() != null) m.put("rm_score", Arrays.stream(suite.rm().score(greedy)).average().orElse(0));
        // 4. against the reference: win rate of greedy completions, KL(π‖π_ref) on samples from π (temperature 1)
        if (ref != null) {
            m.put("win_rate", Stats.winRate(suite.judge(greedy), ref.judged(), 1e-9));
            List<Completion> fromPi = sampled != null && cfg.temperature() == 1 ? sampled
                    : generate(model, tok, ids, k, new SamplingConfig(budget, 1.0, 0, 1, cfg.seed() + 1, null), cfg.batchSize(), label + " kl samples");
            List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
            for (int i = 0; i < fromPi.size(); i++) { p.add(ids.get(i / k)); c.add(fromPi.get(i).tokens()); }
            m.put("kl", Arrays.stream(sequenceKl(model, ref.model(), p, c, tok.padId)).average().orElse(0));
        }
        // 5. the preference game: each prompt's class distribution under π (temperature 1), its exploitability
        List<double[]> classes = null;
        if (task instanceof GoldPreference.Classes g) {
            List<Completion> atOne = sampled != null && cfg.temperature() == 1 ? sampled
                    : generate(model, tok, ids, k, new SamplingConfig(budget, 1.0, 0, 1, cfg.seed() + 2, null), cfg.batchSize(), label + " game samples");
            classes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                double[] p = new double[g.classNames().size()];
                for (Completion c : atOne.subList(i * k, (i + 1) * k)) p[g.classOf(prompts.get(i), c.text())] += 1.0 / k;
                classes.add(p);
            }
            m.put("exploitability", Game.exploitability(Game.pooled(classes), g.payoff()));
        }
        // 6. a multi-objective task: each objective's mean on the greedy completions (the axes of the Pareto front)
        if (task != null && task.objectives().size() > 1)
            for (int j = 0; j < task.objectives().size(); j++) {
                int k2 = j;
                m.put("objective/" + task.objectives().get(j), mean(greedy, s -> task.rewards(s.example(), s.completion())[k2]));
            }
        m.put("completion_length", mean(greedy, s -> s.completionTokens()));
        return new Run(m, new Profile(suite.judge(greedy), classes));
    }

    /**
     * The head-to-head win rate W(a ≻ b) of two evaluated models, one value per paired run (seed). {@code judge} says how
     * it was computed: {@code "gold preference"} — exact, W = Σ_x p_a(x)ᵀ M p_b(x) / n over the per-prompt class
     * distributions (eval.Game) — or the suite's judge on greedy completions (P(a's score &gt; b's) + ½ P(tie)).
     */
    public record HeadToHead(String a, String b, String judge, double[] perSeed) {
        public double mean() { return Arrays.stream(perSeed).average().orElse(Double.NaN); }
        public double min() { return Arrays.stream(perSeed).min().orElse(Double.NaN); }
        public double max() { return Arrays.stream(perSeed).max().orElse(Double.NaN); }
    }

    /**
     * Every ordered pair of groups (a before b in the list) compared head to head. Runs are paired by index, so give
     * each recipe's seeds in the same order (seed i of a meets seed i of b); a single-run group meets every run of the
     * other. Pairs of groups with different numbers of runs (neither 1) are left out. Needs profiles on every group.
     */
    public static List<HeadToHead> headToHead(List<Group> groups, Task task) {
        List<HeadToHead> out = new ArrayList<>();
        double[][] payoff = task instanceof GoldPreference.Classes g ? g.payoff() : null;
        for (int i = 0; i < groups.size(); i++)
            for (int j = i + 1; j < groups.size(); j++) {
                Group a = groups.get(i), b = groups.get(j);
                int na = a.profiles().size(), nb = b.profiles().size();
                if (na == 0 || nb == 0 || (na != nb && na != 1 && nb != 1)) continue;
                int n = Math.max(na, nb);
                double[] w = new double[n];
                boolean exact = payoff != null;
                for (int r = 0; r < n; r++) {
                    Profile pa = a.profiles().get(na == 1 ? 0 : r), pb = b.profiles().get(nb == 1 ? 0 : r);
                    exact &= pa.classes() != null && pb.classes() != null;
                    w[r] = exact ? Game.winRate(pa.classes(), pb.classes(), payoff) : Stats.winRate(pa.judged(), pb.judged(), 1e-9);
                }
                out.add(new HeadToHead(a.label(), b.label(), exact ? "gold preference" : task != null ? "gold reward" : "reward", w));
            }
        return out;
    }

    /** mean over prompts of pass@k = 1 − C(n−c, k) / C(n, k), c the prompt's correct samples out of n (Chen et al. 2021). */
    static double meanPassAtK(int[] correct, int n, int k) {
        return Arrays.stream(correct).mapToDouble(c -> Stats.passAtK(n, c, k)).average().orElse(0);
    }

    /**
     * Exact KL(π‖π_ref) of each sequence over the full vocabulary, summed over its completion positions. Both models
     * read π's tokens, so they must share the vocabulary. Batches hold about 2^26 logits (256 MB in fp32). No gradients.
     */
    public static double[] sequenceKl(LlamaModel policy, LlamaModel ref, List<int[]> prompts, List<int[]> completions, int padId) {
        double[] out = new double[prompts.size()];
        int longest = 1;
        for (int i = 0; i < out.length; i++) longest = Math.max(longest, prompts.get(i).length + completions.get(i).length);
        int rows = Math.max(1, (1 << 26) / (longest * policy.config.vocabSize()));
        for (int from = 0; from < out.length; from += rows) {
            int to = Math.min(out.length, from + rows);
            try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                SeqBatch batch = SeqBatch.of(prompts.subList(from, to), completions.subList(from, to), padId);
                double[] kl = Torch.toDoubles(klPerSequence(policy.logits(batch.ids(), null), ref.logits(batch.ids(), null), Scoring.mask(batch)));
                System.arraycopy(kl, 0, out, from, kl.length);
            }
        }
        return out;
    }

    /**
     * KL(π‖π_ref) = Σ_t mask_t · Σ_v p_t(v) (log p_t(v) − log q_t(v)), each position's term clamped at 0 (it is ≥ 0 but for
     * rounding). logits and refLogits (B, T, V): position t predicts token t + 1; mask (B, T−1) as {@link Scoring#mask}. → (B)
     */
    static Tensor klPerSequence(Tensor logits, Tensor refLogits, Tensor mask) {
        long t = logits.size(1);
        Tensor lp = torch.log_softmax(logits.narrow(1, 0, t - 1), -1);                       // (B, T−1, V) log π
        Tensor lq = torch.log_softmax(refLogits.narrow(1, 0, t - 1), -1);                    // (B, T−1, V) log π_ref
        Tensor perToken = lp.exp().mul(lp.sub(lq)).sum(new long[]{-1}, false, new ScalarTypeOptional()).clamp_min(Torch.s(0.0)); // (B, T−1)
        return perToken.mul(mask).sum(new long[]{1}, false, new ScalarTypeOptional());
    }

    /** Greedy completions of {@code prompts}, as reward functions take them. */
    static List<RewardFunction.Sample> greedy(LlamaModel model, Tokenizer tok, List<Task.Example> prompts, int budget, int batchSize, String label) {
        List<Completion> out = generate(model, tok, encode(tok, prompts), 1, SamplingConfig.greedy(budget), batchSize, label);
        List<RewardFunction.Sample> s = new ArrayList<>();
        for (int i = 0; i < out.size(); i++)
            s.add(new RewardFunction.Sample(prompts.get(i), out.get(i).text(), out.get(i).tokens().length, out.get(i).finishReason().equals("length")));
        return s;
    }

    /** {@code n} completions per prompt, prompt-major (row i·n + j is prompt i's j-th); batch b of {@code batchSize} rows samples with seed + b. */
    static List<Completion> generate(LlamaModel model, Tokenizer tok, List<int[]> prompts, int n, SamplingConfig sc, int batchSize, String label) {
        List<int[]> rows = new ArrayList<>();
        for (int[] p : prompts) for (int j = 0; j < n; j++) rows.add(p);
        List<Completion> out = new ArrayList<>(rows.size());
        Progress progress = new Progress("eval " + label, rows.size());
        for (int from = 0, b = 0; from < rows.size(); from += batchSize, b++) {
            out.addAll(Sampler.generate(model, tok, rows.subList(from, Math.min(rows.size(), from + batchSize)), sc.withSeed(sc.seed() + b)));
            progress.update(out.size());
        }
        return out;
    }

    private static List<int[]> encode(Tokenizer tok, List<Task.Example> prompts) {
        return prompts.stream().map(e -> tok.encode(e.prompt(), true)).toList();
    }

    private static double mean(List<RewardFunction.Sample> s, ToDoubleFunction<RewardFunction.Sample> f) {
        return s.stream().mapToDouble(f).average().orElse(0);
    }

    // ------------------------------------------------------------------------------------------ groups and output

    /** One recipe: a model directory, or the run folders of one recipe trained on several seeds, with each run's metrics. */
    public record Group(String label, List<Path> dirs, List<Map<String, Double>> runs, List<Profile> profiles) {
        /** A group without profiles (no head-to-head comparisons). */
        public Group(String label, List<Path> dirs, List<Map<String, Double>> runs) { this(label, dirs, runs, List.of()); }

        /** A group of evaluated runs. */
        public static Group of(String label, List<Path> dirs, List<Run> runs) {
            return new Group(label, dirs, runs.stream().map(Run::metrics).toList(), runs.stream().map(Run::profile).toList());
        }

        /** Each metric over the seeds: IQM, 95% CI, mean, min, max. */
        public Map<String, Stats.Summary> aggregate() {
            Map<String, Stats.Summary> out = new LinkedHashMap<>();
            for (String key : runs.get(0).keySet())
                out.put(key, Stats.summary(runs.stream().mapToDouble(r -> r.get(key)).toArray(), BOOTSTRAP_REPS, 0));
            return out;
        }
    }

    /** Everything as one JSON object: the settings, and per model each run's metrics and the aggregate over its seeds. */
    public static ObjectNode json(ObjectNode settings, List<Group> groups) { return json(settings, groups, List.of()); }

    /**
     * The Pareto front of the evaluated models over a multi-objective task's objectives ({@code objective/NAME}, all to be
     * maximised), each model at its mean over seeds: the labels no other model dominates (at least as good on every
     * objective and better on one). Null with fewer than two objectives.
     */
    public record Pareto(List<String> objectives, List<String> labels, double[][] points, List<String> front) {}

    public static Pareto pareto(List<Group> groups) {
        if (groups.isEmpty()) return null;
        List<String> objectives = groups.get(0).runs().get(0).keySet().stream().filter(k -> k.startsWith("objective/")).toList();
        if (objectives.size() < 2) return null;
        double[][] pts = new double[groups.size()][objectives.size()];
        for (int i = 0; i < groups.size(); i++)
            for (int j = 0; j < objectives.size(); j++) {
                String k = objectives.get(j);
                pts[i][j] = groups.get(i).runs().stream().mapToDouble(r -> r.getOrDefault(k, Double.NaN)).average().orElse(Double.NaN);
            }
        boolean[] keep = nonDominated(pts);
        List<String> front = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) if (keep[i]) front.add(groups.get(i).label());
        return new Pareto(objectives, groups.stream().map(Group::label).toList(), pts, front);
    }

    /** Which points no other dominates (maximising every coordinate; a point with a NaN coordinate is never on the front). */
    public static boolean[] nonDominated(double[][] pts) {
        boolean[] keep = new boolean[pts.length];
        for (int i = 0; i < pts.length; i++) {
            keep[i] = Arrays.stream(pts[i]).allMatch(Double::isFinite);
            for (int o = 0; o < pts.length && keep[i]; o++) {
                if (o == i || !Arrays.stream(pts[o]).allMatch(Double::isFinite)) continue;
                boolean geq = true, gt = false;
                for (int j = 0; j < pts[i].length; j++) { geq &= pts[o][j] >= pts[i][j]; gt |= pts[o][j] > pts[i][j]; }
                if (geq && gt) keep[i] = false;
            }
        }
        return keep;
    }

    /** {@link #json(ObjectNode, List)} with the head-to-head win rates ({@code head_to_head}: a, b, judge, mean, min, max, runs). */
    public static ObjectNode json(ObjectNode settings, List<Group> groups, List<HeadToHead> h2h) {
        ObjectNode root = Json.object();
        root.set("settings", settings);
        var models = root.putArray("models");
        for (Group g : groups) {
            ObjectNode o = models.addObject().put("label", g.label()).put("seeds", g.runs().size());
            var runs = o.putArray("runs");
            for (int i = 0; i < g.runs().size(); i++) {
                ObjectNode r = runs.addObject().put("dir", g.dirs().get(i).toString());
                ObjectNode mm = r.putObject("metrics");
                g.runs().get(i).forEach(mm::put);
            }
            ObjectNode agg = o.putObject("aggregate");
            g.aggregate().forEach((k, s) -> agg.putObject(k).put("iqm", s.iqm()).put("ci_low", s.ciLow()).put("ci_high", s.ciHigh())
                    .put("mean", s.mean()).put("min", s.min()).put("max", s.max()));
        }
        Pareto pf = pareto(groups);
        if (pf != null) {
            ObjectNode o = root.putObject("pareto");
            var obj = o.putArray("objectives");
            pf.objectives().forEach(obj::add);
            var fr = o.putArray("front");
            pf.front().forEach(fr::add);
        }
        if (!h2h.isEmpty()) {
            var arr = root.putArray("head_to_head");
            for (HeadToHead h : h2h) {
                ObjectNode o = arr.addObject().put("a", h.a()).put("b", h.b()).put("judge", h.judge())
                        .put("win_rate", h.mean()).put("min", h.min()).put("max", h.max());
                var runs = o.putArray("runs");
                for (double v : h.perSeed()) runs.add(v);
            }
        }
        return root;
    }

    /** Writes eval.json, eval.html and its chart eval.png into {@code dir} (each atomically); returns the page. */
    public static Path write(Path dir, ObjectNode settings, List<Group> groups) { return write(dir, settings, groups, List.of()); }

    /** {@link #write(Path, ObjectNode, List)} with head-to-head win rates. */
    public static Path write(Path dir, ObjectNode settings, List<Group> groups, List<HeadToHead> h2h) {
        Json.write(dir.resolve("eval.json"), json(settings, groups, h2h));
        Map<String, String> facts = new LinkedHashMap<>();
        settings.fields().forEachRemaining(e -> { if (!e.getValue().isNull()) facts.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()); });
        return Report.writeEval(dir, facts, groups, h2h);
    }

    /**
     * The head-to-head matrix for the console: cell (row a, column b) is W(a ≻ b), the mean over paired seeds with its
     * min–max when there are several; the diagonal is ½ by definition. Empty when there is nothing to compare.
     */
    public static String headToHeadTable(List<Group> groups, List<HeadToHead> h2h) {
        if (h2h.isEmpty()) return "";
        List<String> labels = groups.stream().map(Group::label).toList();
        List<List<String>> rows = new ArrayList<>();
        List<String> head = new ArrayList<>(List.of("W(row > column)"));
        head.addAll(labels);
        rows.add(head);
        for (String a : labels) {
            List<String> row = new ArrayList<>(List.of(a));
            for (String b : labels) row.add(a.equals(b) ? "0.500" : h2hCell(h2h, a, b));
            rows.add(row);
        }
        return "head to head under the " + h2h.get(0).judge() + " (mean over paired seeds [min, max]):\n" + columns(rows);
    }

    /** W(a ≻ b) from the list, or 1 − W(b ≻ a); "-" where the pair was not compared. */
    static String h2hCell(List<HeadToHead> h2h, String a, String b) {
        for (HeadToHead h : h2h) {
            boolean fwd = h.a().equals(a) && h.b().equals(b), back = h.a().equals(b) && h.b().equals(a);
            if (!fwd && !back) continue;
            double mean = fwd ? h.mean() : 1 - h.mean(), lo = fwd ? h.min() : 1 - h.max(), hi = fwd ? h.max() : 1 - h.min();
            return h.perSeed().length == 1 ? String.format("%.3f", mean) : String.format("%.3f [%.3f, %.3f]", mean, lo, hi);
        }
        return "-";
    }

    /** The console table: one row per model; a group of seeds shows IQM [95% CI]. */
    public static String table(List<Group> groups) {
        List<String> keys = new ArrayList<>();
        for (Group g : groups) for (String k : g.runs().get(0).keySet()) if (!keys.contains(k)) keys.add(k);
        List<List<String>> rows = new ArrayList<>();
        List<String> head = new ArrayList<>(List.of("model", "seeds"));
        head.addAll(keys);
        rows.add(head);
        for (Group g : groups) {
            Map<String, Stats.Summary> agg = g.aggregate();
            List<String> row = new ArrayList<>(List.of(g.label(), String.valueOf(g.runs().size())));
            for (String k : keys) row.add(cell(agg.get(k), g.runs().size()));
            rows.add(row);
        }
        return columns(rows);
    }

    /** Rows as left-aligned columns two spaces apart, one line each. */
    static String columns(List<List<String>> rows) {
        int[] w = new int[rows.get(0).size()];
        for (List<String> r : rows) for (int i = 0; i < r.size(); i++) w[i] = Math.max(w[i], r.get(i).length());
        StringBuilder sb = new StringBuilder();
        for (List<String> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.size(); i++) line.append(i == 0 ? "" : "  ").append(String.format("%-" + w[i] + "s", r.get(i)));
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    /** A value, or a group's IQM with its 95% CI; "-" where the model lacks the metric. */
    static String cell(Stats.Summary s, int seeds) {
        if (s == null) return "-";
        return seeds == 1 ? String.format("%.3f", s.iqm()) : String.format("%.3f [%.3f, %.3f]", s.iqm(), s.ciLow(), s.ciHigh());
    }
}
