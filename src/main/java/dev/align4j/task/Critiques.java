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
 * <li>{@code sort}: what the list lacks or has too much of, as digits ({@code missing 3}, {@code extra 7},
 * {@code missing 3, extra 7}), else the first place the order goes wrong ({@code 5 before 2}); it points at the error
 * without writing the sorted list;</li>
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
            case "sort" -> sort(Task.firstLine(response), ex.answer());
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

    /**
     * A list of digits against the sorted one: the digits it lacks and those it has too many of (each as often as it is
     * off, ascending), else the first adjacent pair out of order; {@code not a list of digits} for anything else.
     */
    static String sort(String got, String want) {
        if (got.isEmpty()) return "empty";
        String[] g = got.split("\\s+");
        for (String d : g) if (!d.matches("\\d")) return "not a list of digits";
        int[] count = new int[10];
        for (String d : want.split(" ")) count[d.charAt(0) - '0']++;
        for (String d : g) count[d.charAt(0) - '0']--;
        StringBuilder missing = new StringBuilder(), extra = new StringBuilder();
        for (int d = 0; d < 10; d++)
            for (int k = 0; k < Math.abs(count[d]); k++) (count[d] > 0 ? missing : extra).append(' ').append(d);
        if (missing.length() > 0 && extra.length() > 0) return "missing" + missing + ", extra" + extra;
        if (missing.length() > 0) return "missing" + missing;
        if (extra.length() > 0) return "extra" + extra;
        for (int i = 0; i + 1 < g.length; i++) if (g[i].compareTo(g[i + 1]) > 0) return g[i] + " before " + g[i + 1];
        return "should be " + want;        // unreachable: the same digits in ascending order are the answer
    }

    static String generic(Task task, Task.Example ex, String response) {
        return String.format(java.util.Locale.ROOT, "wrong (reward %.2f), e.g. %s", task.reward(ex, response), ex.answer());
    }
}
