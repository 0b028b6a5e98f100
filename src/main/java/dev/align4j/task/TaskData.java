package dev.align4j.task;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;

import java.util.*;

/**
 * Datasets built from a task's demonstrations and the simulated annotator, in the JSONL formats users
 * bring: {@code sft} (prompt, completion), {@code prompts} (prompt), {@code preference} (prompt, chosen,
 * rejected), {@code unpaired} (prompt, completion, label), {@code ranked} (prompt, completions, scores, ranks),
 * {@code ratings} (prompt, completion, rating), {@code multi} (prompt, chosen, rejected, scores as vectors) and, for a task
 * whose completions are steps ({@code chain}), {@code stepwise} (TRL's stepwise supervision: prompt, completions = the
 * steps, labels = one true/false per step).
 */
public final class TaskData {
    private TaskData() {}

    public static final List<String> FORMATS = List.of("sft", "prompts", "preference", "unpaired", "ranked", "ratings", "multi", "stepwise");

    /** Demonstrations of a built-in task on its train split, a share {@code errorRate} of them flawed at random. */
    public static List<dev.align4j.data.SftExample> demonstrations(Task task, int n, double errorRate, long seed) {
        return demonstrations(task, n, errorRate, 0, seed);
    }

    /**
     * Demonstrations with two kinds of flaws: on a share {@code slipRate} of the prompts where the task's demonstrator
     * slips ({@link Task#slip}) the systematic mistake, elsewhere a random flaw with probability {@code errorRate}.
     */
    public static List<dev.align4j.data.SftExample> demonstrations(Task task, int n, double errorRate, double slipRate, long seed) {
        Random rng = new Random(seed);
        List<dev.align4j.data.SftExample> out = new ArrayList<>();
        for (Task.Example e : task.examples(Task.Split.TRAIN, n, seed)) {
            String slip = task.slip(e);
            boolean slips = slip != null && slipRate > 0 && rng.nextDouble() < slipRate;   // slip rate 0: the random stream of errorRate alone
            out.add(new dev.align4j.data.SftExample(e.prompt(), slips ? slip : task.demonstrate(e, errorRate, rng)));
        }
        return out;
    }

    /**
     * Pairs of two demonstrations (each flawed with probability {@code errorRate}) ordered by the annotator;
     * pairs whose gold rewards tie are dropped, as an annotator would mark them "tie".
     */
    public static List<PreferencePair> preferencePairs(Task t, Task.Split split, int n, double errorRate, double temperature, long seed) {
        List<PreferencePair> out = new ArrayList<>();
        for (Labelled l : labelledPairs(t, split, n, errorRate, temperature, seed)) out.add(l.pair());
        return out;
    }

    /** An annotated pair with its prompt's example and the gold preference of its chosen side, P*(chosen ≻ rejected). */
    public record Labelled(PreferencePair pair, Task.Example example, double gold) {}

    /**
     * {@link #preferencePairs} with each pair's example and gold preference. For a task with a general preference
     * ({@link GoldPreference.Classes}: {@code cycle}) the annotator draws each label from P* ({@link Annotator#prefersWith};
     * temperature 0: the majority direction) and pairs of one class (P* = ½) are dropped as ties; for the others, from
     * σ((r_x − r_y)/τ), pairs of equal gold reward dropped.
     */
    public static List<Labelled> labelledPairs(Task t, Task.Split split, int n, double errorRate, double temperature, long seed) {
        Random rng = new Random(seed);
        Annotator a = new Annotator(temperature, seed + 1);
        GoldPreference.Classes general = t instanceof GoldPreference.Classes c ? c : null;
        GoldPreference gold = GoldPreference.of(t, temperature);
        List<Labelled> out = new ArrayList<>();
        List<Task.Example> ex = t.examples(split, n, seed);
        for (int i = 0; out.size() < n && i < n * 20; i++) {
            Task.Example e = ex.get(i % ex.size());
            String x = t.demonstrate(e, errorRate, rng), y = t.demonstrate(e, errorRate, rng);
            if (x.equals(y)) continue;
            boolean xWins;
            if (general != null) {
                double p = general.prob(e, x, y);
                if (p == 0.5) continue;
                xWins = a.prefersWith(p);
            } else {
                double rx = t.reward(e, x), ry = t.reward(e, y);
                if (rx == ry) continue;
                xWins = a.prefers(rx, ry);
            }
            String c = xWins ? x : y, r = xWins ? y : x;
            out.add(new Labelled(new PreferencePair(e.prompt(), c, r), e, gold.prob(e, c, r)));
        }
        return out;
    }

    /** Unpaired thumbs-up / thumbs-down on demonstrations (each flawed with probability {@code errorRate}). */
    public static List<dev.align4j.data.UnpairedExample> unpaired(Task t, Task.Split split, int n, double errorRate, double temperature, long seed) {
        Random rng = new Random(seed);
        Annotator a = new Annotator(temperature, seed + 1);
        List<dev.align4j.data.UnpairedExample> out = new ArrayList<>();
        List<Task.Example> ex = t.examples(split, n, seed);
        for (int i = 0; i < n; i++) {
            Task.Example e = ex.get(i % ex.size());
            String c = t.demonstrate(e, errorRate, rng);
            out.add(new dev.align4j.data.UnpairedExample(e.prompt(), c, a.label(t.reward(e, c))));
        }
        return out;
    }

    /**
     * Annotated pairs (as {@link #preferencePairs}) with the task's reward vector for both sides, one
     * entry per {@link Task#objectives()}: multi-objective data for multi-head reward models and MODPO.
     */
    public static List<PreferencePair.Scored> scoredPairs(Task t, Task.Split split, int n, double errorRate, double temperature, long seed) {
        Map<String, String> answers = new HashMap<>();
        for (Task.Example e : t.examples(split, n, seed)) answers.put(e.prompt(), e.answer());   // the prompts preferencePairs draws from
        List<PreferencePair.Scored> out = new ArrayList<>();
        for (PreferencePair p : preferencePairs(t, split, n, errorRate, temperature, seed)) {
            Task.Example e = new Task.Example(p.prompt(), answers.get(p.prompt()));
            out.add(new PreferencePair.Scored(p, t.rewards(e, p.chosen()), t.rewards(e, p.rejected())));
        }
        return out;
    }

    public static List<ObjectNode> export(Task t, String format, Task.Split split, int n, double errorRate, double temperature, long seed) {
        Random rng = new Random(seed);
        Annotator a = new Annotator(temperature, seed + 1);
        List<ObjectNode> rows = new ArrayList<>();
        if (format.equals("stepwise") && !(t instanceof ChainTask))
            throw new UserError("--format stepwise needs a task whose completions are steps (chain), not " + t.name());
        switch (format) {
            case "preference" -> preferencePairs(t, split, n, errorRate, temperature, seed).forEach(p -> rows.add(p.toJson()));
            case "multi" -> {
                for (PreferencePair.Scored sp : scoredPairs(t, split, n, errorRate, temperature, seed)) {
                    ObjectNode o = sp.pair().toJson();
                    vector(o.putArray("chosen_scores"), sp.chosenScores());
                    vector(o.putArray("rejected_scores"), sp.rejectedScores());
                    var names = o.putArray("objectives");
                    t.objectives().forEach(names::add);
                    rows.add(o);
                }
            }
            default -> {
                for (Task.Example e : t.examples(split, n, seed)) {
                    ObjectNode o = Json.object();
                    o.put("prompt", e.prompt());
                    switch (format) {
                        case "prompts" -> { }
                        case "sft" -> o.put("completion", t.demonstrate(e, errorRate, rng));
                        case "unpaired" -> {
                            String c = t.demonstrate(e, errorRate, rng);
                            o.put("completion", c);
                            o.put("label", a.label(t.reward(e, c)));
                        }
                        case "ratings" -> {
                            String c = t.demonstrate(e, errorRate, rng);
                            o.put("completion", c);
                            o.put("rating", a.rating(t.reward(e, c)));
                        }
                        case "stepwise" -> {              // a demonstration's steps, a share errorRate of them with one wrong step
                            String c = t.demonstrate(e, errorRate, rng);
                            ArrayNode steps = o.putArray("completions"), labels = o.putArray("labels");
                            ChainTask.steps(c).forEach(steps::add);
                            ChainTask.stepLabels(e, c).forEach(labels::add);
                        }
                        case "ranked" -> {
                            String[] cs = new String[4];
                            double[] r = new double[4];
                            for (int k = 0; k < 4; k++) { cs[k] = t.demonstrate(e, errorRate, rng); r[k] = t.reward(e, cs[k]); }
                            int[] order = a.rank(r);
                            int[] ranks = new int[4];
                            for (int k = 0; k < 4; k++) ranks[order[k]] = k + 1;
                            ArrayNode c = o.putArray("completions"), s = o.putArray("scores"), rk = o.putArray("ranks");
                            for (int k = 0; k < 4; k++) { c.add(cs[k]); s.add(r[k]); rk.add(ranks[k]); }
                        }
                        default -> throw new UserError("--format " + format + ": expected one of " + FORMATS + ", judge, judge-pairs");
                    }
                    rows.add(o);
                }
            }
        }
        return rows;
    }

    private static void vector(ArrayNode a, double[] v) { for (double x : v) a.add(x); }
}
