package dev.align4j.task;

import java.util.List;

/**
 * Gold critiques: a short structured sentence that points at the error of a response, derived from the task's gold
 * reward, as a critic trained on it should write (CLoud's critique-then-verdict, CriticGPT's pointed critiques). Short
 * on purpose — the built-in models read and write a few dozen characters:
 * <ul>
 * <li>a correct response: {@code correct};</li>
 * <li>{@code arithmetic} (and {@code brief-arith}, {@code cycle}: the number in the answer): the first wrong digit and
 * what it should be ({@code digit 2 is 5, should be 7}), a missing or extra minus sign, or a wrong number of digits
 * ({@code 2 digits, should be 3: 122});</li>
 * <li>{@code chain}: the first wrong step and its correct value ({@code step 2 is 43, should be 33}), a missing step
 * ({@code step 3 missing, should be 73}) or extra steps;</li>
 * <li>other tasks: a generic critique naming the gold reward and the reference answer.</li>
 * </ul>
 * A critique never reads the model; it is the gold that judge training data ({@code export --format judge}) is built
 * from. Not a grader itself: {@link Task#correct} decides right and wrong, this only explains it.
 */
public final class Critiques {
    private Critiques() {}

    /** The critique of a correct response. */
    public static final String CORRECT = "correct";

    /** The gold critique of {@code response} to {@code ex} under {@code task}. */
    public static String of(Task task, Task.Example ex, String response) {
        if (task.correct(ex, response)) return CORRECT;
        return switch (task.name()) {
            case "arithmetic" -> number(Task.firstLine(response), ex.answer());
            case "chain" -> chain(ex, response);
            default -> generic(task, ex, response);
        };
    }

    /**
     * A number against the right one: a sign error, else a length error, else the first differing digit (counted from
     * 1 at the left, the sign not counted).
     */
    public static String number(String got, String want) {
        if (got.isEmpty()) return "empty, should be " + want;
        if (!got.matches("-?\\d+")) return "not a number, should be " + want;
        boolean gotNeg = got.startsWith("-"), wantNeg = want.startsWith("-");
        String g = gotNeg ? got.substring(1) : got, w = wantNeg ? want.substring(1) : want;
        if (g.equals(w)) return wantNeg ? "minus sign missing, should be " + want : "extra minus sign, should be " + want;
        if (g.length() != w.length()) return g.length() + " digits, should be " + w.length() + ": " + want;
        for (int i = 0; i < g.length(); i++) {
            if (g.charAt(i) != w.charAt(i)) {
                String sign = gotNeg != wantNeg ? (wantNeg ? "; minus sign missing" : "; extra minus sign") : "";
                return "digit " + (i + 1) + " is " + g.charAt(i) + ", should be " + w.charAt(i) + sign;
            }
        }
        return "should be " + want;        // unreachable: g differs from w with the same length
    }

    /** The first wrong step of a chain and the value it should have (the true value: every earlier step is right). */
    static String chain(Task.Example ex, String response) {
        List<String> steps = ChainTask.steps(response);
        List<Boolean> labels = ChainTask.stepLabels(ex, response);
        int[] truth = ChainTask.values(ex.prompt());
        for (int i = 0; i < steps.size(); i++) {
            if (labels.get(i)) continue;
            if (i >= truth.length) return "extra step " + (i + 1) + ", should end at " + ex.answer();
            return "step " + (i + 1) + " is " + (steps.get(i).isEmpty() ? "empty" : steps.get(i)) + ", should be " + truth[i];
        }
        if (steps.size() < truth.length) return "step " + (steps.size() + 1) + " missing, should be " + truth[steps.size()];
        return "should end at " + ex.answer();
    }

    static String generic(Task task, Task.Example ex, String response) {
        return String.format(java.util.Locale.ROOT, "wrong (reward %.2f), e.g. %s", task.reward(ex, response), ex.answer());
    }
}
