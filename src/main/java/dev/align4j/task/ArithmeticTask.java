package dev.align4j.task;

import java.util.Random;

/** Multi-digit addition and subtraction, {@code 37+85=} → {@code 122}; exact-match reward. */
public final class ArithmeticTask implements Task {
    private final int digits;

    public ArithmeticTask(int digits) { this.digits = digits; }

    @Override public String name() { return "arithmetic"; }

    @Override public String description() { return digits + "-digit addition and subtraction, exact-match reward"; }

    @Override
    public Example sample(Random rng) {
        int max = (int) Math.pow(10, digits);
        int a = rng.nextInt(max), b = rng.nextInt(max);
        boolean plus = rng.nextBoolean();
        return new Example(a + (plus ? "+" : "-") + b + "=", String.valueOf(plus ? a + b : a - b));
    }

    @Override
    public double reward(Example ex, String completion) {
        return Task.firstLine(completion).equals(ex.answer()) ? 1.0 : 0.0;
    }

    @Override
    public String demonstrate(Example ex, double errorRate, Random rng) {
        if (rng.nextDouble() >= errorRate) return ex.answer();
        return wrong(ex.answer(), rng);
    }

    /** A negative result written without its sign ({@code 17-52=} → {@code 35}); a sum's final carry forgotten ({@code 57+85=} → {@code 42}). */
    @Override
    public String slip(Example ex) {
        String answer = ex.answer();
        if (answer.startsWith("-")) return answer.substring(1);
        if (ex.prompt().contains("+") && answer.length() > digits) return answer.substring(1);
        return null;
    }

    /** A plausible mistake: one digit changed. */
    static String wrong(String answer, Random rng) {
        char[] c = answer.toCharArray();
        int start = c[0] == '-' ? 1 : 0;
        int i = start + rng.nextInt(c.length - start);
        char d;
        do d = (char) ('0' + rng.nextInt(10)); while (d == c[i] || (i == start && d == '0' && c.length - start > 1));
        c[i] = d;
        return new String(c);
    }

    @Override public int maxCompletionChars() { return digits + 2; }
}
