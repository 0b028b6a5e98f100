package dev.align4j.pipeline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.SftExample;
import dev.align4j.eval.Calibration;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.GenerativeJudge;
import dev.align4j.task.JudgeData;
import dev.align4j.task.Task;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Batching;
import dev.align4j.train.offline.Dpo;
import dev.align4j.train.offline.Sft;
import org.bytedeco.javacpp.PointerScope;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Training a causal LM to judge (generative reward model: GenRM, Zhang et al. 2024; CLoud's critique-then-verdict, Ankner et
 * al. 2024), then letting it teach itself (STaR, Zelikman et al. 2022):
 *
 * <pre>
 * responses  = N samples of each prompt from the starting model (or the task's demonstrations); verdicts and critiques from the gold reward
 * SFT        : judge prompt → [critique =&gt;] verdict, on the training prompts' rows
 * for t = 1..K (STaR):
 *     sample M traces of each of R rows from the judge; a trace is right when its verdict is the gold one
 *     SFT on the distinct right traces (or --star-dpo: DPO of a right trace over a wrong one of the same row)
 * evaluate   : held-out verdict accuracy, majority-class rate, ECE, pair accuracy (after SFT and each iteration; before training too)
 * </pre>
 *
 * The judge starts from the policy it will judge (its responses are what GRPO with {@code --reward judge:DIR} shows it).
 * Without a critique a trace is the verdict alone, and STaR keeps the rows whose sampled verdict is right. Each stage
 * trains on the shared loop ({@link Sft#train}, {@link Dpo#train}) from the previous stage's weights; stage metrics go to
 * {@code OUTPUT/sft/}, {@code OUTPUT/star-t/}; the summary to {@code OUTPUT/metrics.jsonl} (stages {@code judge_data},
 * {@code star}, {@code eval/judge}). No resume: a run is minutes long.
 */
public final class JudgeTraining {
    private JudgeTraining() {}

    /** Where the judged responses come from. */
    public enum Responses {
        /** samples of the starting model (the policy the judge will score) */
        MODEL,
        /** the task's demonstrations, a share {@code errorRate} flawed (for a judge trained from scratch) */
        DEMOS
    }

    /**
     * Settings; {@code run} and {@code batching} are the SFT stage's ({@code steps}); each STaR iteration trains
     * {@code iterationSteps} steps with the same settings (DPO at {@code dpoLr}).
     *
     * @param mode               pointwise (Yes/No) or pairwise (A/B)
     * @param critique           critique first, then the verdict (CLoud)
     * @param critiqueTokens     the longest critique the judge writes when it is read as a reward
     * @param responses          model (samples of the starting model) or demos
     * @param trainPrompts       training prompts (task train split)
     * @param evalPrompts        held-out prompts (task test split)
     * @param responsesPerPrompt N responses judged per prompt
     * @param responseTemperature temperature of the sampled responses
     * @param errorRate          share of flawed demonstrations (responses demos)
     * @param pairsPerPrompt     (right, wrong) pairs per prompt for pairwise rows and the comparisons
     * @param iterations         STaR iterations K (0 = SFT only)
     * @param iterationSteps     optimizer steps of each STaR iteration
     * @param rowsPerIteration   judge rows R sampled each iteration
     * @param traces             traces M sampled per row
     * @param traceTemperature   temperature of the traces
     * @param starDpo            DPO of right over wrong traces instead of SFT on the right ones
     * @param dpoBeta            DPO's β
     * @param dpoLr              DPO's learning rate
     * @param balance            oversample the rarer verdict to as many rows as the other (SFT rows and STaR's row draw), so
     *                           that the judge cannot settle on the class prior; the held-out rows keep their natural mix
     * @param hardNegatives      H extra training responses per prompt, each a correct demonstration with one digit changed
     *                           ({@link JudgeData#corrupt}): wrong answers in the right form, which the policy's own samples
     *                           rarely show but a policy trained on the judge's reward finds; they join the Bradley–Terry
     *                           comparisons too; held-out rows stay the policy's own samples
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, JudgeData.Mode mode, boolean critique, int critiqueTokens,
                         Responses responses, int trainPrompts, int evalPrompts, int responsesPerPrompt, double responseTemperature, double errorRate,
                         int pairsPerPrompt, int iterations, int iterationSteps, int rowsPerIteration, int traces, double traceTemperature,
                         boolean starDpo, double dpoBeta, double dpoLr, boolean balance, int hardNegatives) {
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 600, "lr", 5e-4, "warmupSteps", 20, "batchSize", 64,
                "maxLength", 96, "mode", JudgeData.Mode.POINTWISE, "critique", false, "critiqueTokens", 40, "responses", Responses.MODEL,
                "trainPrompts", 2000, "evalPrompts", 300, "responsesPerPrompt", 4, "responseTemperature", 1.0, "errorRate", 0.5, "pairsPerPrompt", 2,
                "iterations", 0, "iterationSteps", 100, "rowsPerIteration", 512, "traces", 4, "traceTemperature", 1.0,
                "starDpo", false, "dpoBeta", 0.1, "dpoLr", 5e-5, "balance", false, "hardNegatives", 0);

        public Config {
            mode = mode == null ? JudgeData.Mode.POINTWISE : mode;
            responses = responses == null ? Responses.MODEL : responses;
            UserError.check(critiqueTokens >= 1, "critique-tokens must be >= 1: %s", critiqueTokens);
            UserError.check(trainPrompts >= 1 && evalPrompts >= 1, "train-prompts and eval-prompts must be >= 1: %s, %s", trainPrompts, evalPrompts);
            UserError.check(responsesPerPrompt >= 1, "responses-per-prompt must be >= 1: %s", responsesPerPrompt);
            UserError.check(responseTemperature > 0, "response-temperature must be > 0 (greedy responses are all alike): %s", responseTemperature);
            UserError.check(errorRate > 0 && errorRate < 1, "error-rate must be in (0, 1): %s", errorRate);
            UserError.check(pairsPerPrompt >= 1, "pairs-per-prompt must be >= 1: %s", pairsPerPrompt);
            UserError.check(iterations >= 0, "iterations must be >= 0: %s", iterations);
            UserError.check(iterationSteps >= 1 && rowsPerIteration >= 1 && traces >= 1, "iteration-steps, rows-per-iteration and traces must be >= 1");
            UserError.check(traceTemperature > 0, "trace-temperature must be > 0: %s", traceTemperature);
            UserError.check(dpoBeta > 0 && dpoLr > 0, "dpo-beta and dpo-lr must be > 0: %s, %s", dpoBeta, dpoLr);
            UserError.check(hardNegatives >= 0, "hard-negatives must be >= 0: %s", hardNegatives);
        }

        public GenerativeJudge.Format format() { return new GenerativeJudge.Format(mode, critique, critiqueTokens); }
    }

    /**
     * The judge's data: training and held-out rows, and the same responses as comparisons (right ≻ wrong) for a
     * Bradley–Terry reward model trained beside it ({@code heldOutComparisons} are the pairs both are scored on).
     */
    public record Data(List<JudgeData.Row> train, List<JudgeData.Row> heldOut, List<PreferencePair> comparisons,
                       List<PreferencePair> heldOutComparisons, List<Task.Example> heldOutPairExamples) {}

    public record Result(List<Map<String, Double>> evals, Data data) {}

    /** Builds the rows: responses from {@code model} (sampled before it is trained) or the task's demonstrations. */
    public static Data data(LlamaModel model, Tokenizer tok, Task task, Config cfg, long seed) {
        List<Task.Example> train = task.examples(Task.Split.TRAIN, cfg.trainPrompts(), seed), test = task.examples(Task.Split.TEST, cfg.evalPrompts(), seed + 1);
        List<List<String>> rt = responses(model, tok, task, train, cfg, seed * 7 + 1), re = responses(model, tok, task, test, cfg, seed * 7 + 2);
        if (cfg.hardNegatives() > 0) {                                         // training prompts only: held-out rows stay natural
            Random rng = new Random(seed * 7 + 3);
            for (int i = 0; i < train.size(); i++) {
                List<String> rs = new ArrayList<>(rt.get(i));
                for (int k = 0; k < cfg.hardNegatives(); k++) rs.add(JudgeData.corrupt(task.demonstrate(train.get(i), 0.0, rng), rng));
                rt.set(i, rs);
            }
        }
        List<PreferencePair> heldPairs = JudgeData.comparisons(task, test, re, cfg.pairsPerPrompt(), seed + 5);
        Map<String, Task.Example> byPrompt = new LinkedHashMap<>();
        for (Task.Example e : test) byPrompt.put(e.prompt(), e);
        List<Task.Example> heldPairEx = new ArrayList<>();
        for (PreferencePair p : heldPairs) heldPairEx.add(byPrompt.get(p.prompt()));
        return new Data(JudgeData.rows(task, train, rt, cfg.mode(), cfg.pairsPerPrompt(), seed + 3), JudgeData.rows(task, test, re, cfg.mode(), cfg.pairsPerPrompt(), seed + 4),
                JudgeData.comparisons(task, train, rt, cfg.pairsPerPrompt(), seed + 3), heldPairs, heldPairEx);
    }

    static List<List<String>> responses(LlamaModel model, Tokenizer tok, Task task, List<Task.Example> ex, Config cfg, long seed) {
        List<List<String>> out = new ArrayList<>();
        if (cfg.responses() == Responses.DEMOS) {
            Random rng = new Random(seed);
            for (Task.Example e : ex) {
                List<String> rs = new ArrayList<>();
                for (int k = 0; k < cfg.responsesPerPrompt(); k++) rs.add(task.demonstrate(e, cfg.errorRate(), rng));
                out.add(rs);
            }
            return out;
        }
        BestOfN.Samples s = BestOfN.sample(model, tok, ex, cfg.responsesPerPrompt(),
                new SamplingConfig(Math.max(4, task.maxCompletionChars() + 4), cfg.responseTemperature(), 0, 1.0, seed, List.of()), 64,
                dev.align4j.reward.Rewards.Weighted.of(dev.align4j.reward.Rewards.gold(task)));
        for (int i = 0; i < ex.size(); i++) {
            List<String> rs = new ArrayList<>();
            for (int k = 0; k < s.n(); k++) rs.add(s.text(i, k));
            out.add(rs);
        }
        return out;
    }

    /** SFT, then K STaR iterations, on {@code model} in place; evaluates on the held-out rows before, after SFT and after each iteration. */
    public static Result train(LlamaModel model, Data data, Config cfg, Session io) {
        if (data.train().isEmpty()) throw new UserError("judge: no training rows (pairwise mode needs prompts with both a right and a wrong response)");
        long seed = cfg.run().seed();
        Map<String, Double> d = new LinkedHashMap<>();
        d.put("rows", (double) data.train().size());
        d.put("held_out_rows", (double) data.heldOut().size());
        d.put("yes_rate", data.train().stream().filter(JudgeData.Row::verdict).count() / (double) data.train().size());
        d.put("comparisons", (double) data.comparisons().size());
        if (cfg.balance()) d.put("rows_balanced", (double) balanced(data.train(), seed).size());
        io.metrics().log("judge_data", 0, d);
        List<Map<String, Double>> evals = new ArrayList<>();
        evals.add(evaluate(model, io.tok(), data, cfg, io, 0));
        List<JudgeData.Row> rows = cfg.balance() ? balanced(data.train(), seed) : data.train();
        // 1. SFT: judge prompt → [critique =>] verdict
        List<SftExample> sft = new ArrayList<>();
        for (JudgeData.Row r : rows) sft.add(r.sft(cfg.critique()));
        try (Metrics sm = sub(io, "sft")) {
            Sft.train(model, sft, sftConfig(cfg, cfg.run().steps(), seed), new Session(io.tok(), null, sm, null, null));
        }
        evals.add(evaluate(model, io.tok(), data, cfg, io, 1));
        // 2. STaR: sample traces, keep the right ones (or DPO right over wrong)
        for (int it = 1; it <= cfg.iterations(); it++) {
            Map<String, Double> m = new LinkedHashMap<>();
            List<JudgeData.Row> batch = new ArrayList<>(rows);
            Collections.shuffle(batch, new Random(seed * 1_000_003L + it));
            batch = batch.subList(0, Math.min(cfg.rowsPerIteration(), batch.size()));
            Traces t = traces(model, io.tok(), batch, cfg, seed * 7_919 + it);
            m.put("frac_right", t.right() / (double) Math.max(1, t.total()));
            m.put("frac_rows_solved", t.solved() / (double) batch.size());
            m.put("kept", (double) t.kept().size());
            m.put("pairs", (double) t.pairs().size());
            try (Metrics sm = sub(io, "star-" + it)) {
                Session s = new Session(io.tok(), null, sm, null, null);
                if (cfg.starDpo()) {
                    if (t.pairs().isEmpty()) System.err.printf("judge: STaR iteration %d has no (right, wrong) trace pair; the judge is unchanged%n", it);
                    else try (LlamaModel ref = model.copy(model.dtype)) {
                        m.put("dpo_loss", Dpo.train(model, ref, t.pairs(), dpoConfig(cfg, seed + it), s).finalLoss());
                    }
                } else if (t.kept().isEmpty()) System.err.printf("judge: STaR iteration %d kept no trace; the judge is unchanged%n", it);
                else m.put("sft_loss", Sft.train(model, t.kept(), sftConfig(cfg, cfg.iterationSteps(), seed + it), s).finalLoss());
            }
            io.metrics().log("star", it, m);
            evals.add(evaluate(model, io.tok(), data, cfg, io, 1 + it));
        }
        return new Result(evals, data);
    }

    /** The rows with the rarer verdict repeated (cycled in a seeded order) until both verdicts have as many rows. */
    static List<JudgeData.Row> balanced(List<JudgeData.Row> rows, long seed) {
        List<JudgeData.Row> yes = new ArrayList<>(), no = new ArrayList<>();
        for (JudgeData.Row r : rows) (r.verdict() ? yes : no).add(r);
        if (yes.isEmpty() || no.isEmpty()) return rows;
        List<JudgeData.Row> small = yes.size() < no.size() ? yes : no, out = new ArrayList<>(rows);
        Collections.shuffle(small, new Random(seed * 13 + 5));
        for (int i = 0, extra = Math.abs(yes.size() - no.size()); i < extra; i++) out.add(small.get(i % small.size()));
        return out;
    }

    /** Sampled judge traces: the distinct right ones as SFT rows, one (right, wrong) pair per row that has both. */
    record Traces(List<SftExample> kept, List<PreferencePair> pairs, int right, int total, int solved) {}

    static Traces traces(LlamaModel model, Tokenizer tok, List<JudgeData.Row> rows, Config cfg, long seed) {
        int m = cfg.traces(), budget = cfg.critique() ? cfg.critiqueTokens() + 6 : 4;
        List<SftExample> kept = new ArrayList<>();
        List<PreferencePair> pairs = new ArrayList<>();
        int right = 0, total = 0, solved = 0, per = Math.max(1, 64 / m);
        for (int from = 0; from < rows.size(); from += per) {
            List<JudgeData.Row> chunk = rows.subList(from, Math.min(rows.size(), from + per));
            List<int[]> ids = new ArrayList<>();
            for (JudgeData.Row r : chunk) { int[] p = tok.encode(r.judgePrompt(), true); for (int k = 0; k < m; k++) ids.add(p); }
            List<Completion> outs;
            try (PointerScope scope = new PointerScope()) {
                outs = Sampler.generate(model, tok, ids, new SamplingConfig(budget, cfg.traceTemperature(), 0, 1.0, seed + from, List.of()));
            }
            for (int i = 0; i < chunk.size(); i++) {
                JudgeData.Row r = chunk.get(i);
                Set<String> seen = new HashSet<>();
                String aRight = null, aWrong = null;
                for (int k = 0; k < m; k++) {
                    String text = outs.get(i * m + k).text().strip();
                    Boolean v = JudgeData.parseVerdict(text, cfg.mode());
                    total++;
                    if (v != null && v == r.verdict()) {
                        right++;
                        if (aRight == null) aRight = text;
                        if (seen.add(text)) kept.add(new SftExample(r.judgePrompt(), text));
                    } else if (aWrong == null) aWrong = text;
                }
                if (aRight != null) solved++;
                if (aRight != null && aWrong != null && !aWrong.isEmpty()) pairs.add(new PreferencePair(r.judgePrompt(), aRight, aWrong));
            }
        }
        return new Traces(kept, pairs, right, total, solved);
    }

    /**
     * Held-out metrics (stage {@code eval/judge}): {@code accuracy} (verdict = P(yes) &gt; ½ against gold), {@code majority_rate}
     * (the share of the larger gold class: what always answering it scores), {@code ece}, {@code mean_prob}, and
     * {@code pair_accuracy}: the share of held-out (right, wrong) comparisons the judge orders right (P(right ≻ wrong) &gt; ½),
     * the number a Bradley–Terry reward model reports on the same pairs.
     */
    public static Map<String, Double> evaluate(LlamaModel model, Tokenizer tok, Data data, Config cfg, Session io, int step) {
        Map<String, Double> m = evaluate(model, tok, data, cfg.format());
        io.metrics().log("eval/judge", step, m);
        return m;
    }

    public static Map<String, Double> evaluate(LlamaModel model, Tokenizer tok, Data data, GenerativeJudge.Format format) {
        Map<String, Double> m = new LinkedHashMap<>();
        try (GenerativeJudge j = GenerativeJudge.of(model, tok, format)) {
            List<JudgeData.Row> rows = data.heldOut();
            if (!rows.isEmpty()) {
                List<Task.Example> ex = new ArrayList<>();
                List<String> a = new ArrayList<>(), b = new ArrayList<>();
                boolean[] gold = new boolean[rows.size()];
                for (int i = 0; i < rows.size(); i++) { ex.add(rows.get(i).example()); a.add(rows.get(i).a()); b.add(rows.get(i).b()); gold[i] = rows.get(i).verdict(); }
                double[] p = format.mode() == JudgeData.Mode.PAIRWISE ? j.preferA(ex, a, b) : j.yes(ex, a);
                Calibration.Report r = Calibration.of(p, gold, 10);
                m.put("accuracy", r.accuracy());
                m.put("majority_rate", r.majorityRate());
                m.put("ece", r.ece());
                m.put("mean_prob", r.meanProb());
            }
            if (!data.heldOutComparisons().isEmpty()) {
                List<String> c = new ArrayList<>(), r = new ArrayList<>();
                for (PreferencePair p : data.heldOutComparisons()) { c.add(p.chosen()); r.add(p.rejected()); }
                double[] p = j.judge().prob(data.heldOutPairExamples(), c, r);
                double acc = 0;
                for (double x : p) acc += x > 0.5 ? 1 : x == 0.5 ? 0.5 : 0;
                m.put("pair_accuracy", acc / p.length);
            }
        }
        return m;
    }

    static Metrics sub(Session io, String name) {
        return io.output() == null ? Metrics.inMemory().quiet(true) : Metrics.fresh(io.output().resolve(name));
    }

    static Sft.Config sftConfig(Config cfg, int steps, long seed) {
        RunConfig r = cfg.run();
        Batching b = cfg.batching();
        return Configs.with(Sft.Config.DEFAULTS, "steps", steps, "lr", r.lr(), "weightDecay", r.weightDecay(), "warmupSteps", Math.min(r.warmupSteps(), steps / 2),
                "maxGradNorm", r.maxGradNorm(), "gradAccum", r.gradAccum(), "onNonFinite", r.onNonFinite(), "loggingSteps", r.loggingSteps(),
                "seed", seed, "batchSize", b.batchSize(), "maxLength", b.maxLength(), "truncation", b.truncation());
    }

    static Dpo.Config dpoConfig(Config cfg, long seed) {
        RunConfig r = cfg.run();
        Batching b = cfg.batching();
        return Configs.with(Dpo.Config.DEFAULTS, "steps", cfg.iterationSteps(), "lr", cfg.dpoLr(), "beta", cfg.dpoBeta(), "warmupSteps", Math.min(r.warmupSteps(), cfg.iterationSteps() / 2),
                "maxGradNorm", r.maxGradNorm(), "onNonFinite", r.onNonFinite(), "loggingSteps", r.loggingSteps(),
                "seed", seed, "batchSize", Math.max(1, b.batchSize() / 2), "maxLength", b.maxLength(), "truncation", b.truncation());
    }

    /** Writes the judge's comparisons beside it, so that {@code ./align4j reward --data} trains a Bradley–Terry model on the same pairs. */
    public static void writeComparisons(Path file, List<PreferencePair> pairs) {
        List<com.fasterxml.jackson.databind.node.ObjectNode> rows = new ArrayList<>();
        for (PreferencePair p : pairs) rows.add(p.toJson());
        dev.align4j.data.Jsonl.write(file, rows);
    }
}
