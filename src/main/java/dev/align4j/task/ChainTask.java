package dev.align4j.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A multi-step task: a chain of 3–5 additions and subtractions on numbers 0..99, each intermediate result written as
 * one step, steps separated by {@code ;}: {@code 17+25-9+40=} → {@code 42;33;73}. The operands are drawn so that every
 * true intermediate value stays in 0..99; a written step may leave that range (after a mistake) and is then written
 * as any integer, a negative one with its minus sign.
 *
 * <p>Two kinds of feedback, as outcome and process reward models see them:
 * <ul>
 * <li>the gold reward is on the outcome: 1 when the last step equals the final answer, else 0. Intermediate steps are
 * not checked, so a chain with a wrong step that still ends on the right number earns 1 — exactly the case step-level
 * labels exist for;</li>
 * <li>{@link #stepLabels} judge each step on its own: a step is right when it follows from the <i>previous written</i>
 * step (not from the true previous value), so after one mistake the steps that continue correctly from it are right.
 * Labels are TRL's stepwise-supervision labels (export format {@code stepwise}).</li>
 * </ul>
 * The example's {@code answer} is the final value ({@code 73}), so the {@code answer} reward (the last number) also
 * scores a chain by its outcome. Not a general expression parser: prompts are the ones {@link #sample} writes.
 */
public final class ChainTask implements Task {
    /** Separates the steps of a completion; a character of the built-in tokenizer's printable ASCII. */
    public static final String SEPARATOR = ";";

    @Override public String name() { return "chain"; }

    @Override public String description() { return "chains of 3-5 additions/subtractions on 0..99, every intermediate result a step (42;33;73), reward on the final answer"; }

    @Override
    public Example sample(Random rng) {
        int ops = 3 + rng.nextInt(3);
        int v = rng.nextInt(100);
        StringBuilder p = new StringBuilder().append(v);
        for (int k = 0; k < ops; k++) {
            boolean plus = v == 0 || (v < 99 && rng.nextBoolean());
            int x = plus ? 1 + rng.nextInt(99 - v) : 1 + rng.nextInt(v);     // keeps v ± x in 0..99
            v += plus ? x : -x;
            p.append(plus ? '+' : '-').append(x);
        }
        return new Example(p.append('=').toString(), String.valueOf(v));
    }

    /** The prompt's numbers: {@code [first, ±operand1, ±operand2, …]} (operands signed by their operation). */
    static int[] terms(String prompt) {
        String body = prompt.endsWith("=") ? prompt.substring(0, prompt.length() - 1) : prompt;
        String[] parts = body.split("(?=[+-])");
        int[] t = new int[parts.length];
        for (int i = 0; i < parts.length; i++) t[i] = Integer.parseInt(parts[i].startsWith("+") ? parts[i].substring(1) : parts[i]);
        return t;
    }

    /** The true intermediate values of the prompt's chain, one per operation. */
    public static int[] values(String prompt) {
        int[] t = terms(prompt);
        int[] v = new int[t.length - 1];
        int acc = t[0];
        for (int i = 1; i < t.length; i++) v[i - 1] = acc += t[i];
        return v;
    }

    /** The steps of a completion: its first line split at {@code ;}, each trimmed (empty when blank). */
    public static List<String> steps(String completion) {
        String line = Task.firstLine(completion);
        List<String> out = new ArrayList<>();
        if (line.isEmpty()) return out;
        for (String s : line.split(SEPARATOR, -1)) out.add(s.trim());
        return out;
    }

    /**
     * One label per written step: step i is right when it parses as an integer equal to (previous written step) op_i
     * operand_i, the first step's "previous" being the prompt's first number. Where the previous written step is not a
     * number, the true previous value stands in for it. Steps past the last operation are wrong.
     */
    public static List<Boolean> stepLabels(Example ex, String completion) {
        int[] t = terms(ex.prompt());
        int[] truth = values(ex.prompt());
        List<Boolean> out = new ArrayList<>();
        Integer prev = t[0];
        List<String> steps = steps(completion);
        for (int i = 0; i < steps.size(); i++) {
            Integer got = integer(steps.get(i));
            out.add(i < truth.length && got != null && got == prev + t[i + 1]);
            prev = got != null ? got : i < truth.length ? truth[i] : prev;
        }
        return out;
    }

    @Override public String stepSeparator() { return SEPARATOR; }

    /** {@link #stepLabels}, as every task with gold step labels offers them. */
    @Override public List<Boolean> goldStepLabels(Example ex, String completion) { return stepLabels(ex, completion); }

    /** Gold reward on the outcome: 1 when the last written step is the final answer, else 0. */
    @Override
    public double reward(Example ex, String completion) {
        List<String> s = steps(completion);
        return !s.isEmpty() && s.get(s.size() - 1).equals(ex.answer()) ? 1.0 : 0.0;
    }

    /** The ideal chain, or with probability {@code errorRate} one step with one digit changed and the later steps computed on from it. */
    @Override
    public String demonstrate(Example ex, double errorRate, Random rng) {
        int[] v = values(ex.prompt());
        if (rng.nextDouble() >= errorRate) return join(ex.prompt(), v, -1, 0);
        int i = rng.nextInt(v.length);
        int wrong = Integer.parseInt(ArithmeticTask.wrong(String.valueOf(v[i]), rng));
        return join(ex.prompt(), v, i, wrong - v[i]);
    }

    /**
     * The demonstrator's systematic slip: the first step that needs a carry (a sum whose ones digits add to 10 or more)
     * or a borrow (a difference whose first ones digit is the smaller) is written without it — {@code 17+25} as 32,
     * {@code 42-9} as 43 — and the later steps are computed on correctly from the slipped value. Null when no step
     * carries or borrows.
     */
    @Override
    public String slip(Example ex) {
        int[] t = terms(ex.prompt());
        int[] v = values(ex.prompt());
        int prev = t[0];
        for (int i = 0; i < v.length; i++) {
            int x = t[i + 1];
            if (x > 0 && prev % 10 + x % 10 >= 10) return join(ex.prompt(), v, i, -10);       // carry forgotten
            if (x < 0 && prev % 10 < (-x) % 10) return join(ex.prompt(), v, i, 10);           // borrow forgotten
            prev = v[i];
        }
        return null;
    }

    /** The chain with {@code delta} added to step {@code from} and every later step (a mistake the rest follows from). */
    private static String join(String prompt, int[] v, int from, int delta) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) sb.append(i > 0 ? SEPARATOR : "").append(from >= 0 && i >= from ? v[i] + delta : v[i]);
        return sb.toString();
    }

    private static Integer integer(String s) {
        if (!s.matches("-?\\d{1,9}")) return null;
        return Integer.parseInt(s);
    }

    /** Five two-digit steps and four separators. */
    @Override public int maxCompletionChars() { return 14; }
}
