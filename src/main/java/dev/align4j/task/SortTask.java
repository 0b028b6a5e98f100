package dev.align4j.task;

import java.util.List;

import java.util.Arrays;
import java.util.Random;

/**
 * Sort a short list of digits: {@code sort 5 2 9 1:} → {@code 1 2 5 9}. Partial credit: the fraction of
 * positions holding the right number, over the longer of the two lists.
 */
public final class SortTask implements Task {
    @Override public String name() { return "sort"; }

    @Override public String description() { return "sort 3-5 digits ascending, partial credit per position"; }

    @Override
    public Example sample(Random rng) {
        int n = 3 + rng.nextInt(3);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = rng.nextInt(10);
        int[] s = x.clone();
        Arrays.sort(s);
        return new Example("sort " + join(x) + ":", join(s));
    }

    static String join(int[] x) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < x.length; i++) sb.append(i > 0 ? " " : "").append(x[i]);
        return sb.toString();
    }

    @Override
    public double reward(Example ex, String completion) {
        String[] want = ex.answer().split(" ");
        String line = Task.firstLine(completion);
        String[] got = line.isEmpty() ? new String[0] : line.split("\\s+");
        int match = 0;
        for (int i = 0; i < Math.min(want.length, got.length); i++) if (want[i].equals(got[i])) match++;
        return (double) match / Math.max(want.length, got.length);
    }

    @Override
    public String demonstrate(Example ex, double errorRate, Random rng) {
        if (rng.nextDouble() >= errorRate) return ex.answer();
        String[] s = ex.answer().split(" ");
        int i = rng.nextInt(s.length - 1);
        String t = s[i];
        s[i] = s[i + 1];
        s[i + 1] = t;
        if (s[i].equals(s[i + 1])) s[i] = String.valueOf((Integer.parseInt(s[i]) + 1) % 10);
        return String.join(" ", s);
    }

    /** A repeated digit written once ({@code sort 3 1 3:} → {@code 1 3}, not {@code 1 3 3}). */
    @Override
    public String slip(Example ex) {
        String deduped = String.join(" ", new java.util.LinkedHashSet<>(List.of(ex.answer().split(" "))));
        return deduped.equals(ex.answer()) ? null : deduped;
    }

    @Override public int maxCompletionChars() { return 10; }
}
