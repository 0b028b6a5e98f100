package dev.align4j.reward;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.PairwiseInput;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.GoldPreference;
import dev.align4j.task.Task;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The judges: a built-in task's gold preference, a pairwise preference model, a Bradley–Terry reward model. */
public final class Judges {
    private Judges() {}

    /**
     * A built-in task's gold general preference P*(a ≻ b | x) ({@link GoldPreference#of}): the task's own for {@code cycle},
     * for a transitive task the simulated annotator's σ((r(a) − r(b))/τ) at {@code temperature}.
     */
    public static Judge gold(Task task, double temperature) {
        GoldPreference g = GoldPreference.of(task, temperature);
        return new Judge() {
            public String name() { return "gold"; }

            public double[] prob(List<Task.Example> ex, List<String> a, List<String> b) {
                sizes(ex, a, b);
                double[] p = new double[ex.size()];
                for (int i = 0; i < p.length; i++) p[i] = g.prob(ex.get(i), a.get(i), b.get(i));
                return p;
            }
        };
    }

    /** A trained pairwise preference model (a directory saved by {@code preference-model}): σ(f(x, a, b) − f(x, b, a)). */
    public static Judge preferenceModel(LlamaModel pm, Tokenizer tok, int maxLength) {
        if (pm.config.isCausalLm() || pm.config.numLabels() != 1) throw new UserError("a preference model has one score head (num_labels = 1)");
        return new Judge() {
            public String name() { return "pm"; }

            public double[] prob(List<Task.Example> ex, List<String> a, List<String> b) {
                sizes(ex, a, b);
                return PairwiseInput.prob(pm, tok, prompts(ex), a, b, maxLength);
            }
        };
    }

    /** A Bradley–Terry reward model as a judge: σ(r(x, a) − r(x, b)), transitive by construction. */
    public static Judge rewardModel(LlamaModel rm, Tokenizer tok, int maxLength) {
        RewardFunction r = Rewards.model("rm", rm, tok, 0, 64, maxLength);
        return new Judge() {
            public String name() { return "rm"; }

            public double[] prob(List<Task.Example> ex, List<String> a, List<String> b) {
                sizes(ex, a, b);
                List<RewardFunction.Sample> s = new ArrayList<>();
                for (int i = 0; i < ex.size(); i++) s.add(new RewardFunction.Sample(ex.get(i), a.get(i), 0, false));
                for (int i = 0; i < ex.size(); i++) s.add(new RewardFunction.Sample(ex.get(i), b.get(i), 0, false));
                double[] sc = r.score(s), p = new double[ex.size()];
                for (int i = 0; i < p.length; i++) p[i] = 1 / (1 + Math.exp(-(sc[i] - sc[p.length + i])));
                return p;
            }
        };
    }

    /**
     * A judge from its spec: {@code gold} (needs a built-in task), {@code pm:DIR} (a saved preference model) or
     * {@code rm:DIR} (a saved Bradley–Terry reward model). Models are loaded in float32; close the judge to free them.
     */
    public static Judge parse(String spec, Task task, double temperature) {
        String[] kv = spec.trim().split(":", 2);
        switch (kv[0]) {
            case "gold" -> {
                if (kv.length > 1) throw new UserError("--judge " + spec + ": gold takes no argument");
                if (task == null) throw new UserError("--judge gold needs --task (the gold preference of a built-in task); with --data use pm:DIR");
                return gold(task, temperature);
            }
            case "pm", "rm" -> {
                if (kv.length < 2 || kv[1].isBlank()) throw new UserError("--judge " + spec + ": expected " + kv[0] + ":DIR, a saved model directory");
                Path dir = Path.of(kv[1]);
                if (!Files.isDirectory(dir)) throw new UserError("--judge " + spec + ": " + dir + " is not a directory");
                int maxLength = kv[0].equals("pm") ? PairwiseInput.check(dir) : 1024;
                HfModel.Loaded l = HfModel.load(dir, Torch.dtype("float32"));
                if (l.model().config.isCausalLm()) {
                    l.close();
                    throw new UserError("--judge " + spec + ": " + dir + " is a causal LM, not a model with a score head");
                }
                Judge j = kv[0].equals("pm") ? preferenceModel(l.model(), l.tokenizer(), maxLength) : rewardModel(l.model(), l.tokenizer(), maxLength);
                return new Judge() {
                    public String name() { return j.name(); }

                    public double[] prob(List<Task.Example> ex, List<String> a, List<String> b) { return j.prob(ex, a, b); }

                    public void close() { l.close(); }
                };
            }
            case "judge" -> {
                if (kv.length < 2 || kv[1].isBlank()) throw new UserError("--judge " + spec + ": expected judge:DIR, a directory saved by ./align4j judge");
                return GenerativeJudge.load(Path.of(kv[1])).judge();
            }
            default -> throw new UserError("--judge " + spec + ": unknown judge; expected gold, pm:DIR, rm:DIR or judge:DIR");
        }
    }

    /**
     * Agreement of a judge with annotated pairs, all chosen-first: {@code label} is the share with P(chosen ≻ rejected)
     * &gt; ½ (the annotator's label; ½ counts half), {@code majority} the share whose direction agrees with the gold
     * preference's majority direction sign(P* − ½) (pairs with P* = ½ left out), over {@code n} pairs.
     *
     * @param gold P*(chosen ≻ rejected) of each pair
     */
    public record Accuracy(double label, double majority, int n) {}

    public static Accuracy accuracy(Judge judge, List<Task.Example> examples, List<String> chosen, List<String> rejected, double[] gold) {
        double[] p = judge.prob(examples, chosen, rejected);
        double label = 0, major = 0;
        int decided = 0;
        for (int i = 0; i < p.length; i++) {
            label += p[i] > 0.5 ? 1 : p[i] == 0.5 ? 0.5 : 0;
            if (gold[i] == 0.5) continue;
            decided++;
            double o = (p[i] - 0.5) * (gold[i] - 0.5);
            major += o > 0 ? 1 : o == 0 ? 0.5 : 0;
        }
        return new Accuracy(label / Math.max(1, p.length), major / Math.max(1, decided), p.length);
    }

    /**
     * Each row's win rate against the other rows of its group: rows come in groups of {@code k} consecutive completions of
     * one prompt ({@code examples} per row), and row i gets the mean over j ≠ i in its group of P(y_i ≻ y_j). Each unordered
     * pair is judged once; P(y_j ≻ y_i) = 1 − P(y_i ≻ y_j). SPPO's P̂(y ≻ π_t), DNO's ranking, SPO's reward.
     */
    public static double[] winRates(Judge judge, List<Task.Example> examples, List<String> texts, int k) {
        if (k < 2 || texts.size() % k != 0) throw new IllegalArgumentException(texts.size() + " completions do not split into groups of k = " + k + " >= 2");
        List<Task.Example> ex = new ArrayList<>();
        List<String> a = new ArrayList<>(), b = new ArrayList<>();
        List<int[]> pairs = new ArrayList<>();
        for (int start = 0; start < texts.size(); start += k)
            for (int i = start; i < start + k; i++)
                for (int j = i + 1; j < start + k; j++) {
                    ex.add(examples.get(i));
                    a.add(texts.get(i));
                    b.add(texts.get(j));
                    pairs.add(new int[]{i, j});
                }
        double[] p = judge.prob(ex, a, b), w = new double[texts.size()];
        for (int x = 0; x < p.length; x++) {
            w[pairs.get(x)[0]] += p[x] / (k - 1);
            w[pairs.get(x)[1]] += (1 - p[x]) / (k - 1);
        }
        return w;
    }

    /**
     * SPO's reward (Swamy et al. 2024, "A Minimaximalist Approach to Reinforcement Learning from Human Feedback", arXiv
     * 2401.04056): a completion's win rate against the other completions of its prompt under the judge,
     * r(y_i) = 1/(G−1) Σ_{j≠i} P(y_i ≻ y_j). The samples it scores must come in groups of {@code groupSize} consecutive
     * completions of one prompt (as an online trainer's rollout does); held-out scoring of single completions is refused.
     */
    public static RewardFunction winRateReward(Judge judge, int groupSize) {
        return new RewardFunction() {
            public String name() { return "win_rate"; }

            public double[] score(List<RewardFunction.Sample> samples) {
                List<Task.Example> ex = new ArrayList<>();
                List<String> texts = new ArrayList<>();
                for (RewardFunction.Sample s : samples) { ex.add(s.example()); texts.add(s.completion()); }
                return winRates(judge, ex, texts, groupSize);
            }
        };
    }

    /** Closes several judges as one resource. */
    public record All(List<Judge> judges) implements AutoCloseable {
        @Override public void close() { for (Judge j : judges) j.close(); }
    }

    static List<String> prompts(List<Task.Example> ex) {
        List<String> p = new ArrayList<>(ex.size());
        for (Task.Example e : ex) p.add(e.prompt());
        return p;
    }

    static void sizes(List<?> ex, List<?> a, List<?> b) {
        if (ex.size() != a.size() || a.size() != b.size()) throw new IllegalArgumentException("judge: examples, a, b sizes " + ex.size() + ", " + a.size() + ", " + b.size());
    }
}
