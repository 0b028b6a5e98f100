package dev.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.JudgeData;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A causal LM read as a reward model through its verdict tokens (GenRM, Zhang et al. 2024; ZYN, Gallego 2023):
 * <pre>  r(x, y) = P(Yes | q(x, y)) / (P(Yes | q(x, y)) + P(No | q(x, y))) = σ(log P(Yes) − log P(No))</pre>
 * with q the pointwise judge prompt ({@link JudgeData#pointwisePrompt}) and P(·) the probability of the whole verdict
 * string (a one-token verdict under a BPE tokenizer; Y-e-s under the built-in character tokenizer, where the first
 * character carries nearly all of it). Pairwise: P(A) normalised against P(B) on the pairwise prompt. With a critique
 * (CLoud, Ankner et al. 2024) the judge first writes its critique greedily, and the verdict is scored after it.
 *
 * <p>How a judge directory reads its model is saved beside the weights in {@code judge.json} (mode, critique); the
 * policy itself as a judge (self-rewarding) is built with {@link #of}. Scores without gradients; never trains.
 */
public final class GenerativeJudge implements AutoCloseable {
    /** The file in a judge directory that says how to read it. */
    public static final String FILE = "judge.json";

    /** How the model judges: pointwise or pairwise, with or without a critique first (at most {@code critiqueTokens} tokens). */
    public record Format(JudgeData.Mode mode, boolean critique, int critiqueTokens) {
        public Format {
            if (mode == null) mode = JudgeData.Mode.POINTWISE;
            UserError.check(critiqueTokens >= 1, "critique-tokens must be >= 1: %s", critiqueTokens);
        }

        public static Format pointwise() { return new Format(JudgeData.Mode.POINTWISE, false, 48); }

        public void save(Path dir) {
            ObjectNode o = Json.object();
            o.put("mode", mode.name().toLowerCase());
            o.put("critique", critique);
            o.put("critique_tokens", critiqueTokens);
            AtomicFiles.writeString(dir.resolve(FILE), Json.pretty(o));
        }

        public static Format read(Path dir) {
            Path f = dir.resolve(FILE);
            if (!Files.isRegularFile(f)) throw new UserError(dir + " has no " + FILE + ": not a judge from ./align4j judge (or self-reward)");
            JsonNode o = Json.read(f);
            String mode = o.path("mode").asText("pointwise");
            UserError.check(mode.equals("pointwise") || mode.equals("pairwise"), "%s: mode must be pointwise or pairwise: %s", f, mode);
            return new Format(JudgeData.Mode.valueOf(mode.toUpperCase()), o.path("critique").asBoolean(false), o.path("critique_tokens").asInt(48));
        }
    }

    private final LlamaModel model;
    private final Tokenizer tok;
    private final Format format;
    private final AutoCloseable owned;
    private final int batchSize;

    private GenerativeJudge(LlamaModel model, Tokenizer tok, Format format, AutoCloseable owned, int batchSize) {
        if (!model.config.isCausalLm()) throw new UserError("a generative judge is a causal LM (*ForCausalLM); this model has a score head");
        this.model = model;
        this.tok = tok;
        this.format = format;
        this.owned = owned;
        this.batchSize = batchSize;
    }

    /** A model already in memory (the policy judging itself, a judge being trained); closing the judge leaves it open. */
    public static GenerativeJudge of(LlamaModel model, Tokenizer tok, Format format) { return new GenerativeJudge(model, tok, format, null, 64); }

    /** A saved judge directory (weights, tokenizer, judge.json), loaded in float32; closing the judge frees it. */
    public static GenerativeJudge load(Path dir) {
        if (!Files.isDirectory(dir)) throw new UserError("judge:" + dir + ": not a directory");
        Format f = Format.read(dir);
        HfModel.Loaded l = HfModel.load(dir, Torch.dtype("float32"));
        return new GenerativeJudge(l.model(), l.tokenizer(), f, l, 64);
    }

    public Format format() { return format; }

    /** ZYN's normalisation: P(Yes) / (P(Yes) + P(No)) from the two log-probabilities, computed stably as σ(lYes − lNo). */
    public static double normalize(double logpYes, double logpNo) {
        double d = logpYes - logpNo;
        return d >= 0 ? 1 / (1 + Math.exp(-d)) : Math.exp(d) / (1 + Math.exp(d));
    }

    /** P(Yes) normalised against P(No): the pointwise reward of each response. Needs a pointwise judge. */
    public double[] yes(List<Task.Example> ex, List<String> responses) {
        if (format.mode() != JudgeData.Mode.POINTWISE) throw new UserError("this judge is pairwise (judge.json mode): it scores pairs, not single responses; use --judge judge:DIR");
        List<String> q = new ArrayList<>(ex.size());
        for (int i = 0; i < ex.size(); i++) q.add(JudgeData.pointwisePrompt(ex.get(i).prompt(), responses.get(i)));
        return verdictProb(q, JudgeData.YES, JudgeData.NO);
    }

    /**
     * The meta-judge's P(Yes) normalised against P(No) that each judgment of a judge prompt is right ({@link
     * JudgeData#metaPrompt}). Needs a verdict-only format (the meta-judge writes no critique).
     */
    public double[] agree(List<String> judgePrompts, List<String> judgments) {
        if (format.critique()) throw new IllegalStateException("the meta-judge reads the verdict directly: use a format without a critique");
        List<String> q = new ArrayList<>(judgePrompts.size());
        for (int i = 0; i < judgePrompts.size(); i++) q.add(JudgeData.metaPrompt(judgePrompts.get(i), judgments.get(i)));
        return verdictProb(q, JudgeData.YES, JudgeData.NO);
    }

    /** P(A) normalised against P(B) on the pairwise prompt (a first, b second). Needs a pairwise judge. */
    public double[] preferA(List<Task.Example> ex, List<String> a, List<String> b) {
        if (format.mode() != JudgeData.Mode.PAIRWISE) throw new IllegalStateException("a pointwise judge has no pairwise prompt");
        List<String> q = new ArrayList<>(ex.size());
        for (int i = 0; i < ex.size(); i++) q.add(JudgeData.pairwisePrompt(ex.get(i).prompt(), a.get(i), b.get(i)));
        return verdictProb(q, JudgeData.A, JudgeData.B);
    }

    /**
     * P(yes) / (P(yes) + P(no)) after each judge prompt — after the judge's own greedy critique and {@link JudgeData#THEN}
     * when the format has a critique. Batched; no gradients.
     */
    double[] verdictProb(List<String> judgePrompts, String yes, String no) {
        double[] out = new double[judgePrompts.size()];
        int[] y = tok.encode(yes, false), n = tok.encode(no, false);
        for (int from = 0; from < out.length; from += batchSize) {
            List<String> chunk = judgePrompts.subList(from, Math.min(out.length, from + batchSize));
            try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                List<int[]> prefixes = new ArrayList<>();
                for (String q : chunk) prefixes.add(tok.encode(q, true));
                if (format.critique()) prefixes = withCritiques(prefixes);
                List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
                for (int[] pre : prefixes) { p.add(pre); c.add(y); }
                for (int[] pre : prefixes) { p.add(pre); c.add(n); }
                float[] sum = Torch.toFloats(Scoring.score(model, SeqBatch.of(p, c, tok.padId), false).sum());
                int k = chunk.size();
                for (int i = 0; i < k; i++) out[from + i] = normalize(sum[i], sum[k + i]);
            }
        }
        return out;
    }

    /** Each prompt followed by the judge's greedy critique, cut at its first {@link JudgeData#THEN}, and THEN. */
    private List<int[]> withCritiques(List<int[]> prompts) {
        List<Completion> outs = Sampler.generate(model, tok, prompts, new SamplingConfig(format.critiqueTokens(), 0, 0, 1.0, 0, List.of(JudgeData.THEN.strip())));
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            String critique = outs.get(i).text().strip();
            int at = critique.indexOf(JudgeData.THEN.strip());
            if (at >= 0) critique = critique.substring(0, at).strip();
            int[] c = tok.encode(critique + JudgeData.THEN, false), pre = prompts.get(i);
            int[] joined = java.util.Arrays.copyOf(pre, pre.length + c.length);
            System.arraycopy(c, 0, joined, pre.length, c.length);
            out.add(joined);
        }
        return out;
    }

    /** The judge as a reward function ({@code --reward judge:DIR}): P(Yes) normalised, in [0, 1]. */
    public RewardFunction reward(String name) {
        if (format.mode() != JudgeData.Mode.POINTWISE)
            throw new UserError("--reward " + name + ": this judge is pairwise (judge.json mode); a reward needs a pointwise judge (./align4j judge --mode pointwise), or use it with --judge");
        return new RewardFunction() {
            public String name() { return name; }

            public double[] score(List<Sample> samples) {
                List<Task.Example> ex = new ArrayList<>();
                List<String> r = new ArrayList<>();
                for (Sample s : samples) { ex.add(s.example()); r.add(s.completion()); }
                return yes(ex, r);
            }
        };
    }

    /**
     * The judge as a pairwise judge ({@code --judge judge:DIR}). Pairwise: P(A) averaged over both orders,
     * ½ (P_A(a, b) + 1 − P_A(b, a)), so P(a ≻ b) + P(b ≻ a) = 1 and position bias cancels. Pointwise: Bradley–Terry of the
     * two verdicts, σ(logit r(a) − logit r(b)).
     */
    public Judge judge() {
        return new Judge() {
            public String name() { return "judge"; }

            public double[] prob(List<Task.Example> ex, List<String> a, List<String> b) {
                Judges.sizes(ex, a, b);
                double[] p = new double[ex.size()];
                if (format.mode() == JudgeData.Mode.PAIRWISE) {
                    double[] ab = preferA(ex, a, b), ba = preferA(ex, b, a);
                    for (int i = 0; i < p.length; i++) p[i] = 0.5 * (ab[i] + 1 - ba[i]);
                } else {
                    double[] ra = yes(ex, a), rb = yes(ex, b);
                    for (int i = 0; i < p.length; i++) p[i] = normalize(logit(ra[i]), logit(rb[i]));
                }
                return p;
            }

            public void close() { GenerativeJudge.this.close(); }
        };
    }

    static double logit(double p) {
        double q = Math.min(1 - 1e-12, Math.max(1e-12, p));
        return Math.log(q) - Math.log1p(-q);
    }

    @Override
    public void close() {
        if (owned == null) return;
        try { owned.close(); } catch (Exception e) { throw new RuntimeException(e); }
    }
}
