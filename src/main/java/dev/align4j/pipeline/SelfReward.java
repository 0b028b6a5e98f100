package dev.align4j.pipeline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.SftExample;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.GenerativeJudge;
import dev.align4j.reward.Rewards;
import dev.align4j.task.JudgeData;
import dev.align4j.task.Task;
import dev.align4j.train.Checkpoints;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Batching;
import dev.align4j.train.offline.Dpo;
import dev.align4j.train.offline.Sft;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Self-rewarding language models (Yuan et al. 2024, arXiv 2401.10020): the policy judges its own samples and learns from
 * its judgments by DPO, iterated.
 *
 * <pre>
 * (EFT, llm judge) SFT the policy on gold-labelled judge rows of its own samples, mixed with as many rows of its own greedy answers
 * for t = 1..K:
 *     sample N responses of each prompt from M_{t−1}
 *     score each with M_{t−1} itself: llm (P(Yes) normalised on the judge prompt, ZYN) or implicit (DICE: β log π_{t−1}(y|x)/π_ref(y|x))
 *     (length penalty α: score − α·tokens)
 *     pair the best with the worst (length control ρ: the shortest of the near-best, the longest of the near-worst); drop ties
 *     (meta-judge, Meta-Rewarding: K sampled judgments of each response by M_{t−1}; M_{t−1} as meta-judge scores each
 *      judgment by P(Yes) on the meta prompt "… right? JUDGMENT agree? "; the best vs the worst judgment of a response is a
 *      judge pair on the judge prompt, at most as many judge pairs as actor pairs)
 *     M_t = DPO(M_{t−1}; actor pairs + judge pairs), reference M_{t−1}
 *     log the samples' gold reward, the self-judge's verdict and pair accuracy against gold; evaluate; checkpoint-t
 * </pre>
 *
 * Yuan et al. score with a 5-point LLM-as-a-judge prompt sampled three times; the judge here is the Yes/No probability, which
 * needs no sampling. Their seed model is fine-tuned on human-labelled evaluation data (EFT) with the instruction data (IFT);
 * here the EFT rows' verdicts come from the gold reward on the policy's own samples, and the IFT rows are its own greedy
 * answers, unfiltered (they keep the policy's answers as they were while it learns to judge), so no gold-selected answer reaches the policy: whatever it gains, it gains through its own judgments.
 * Meta-Rewarding (Wu et al. 2024, arXiv 2407.19594) has its meta-judge compare two judgments at a time (both orders,
 * Elo-style scores); here it scores each judgment alone, and EFT teaches it on gold rows (the gold judgment → Yes, one
 * with the wrong verdict → No), as it teaches the judge. The
 * implicit judge (DICE, Chen et al. 2024) needs the reference the policy was trained from ({@code --ref-model}) in iteration
 * 1; later iterations use the previous iteration's start. No resume: iterations are minutes long.
 */
public final class SelfReward {
    private SelfReward() {}

    /** How the policy judges its samples. */
    public enum SelfJudge {
        /** the policy reads the pointwise judge prompt; the score is P(Yes) normalised against P(No) */
        LLM,
        /** DICE: the DPO implicit reward β·(log π(y|x) − log π_ref(y|x)) */
        IMPLICIT
    }

    /**
     * Settings; {@code run} and {@code batching} are each iteration's DPO ({@code steps} per iteration); {@code saveEvery} and
     * {@code evalEvery} count iterations.
     *
     * @param iterations          K
     * @param samples             N responses per prompt
     * @param promptsPerIteration prompts each iteration (drawn afresh, seeded by the iteration)
     * @param temperature         sampling temperature of the responses
     * @param maxNewTokens        response budget (0 = the task's)
     * @param selfJudge           llm or implicit
     * @param beta                DPO's β (and the implicit reward's)
     * @param lengthControl       Meta-Rewarding's ρ: chosen = the shortest response scoring ≥ max − ρ·(max − min), rejected = the
     *                            longest scoring ≤ min + ρ·(max − min); 0 = plain best vs worst
     * @param lengthPenalty       α subtracted per response token from the score (DICE's length-regularised reward); 0 = off
     * @param minGap              pairs whose scores differ by less are dropped (ties always are)
     * @param eftSteps            SFT steps of evaluation fine-tuning before iteration 1 (llm judge; 0 = the policy is already a judge)
     * @param eftPrompts          training prompts whose samples make the EFT rows
     * @param eftLr               EFT's learning rate
     * @param eftCritique         the judge writes a critique before its verdict (CLoud): EFT rows and the self-scores use it
     * @param metaJudge           Meta-Rewarding's judge pairs (llm judge): the policy also learns to judge from its own meta-judgments
     * @param judgments           K, judgments sampled per response for the meta-judge
     * @param dpoEpochs           &gt; 0: each iteration's DPO runs this many passes over its pairs (⌈epochs · pairs / batch⌉
     *                            steps) instead of {@code steps}, so few pairs are not trained for dozens of epochs
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, int iterations, int samples, int promptsPerIteration,
                         double temperature, int maxNewTokens, SelfJudge selfJudge, double beta, double lengthControl, double lengthPenalty,
                         double minGap, int eftSteps, int eftPrompts, double eftLr, boolean eftCritique, boolean metaJudge, int judgments, double dpoEpochs) {
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 100, "lr", 5e-5, "warmupSteps", 10, "batchSize", 32,
                "maxLength", 96, "saveEvery", 1, "evalEvery", 1, "iterations", 2, "samples", 4, "promptsPerIteration", 512, "temperature", 1.0,
                "maxNewTokens", 0, "selfJudge", SelfJudge.LLM, "beta", 0.1, "lengthControl", 0.0, "lengthPenalty", 0.0, "minGap", 0.0,
                "eftSteps", 300, "eftPrompts", 1000, "eftLr", 5e-4, "eftCritique", false, "metaJudge", false, "judgments", 4, "dpoEpochs", 0.0);

        public Config {
            selfJudge = selfJudge == null ? SelfJudge.LLM : selfJudge;
            UserError.check(iterations >= 1, "iterations must be >= 1: %s", iterations);
            UserError.check(samples >= 2, "samples must be >= 2 (a pair needs two responses): %s", samples);
            UserError.check(promptsPerIteration >= 1, "prompts-per-iteration must be >= 1: %s", promptsPerIteration);
            UserError.check(temperature > 0, "temperature must be > 0 (at 0 all N samples are the greedy one): %s", temperature);
            UserError.check(maxNewTokens >= 0, "max-new-tokens must be >= 0 (0 = the task's budget): %s", maxNewTokens);
            UserError.check(beta > 0, "beta must be > 0: %s", beta);
            UserError.check(lengthControl >= 0 && lengthControl < 0.5, "length-control must be in [0, 0.5): %s", lengthControl);
            UserError.check(lengthPenalty >= 0 && minGap >= 0, "length-penalty and min-gap must be >= 0: %s, %s", lengthPenalty, minGap);
            UserError.check(eftSteps >= 0 && eftPrompts >= 1 && eftLr > 0, "eft-steps must be >= 0, eft-prompts >= 1, eft-lr > 0");
            UserError.check(!(metaJudge || eftCritique) || selfJudge == SelfJudge.LLM, "--meta-judge and --eft-critique need --self-judge llm (the policy judges in words)");
            UserError.check(judgments >= 2, "judgments must be >= 2 (a judge pair needs two judgments): %s", judgments);
            UserError.check(dpoEpochs >= 0, "dpo-epochs must be >= 0 (0 = --steps per iteration): %s", dpoEpochs);
        }

        /** The self-judge's format: pointwise, after a critique with {@code eftCritique}. */
        public GenerativeJudge.Format judgeFormat() {
            return eftCritique ? new GenerativeJudge.Format(JudgeData.Mode.POINTWISE, true, 48) : GenerativeJudge.Format.pointwise();
        }
    }

    public record Result(List<Map<String, Double>> iterations, Path lastCheckpoint) {}

    /**
     * Runs EFT and K iterations on {@code policy} in place. {@code task} gives the gold reward that is logged (never trained
     * on, except the EFT verdicts); {@code initialReference} is the implicit judge's reference in iteration 1 (null for llm).
     */
    public static Result train(LlamaModel policy, LlamaModel initialReference, List<Task.Example> prompts, Task task, Config cfg, Session io) {
        if (io.resume() != null) throw new UserError("self-reward: --resume is not supported (each iteration is a few minutes; start afresh)");
        if (cfg.selfJudge() == SelfJudge.IMPLICIT && initialReference == null)
            throw new UserError("--self-judge implicit needs --ref-model DIR: the model the policy was DPO-trained from (its implicit reward is log π/π_ref, zero at π = π_ref)");
        Checkpoints.resumeRound(policy, io, "self-reward", "iteration");     // refuses a directory holding another run's checkpoints
        long seed = cfg.run().seed();
        int budget = cfg.maxNewTokens() > 0 ? cfg.maxNewTokens() : Math.max(4, task.maxCompletionChars() + 4);
        GenerativeJudge.Format format = cfg.judgeFormat();
        Rewards.Weighted gold = Rewards.Weighted.of(Rewards.gold(task));
        // 0. EFT: the policy learns to judge its own samples (gold verdicts), mixed with its unfiltered samples
        if (cfg.selfJudge() == SelfJudge.LLM && cfg.eftSteps() > 0) {
            List<Task.Example> ex = Rft.draw(prompts, cfg.eftPrompts(), seed * 31 + 7);
            BestOfN.Samples s = BestOfN.sample(policy, io.tok(), ex, cfg.samples(), new SamplingConfig(budget, cfg.temperature(), 0, 1.0, seed * 31 + 8, List.of()), 64, gold);
            BestOfN.Samples greedy = BestOfN.sample(policy, io.tok(), ex, 1, SamplingConfig.greedy(budget), 64, gold);
            List<SftExample> rows = new ArrayList<>();
            java.util.Random rng = new java.util.Random(seed * 31 + 9);
            for (int i = 0; i < ex.size(); i++)
                for (int k = 0; k < s.n(); k++) {
                    JudgeData.Row row = JudgeData.pointwise(task, ex.get(i), s.text(i, k));
                    rows.add(row.sft(cfg.eftCritique()));
                    rows.add(new SftExample(ex.get(i).prompt(), greedy.text(i, 0)));     // its own greedy answer: keeps the policy as it is
                    if (cfg.metaJudge()) rows.addAll(row.metaSft(cfg.eftCritique(), task, rng));     // the meta-judge's gold rows
                }
            try (Metrics sm = JudgeTraining.sub(io, "eft")) {
                Sft.Config ec = Configs.with(Sft.Config.DEFAULTS, "steps", cfg.eftSteps(), "lr", cfg.eftLr(), "weightDecay", 0.0, "warmupSteps", Math.min(20, cfg.eftSteps() / 2),
                        "maxGradNorm", cfg.run().maxGradNorm(), "onNonFinite", cfg.run().onNonFinite(), "seed", seed + 11,
                        "batchSize", cfg.batching().batchSize(), "maxLength", cfg.batching().maxLength(), "truncation", cfg.batching().truncation());
                Sft.Result r = Sft.train(policy, rows, ec, new Session(io.tok(), null, sm, null, null));
                io.metrics().log("eft", 0, Map.of("rows", (double) rows.size(), "sft_loss", r.finalLoss()));
            }
            if (io.eval() != null) io.metrics().log("eval/eft", 0, io.eval().evaluate(0));      // the policy after EFT, before any self-rewarding
        }
        List<Map<String, Double>> log = new ArrayList<>();
        Path last = null;
        LlamaModel reference = initialReference == null ? null : initialReference.copy(policy.dtype);
        try {
            for (int it = 1; it <= cfg.iterations(); it++) {
                Map<String, Double> m = new LinkedHashMap<>();
                List<Task.Example> batch = Rft.draw(prompts, cfg.promptsPerIteration(), seed * 1_000_003L + it);
                // 1. N responses per prompt from the current policy, with their gold rewards (logged, never trained on)
                BestOfN.Samples s = BestOfN.sample(policy, io.tok(), batch, cfg.samples(),
                        new SamplingConfig(budget, cfg.temperature(), 0, 1.0, seed * 7_919 + it, List.of()), 64, gold);
                // 2. the policy judges them
                double[] score = cfg.selfJudge() == SelfJudge.LLM ? llmScores(policy, io.tok(), format, s) : implicitScores(policy, reference, io.tok(), s, cfg);
                for (int j = 0; j < score.length; j++) score[j] -= cfg.lengthPenalty() * s.outs().get(j).tokens().length;
                // 3. best-vs-worst pairs
                List<PreferencePair> pairs = new ArrayList<>();
                double chosenGold = 0, rejectedGold = 0, pairRight = 0, pairDecided = 0;
                for (int i = 0; i < batch.size(); i++) {
                    int[] cr = pair(score, s, i, cfg.lengthControl(), cfg.minGap());
                    if (cr == null) continue;
                    pairs.add(new PreferencePair(batch.get(i).prompt(), s.text(i, cr[0]), s.text(i, cr[1])));
                    double gc = s.rewards()[i * s.n() + cr[0]], gr = s.rewards()[i * s.n() + cr[1]];
                    chosenGold += gc;
                    rejectedGold += gr;
                    if (gc != gr) { pairDecided++; pairRight += gc > gr ? 1 : 0; }
                }
                m.put("gold_reward", java.util.Arrays.stream(s.rewards()).average().orElse(0));
                if (cfg.selfJudge() == SelfJudge.LLM) m.put("judge_accuracy", verdictAccuracy(score, s, task, cfg.lengthPenalty() == 0));
                m.put("pair_accuracy", pairDecided == 0 ? Double.NaN : pairRight / pairDecided);
                m.put("pairs", (double) pairs.size());
                m.put("frac_pairs_gold_tie", pairs.isEmpty() ? Double.NaN : 1 - pairDecided / pairs.size());
                m.put("chosen_gold", pairs.isEmpty() ? Double.NaN : chosenGold / pairs.size());
                m.put("rejected_gold", pairs.isEmpty() ? Double.NaN : rejectedGold / pairs.size());
                // 3b. Meta-Rewarding: judge pairs from the policy's meta-judgments of its own judgments
                if (cfg.metaJudge()) pairs.addAll(judgePairs(policy, io.tok(), task, s, pairs.size(), cfg, seed * 7_919 + it, m));
                // 4. DPO against the iteration's starting policy
                if (pairs.isEmpty()) System.err.printf("self-reward: iteration %d made no pair (all scores tied); the policy is unchanged%n", it);
                else {
                    LlamaModel start = policy.copy(policy.dtype);
                    try (Metrics sm = JudgeTraining.sub(io, "dpo-" + it)) {
                        Dpo.Config dc = dpoConfig(cfg, seed + it, pairs.size());
                        m.put("dpo_steps", (double) dc.run().steps());
                        Dpo.Result r = Dpo.train(policy, start, pairs, dc, new Session(io.tok(), null, sm, null, null));
                        m.put("dpo_loss", r.finalLoss());
                        m.put("dpo_accuracy", r.finalAccuracy());
                    }
                    if (reference != null) reference.close();
                    reference = start;                       // DICE: the next iteration's implicit reward is against this iteration's start
                }
                // 5. log, evaluate, checkpoint
                io.metrics().log("self_reward", it, m);
                log.add(m);
                boolean lastIteration = it == cfg.iterations();
                if (io.eval() != null && (lastIteration || cfg.run().evalEvery() > 0 && it % cfg.run().evalEvery() == 0))
                    io.metrics().log("eval/self-reward", it, io.eval().evaluate(it));
                if (io.output() != null && (lastIteration || cfg.run().saveEvery() > 0 && it % cfg.run().saveEvery() == 0)) {
                    ObjectNode state = Json.object();
                    state.put("trainer", "self-reward");
                    state.put("iteration", it);
                    state.put("max_iterations", cfg.iterations());
                    state.set("config", Json.MAPPER.valueToTree(cfg));
                    last = Checkpoints.save(io.output(), it, policy, io.tok(), null, state, cfg.run().keep(), io.metrics(), last, null);
                    format.save(last);
                }
            }
        } finally {
            if (reference != null) reference.close();
        }
        return new Result(log, last);
    }

    /**
     * Meta-Rewarding's judge pairs: K judgments of every sample's judge prompt, sampled from the policy; the policy as
     * meta-judge scores each ({@link GenerativeJudge#agree}); per sample, the best-scored judgment over the worst when
     * they differ in text and score; at most {@code cap} pairs (a seeded draw). Logs {@code meta/judgment_accuracy} (the
     * share of sampled judgments whose verdict is the gold one), {@code meta/pairs}, and {@code meta/pair_accuracy} (among
     * pairs whose two verdicts differ, the share whose chosen verdict is the gold one).
     */
    static List<PreferencePair> judgePairs(LlamaModel policy, Tokenizer tok, Task task, BestOfN.Samples s, int cap, Config cfg, long seed, Map<String, Double> m) {
        int k = cfg.judgments(), n = s.outs().size();
        List<String> judgePrompts = new ArrayList<>();
        List<Boolean> gold = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            Task.Example e = s.prompts().get(j / s.n());
            judgePrompts.add(JudgeData.pointwisePrompt(e.prompt(), s.outs().get(j).text()));
            gold.add(task.correct(e, s.outs().get(j).text()));
        }
        List<int[]> ids = new ArrayList<>();
        List<String> repeated = new ArrayList<>();
        for (String q : judgePrompts) {
            int[] t = tok.encode(q, true);
            for (int r = 0; r < k; r++) { ids.add(t); repeated.add(q); }
        }
        int budget = cfg.eftCritique() ? cfg.judgeFormat().critiqueTokens() + 4 : 4;
        List<String> judgments = new ArrayList<>();
        for (dev.align4j.generate.Completion c : dev.align4j.generate.Sampler.generate(policy, tok, ids, new SamplingConfig(budget, cfg.temperature(), 0, 1.0, seed, List.of())))
            judgments.add(dev.align4j.task.Task.firstLine(c.text()));
        double[] meta;
        try (GenerativeJudge mj = GenerativeJudge.of(policy, tok, GenerativeJudge.Format.pointwise())) {
            meta = mj.agree(repeated, judgments);
        }
        List<PreferencePair> out = new ArrayList<>();
        double right = 0, decided = 0, judgedRight = 0;
        for (int j = 0; j < n; j++) {
            int best = j * k, worst = j * k;
            for (int r = j * k; r < (j + 1) * k; r++) {
                Boolean v = JudgeData.parseVerdict(judgments.get(r), JudgeData.Mode.POINTWISE);
                judgedRight += v != null && v == gold.get(j) ? 1 : 0;
                if (meta[r] > meta[best]) best = r;
                if (meta[r] < meta[worst]) worst = r;
            }
            if (!(meta[best] > meta[worst]) || judgments.get(best).equals(judgments.get(worst))) continue;
            out.add(new PreferencePair(judgePrompts.get(j), judgments.get(best), judgments.get(worst)));
            Boolean vb = JudgeData.parseVerdict(judgments.get(best), JudgeData.Mode.POINTWISE), vw = JudgeData.parseVerdict(judgments.get(worst), JudgeData.Mode.POINTWISE);
            if (!java.util.Objects.equals(vb, vw)) { decided++; right += vb != null && vb == gold.get(j) ? 1 : 0; }
        }
        java.util.Collections.shuffle(out, new java.util.Random(seed));
        List<PreferencePair> kept = new ArrayList<>(out.subList(0, Math.min(cap, out.size())));
        m.put("meta/judgment_accuracy", judgedRight / (n * k));
        m.put("meta/pairs", (double) kept.size());
        m.put("meta/pair_accuracy", decided == 0 ? Double.NaN : right / decided);
        return kept;
    }

    /** The policy's own P(Yes) normalised against P(No) for each sample (ZYN). */
    static double[] llmScores(LlamaModel policy, Tokenizer tok, GenerativeJudge.Format format, BestOfN.Samples s) {
        List<Task.Example> ex = new ArrayList<>();
        List<String> r = new ArrayList<>();
        for (int j = 0; j < s.outs().size(); j++) { ex.add(s.prompts().get(j / s.n())); r.add(s.outs().get(j).text()); }
        try (GenerativeJudge j = GenerativeJudge.of(policy, tok, format)) {
            return j.yes(ex, r);
        }
    }

    /** DICE's implicit reward β·(log π(y|x) − log π_ref(y|x)) of each sample, summed over its tokens (EOS included). */
    static double[] implicitScores(LlamaModel policy, LlamaModel reference, Tokenizer tok, BestOfN.Samples s, Config cfg) {
        double[] out = new double[s.outs().size()];
        for (int from = 0; from < out.length; from += 64) {
            int to = Math.min(out.length, from + 64);
            List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
            for (int j = from; j < to; j++) {
                dev.align4j.data.Tokenized t = cfg.batching().tokenize(tok, s.prompts().get(j / s.n()).prompt(), s.outs().get(j).text());
                p.add(t.prompt());
                c.add(t.completion());
            }
            try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                SeqBatch b = SeqBatch.of(p, c, tok.padId);
                float[] lp = Torch.toFloats(Scoring.score(policy, b, false).sum()), lr = Torch.toFloats(Scoring.score(reference, b, false).sum());
                for (int j = from; j < to; j++) out[j] = cfg.beta() * (lp[j - from] - lr[j - from]);
            }
        }
        return out;
    }

    /**
     * The (chosen, rejected) sample indices of prompt {@code i}, or null when the scores tie (or differ by less than
     * {@code minGap}). Best vs worst (ties: the first sampled); with length control ρ the shortest (in characters) of those
     * scoring ≥ max − ρ·(max − min) and the longest of those scoring ≤ min + ρ·(max − min) (Meta-Rewarding, Wu et al. 2024).
     */
    static int[] pair(double[] score, BestOfN.Samples s, int i, double rho, double minGap) {
        int n = s.n(), base = i * n;
        double[] r = java.util.Arrays.copyOfRange(score, base, base + n);
        int best = BestOfN.best(r), worst = BestOfN.worst(r);
        double max = r[best], min = r[worst];
        if (!(max - min > 0) || max - min < minGap) return null;
        if (rho > 0) {
            double hi = max - rho * (max - min), lo = min + rho * (max - min);
            for (int k = 0; k < n; k++) {
                int len = s.text(i, k).length();
                if (r[k] >= hi && len < s.text(i, best).length()) best = k;
                if (r[k] <= lo && len > s.text(i, worst).length()) worst = k;
            }
        }
        return new int[]{best, worst};
    }

    /** Share of samples whose self-verdict (score &gt; ½) is the gold one; NaN when a length penalty shifts the scores. */
    static double verdictAccuracy(double[] score, BestOfN.Samples s, Task task, boolean plain) {
        if (!plain) return Double.NaN;
        double right = 0;
        for (int j = 0; j < score.length; j++) if ((score[j] > 0.5) == task.correct(s.prompts().get(j / s.n()), s.outs().get(j).text())) right++;
        return right / score.length;
    }

    /** Each iteration's DPO: {@code steps}, or with {@code dpoEpochs} &gt; 0, ⌈dpoEpochs · pairs / batch⌉ steps (warm-up at most half of them). */
    static Dpo.Config dpoConfig(Config cfg, long seed, int pairs) {
        RunConfig r = cfg.run();
        Batching b = cfg.batching();
        int steps = cfg.dpoEpochs() > 0 ? (int) Math.max(1, Math.ceil(cfg.dpoEpochs() * pairs / b.batchSize())) : r.steps();
        int warmup = cfg.dpoEpochs() > 0 ? Math.min(r.warmupSteps(), steps / 2) : r.warmupSteps();
        return Configs.with(Dpo.Config.DEFAULTS, "steps", steps, "lr", r.lr(), "beta", cfg.beta(), "warmupSteps", warmup, "weightDecay", r.weightDecay(),
                "maxGradNorm", r.maxGradNorm(), "gradAccum", r.gradAccum(), "onNonFinite", r.onNonFinite(), "loggingSteps", r.loggingSteps(),
                "seed", seed, "batchSize", b.batchSize(), "maxLength", b.maxLength(), "truncation", b.truncation());
    }
}
