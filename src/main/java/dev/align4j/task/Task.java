package dev.align4j.task;

import dev.align4j.core.UserError;

import java.util.*;

/**
 * A built-in task: a seeded prompt generator with disjoint train/test splits, a gold reward in [0, 1],
 * and a demonstration generator with a tunable error rate. The split of a prompt is a fixed function of
 * its text (a salted hash), so no test prompt can ever appear in training, whatever the seeds.
 */
public interface Task {
    enum Split { TRAIN, TEST }

    /**
     * One prompt. {@code answer} is the ideal completion (or the key facts the reward checks); {@code fields} holds the
     * other columns of a user's prompt row (e.g. {@code solution}, {@code tests}), which external reward functions
     * receive as TRL passes extra columns to its reward functions; null for built-in tasks.
     */
    record Example(String prompt, String answer, com.fasterxml.jackson.databind.node.ObjectNode fields) {
        public Example(String prompt, String answer) { this(prompt, answer, null); }
    }

    String name();

    String description();

    /** A random prompt (any split). */
    Example sample(Random rng);

    /** Gold reward of {@code completion} for {@code ex}, in [0, 1]. */
    double reward(Example ex, String completion);

    /** A demonstration: the ideal completion, or with probability {@code errorRate} a flawed one. */
    String demonstrate(Example ex, double errorRate, Random rng);

    /**
     * The systematic mistake a human demonstrator makes on this prompt, or null where it makes none: for arithmetic,
     * a dropped minus sign and a forgotten final carry. Made on a share ({@code slipRate}) of the prompts where it can
     * happen, it is what imitation copies (above ½ the greedy imitator learns the slip) and feedback has to fix.
     */
    default String slip(Example ex) { return null; }

    /**
     * The string between the steps of a multi-step completion, or null for a task without steps. A process reward model
     * trained on the task uses it as its step separator.
     */
    default String stepSeparator() { return null; }

    /**
     * Gold step labels of a completion (one per step, split at {@link #stepSeparator}: true = the step is right), or null
     * where the task has none; process reward models then learn from Monte Carlo labels (Math-Shepherd) instead.
     */
    default List<Boolean> goldStepLabels(Example ex, String completion) { return null; }

    /** Names of the reward components; one for a single-objective task. */
    default List<String> objectives() { return List.of("gold"); }

    /** The reward vector (one entry per objective); a single-objective task returns {reward}. */
    default double[] rewards(Example ex, String completion) { return new double[]{reward(ex, completion)}; }

    /** Whether the completion counts as correct (reward at its maximum). */
    default boolean correct(Example ex, String completion) { return reward(ex, completion) >= 0.999; }

    /** Longest completion (in characters) a good answer needs: generation budgets follow it. */
    int maxCompletionChars();

    static Split splitOf(String prompt) {
        int h = (prompt + "#align4j-split").hashCode();
        return Math.floorMod(h * 0x9E3779B1, 5) == 0 ? Split.TEST : Split.TRAIN;
    }

    /**
     * {@code n} distinct prompts of a split (fewer if the prompt space is smaller), deterministic in the seed.
     */
    default List<Example> examples(Split split, int n, long seed) {
        Random rng = new Random(seed * 31 + split.ordinal());
        LinkedHashMap<String, Example> out = new LinkedHashMap<>();
        int tries = 0;
        while (out.size() < n && tries++ < n * 50 + 1000) {
            Example e = sample(rng);
            if (splitOf(e.prompt()) == split) out.putIfAbsent(e.prompt(), e);
        }
        return new ArrayList<>(out.values());
    }

    /**
     * {@code n} prompts of a split as the task draws them, repeats kept, deterministic in the seed (the over-optimization
     * study's training prompts). {@link #examples} keeps each prompt once, so a long list of it under-represents a small
     * part of the prompt space (sort's 3-digit lists: 1,000 in all) against the held-out prompts; online trainers use
     * {@link #examples} all the same, which weights their prompts toward the large spaces of long, harder prompts — measured
     * better for the quickstart's GRPO stage (docs/quickstart.md, "Training prompts").
     */
    default List<Example> draws(Split split, int n, long seed) {
        Random rng = new Random(seed);
        List<Example> out = new ArrayList<>(n);
        for (int tries = 0; out.size() < n && tries < 50 * n + 1000; tries++) {
            Example e = sample(rng);
            if (splitOf(e.prompt()) == split) out.add(e);
        }
        return out;
    }

    static Task byName(String name) {
        return switch (name) {
            case "arithmetic" -> new ArithmeticTask(2);
            case "sort" -> new SortTask();
            case "phrase" -> new PhraseTask();
            case "brief-arith" -> new BriefArithmeticTask();
            case "chain" -> new ChainTask();
            case "cycle" -> new CycleTask();
            default -> throw new UserError("--task " + name + ": unknown task; expected one of " + String.join(", ", names()));
        };
    }

    static List<String> names() { return List.of("arithmetic", "sort", "phrase", "brief-arith", "chain", "cycle"); }

    /** The completion up to its first newline, trimmed: how every built-in task reads an answer. */
    static String firstLine(String completion) {
        int nl = completion.indexOf('\n');
        return (nl >= 0 ? completion.substring(0, nl) : completion).trim();
    }
}
