package dev.align4j.eval;

import dev.align4j.generate.Completion;
import dev.align4j.generate.Revision;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Task;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Self-correction at inference, measured on a built-in task: attempt 1, then K revision rounds in the {@link Revision}
 * format (each after the fixed instruction, or after a critic's critique), every attempt scored by the gold check.
 * Reports SCoRe's (Kumar et al. 2024) quantities between attempt 1 and the last attempt: accuracy at each attempt,
 * Δ(t1, t_last) = their difference, Δ^{i→c} = the share of prompts wrong at attempt 1 and right at the last, Δ^{c→i} the
 * share right at attempt 1 and wrong at the last (so Δ = Δ^{i→c} − Δ^{c→i}). Never takes gradients.
 */
public final class Revisions {
    private Revisions() {}

    /** Writes one critique per (prompt, attempt) pair; the revision then follows "Critique: TEXT" instead of the fixed instruction. */
    @FunctionalInterface
    public interface Critic {
        List<String> critique(List<String> prompts, List<String> attempts);
    }

    /** A critic model: completes {@link Revision#criticPrompt} and keeps the first line of what it writes. */
    public static Critic modelCritic(LlamaModel critic, Tokenizer tok, Revision format, SamplingConfig sc) {
        return (prompts, attempts) -> {
            List<int[]> ids = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) ids.add(tok.encode(format.criticPrompt(prompts.get(i), attempts.get(i)), true));
            List<String> out = new ArrayList<>();
            for (Completion c : Sampler.generate(critic, tok, ids, sc)) out.add(Task.firstLine(c.text()));
            return out;
        };
    }

    /**
     * The oracle critic: the task's gold critique of each attempt ({@link dev.align4j.task.Critiques#of}), for the prompts
     * of {@code examples} (a prompt that is not among them is an error). The ceiling a trained critic can reach with a
     * given generator.
     */
    public static Critic goldCritic(Task task, List<Task.Example> examples) {
        Map<String, Task.Example> byPrompt = new java.util.HashMap<>();
        for (Task.Example e : examples) byPrompt.put(e.prompt(), e);
        return (prompts, attempts) -> {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                Task.Example e = byPrompt.get(prompts.get(i));
                if (e == null) throw new IllegalArgumentException("the gold critic knows no answer for prompt " + prompts.get(i));
                out.add(dev.align4j.task.Critiques.of(task, e, attempts.get(i)));
            }
            return out;
        };
    }

    /**
     * Every attempt's text and correctness per prompt, and the summary.
     *
     * @param attempts  attempts[i][k] = attempt k + 1 of prompt i
     * @param correct   correct[i][k]
     * @param reward    reward[i][k], the gold reward
     * @param critiques critiques[i][k] = the feedback before attempt k + 2, null without a critic
     */
    public record Result(List<Task.Example> examples, String[][] attempts, boolean[][] correct, double[][] reward, String[][] critiques) {
        public int attemptsPerPrompt() { return correct.length == 0 ? 0 : correct[0].length; }

        /** Share of prompts correct at attempt k (from 1). */
        public double accuracy(int k) {
            double s = 0;
            for (boolean[] c : correct) s += c[k - 1] ? 1 : 0;
            return s / Math.max(1, correct.length);
        }

        /** Mean gold reward at attempt k (from 1). */
        public double meanReward(int k) {
            double s = 0;
            for (double[] r : reward) s += r[k - 1];
            return s / Math.max(1, reward.length);
        }

        /** Δ^{i→c}(t1, t_last): share of all prompts wrong at attempt 1 and right at the last attempt. */
        public double incorrectToCorrect() { return transitions(false); }

        /** Δ^{c→i}(t1, t_last): share of all prompts right at attempt 1 and wrong at the last attempt. */
        public double correctToIncorrect() { return transitions(true); }

        private double transitions(boolean fromCorrect) {
            int last = attemptsPerPrompt() - 1;
            double s = 0;
            for (boolean[] c : correct) if (c[0] == fromCorrect && c[last] != fromCorrect) s++;
            return s / Math.max(1, correct.length);
        }

        /**
         * The metrics: {@code accuracy/tK} and {@code reward/tK} per attempt, {@code delta/t1_tLAST}, {@code delta/i_to_c},
         * {@code delta/c_to_i}; {@code accuracy} and {@code gold_reward} are attempt 1's (what a one-attempt evaluation reports).
         */
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            int k = attemptsPerPrompt();
            m.put("accuracy", accuracy(1));
            m.put("gold_reward", meanReward(1));
            for (int t = 1; t <= k; t++) m.put("accuracy/t" + t, accuracy(t));
            for (int t = 1; t <= k; t++) m.put("reward/t" + t, meanReward(t));
            m.put("delta/t1_t" + k, accuracy(k) - accuracy(1));
            m.put("delta/i_to_c", incorrectToCorrect());
            m.put("delta/c_to_i", correctToIncorrect());
            return m;
        }
    }

    /**
     * Attempt 1 and {@code rounds} revisions of every example, {@code batchSize} prompts at a time.
     *
     * @param critic null: the fixed instruction between attempts
     * @param sc     the sampling of every attempt (greedy: temperature 0); round k samples with seed sc.seed + k
     */
    public static Result evaluate(LlamaModel model, Tokenizer tok, Revision format, Critic critic, Task task, List<Task.Example> examples,
                                  int rounds, SamplingConfig sc, int batchSize) {
        if (rounds < 1) throw new IllegalArgumentException("rounds must be >= 1: " + rounds);
        int n = examples.size(), k = rounds + 1;
        String[][] attempts = new String[n][k], critiques = critic == null ? null : new String[n][rounds];
        boolean[][] correct = new boolean[n][k];
        double[][] reward = new double[n][k];
        for (int from = 0; from < n; from += batchSize) {
            List<Task.Example> chunk = examples.subList(from, Math.min(n, from + batchSize));
            for (int t = 0; t < k; t++) {
                List<int[]> ids = new ArrayList<>();
                List<String> prompts = new ArrayList<>(), last = new ArrayList<>();
                for (int i = 0; i < chunk.size(); i++) {
                    prompts.add(chunk.get(i).prompt());
                    if (t > 0) last.add(attempts[from + i][t - 1]);
                }
                List<String> fb = t > 0 && critic != null ? critic.critique(prompts, last) : null;
                for (int i = 0; i < chunk.size(); i++) {
                    int row = from + i;
                    if (fb != null) critiques[row][t - 1] = fb.get(i);
                    String p = t == 0 ? prompts.get(i) : format.next(prompts.get(i), java.util.Arrays.asList(attempts[row]).subList(0, t), feedback(critiques, row, t));
                    ids.add(tok.encode(p, true));
                }
                SamplingConfig at = new SamplingConfig(sc.maxNewTokens(), sc.temperature(), sc.topK(), sc.topP(), sc.seed() + t, sc.stopStrings());
                List<Completion> out = Sampler.generate(model, tok, ids, at);
                for (int i = 0; i < chunk.size(); i++) {
                    int row = from + i;
                    String text = out.get(i).text();
                    attempts[row][t] = text;
                    reward[row][t] = task.reward(chunk.get(i), text);
                    correct[row][t] = task.correct(chunk.get(i), text);
                }
            }
        }
        return new Result(examples, attempts, correct, reward, critiques);
    }

    private static List<String> feedback(String[][] critiques, int row, int t) {
        if (critiques == null) return List.of();
        List<String> fb = new ArrayList<>();
        for (int j = 0; j < t; j++) fb.add(Revision.critiqueFeedback(critiques[row][j]));
        return fb;
    }
}
