package dev.align4j.pipeline;

import dev.align4j.task.Task;

import java.util.Random;

/** A task a nano model learns in a few steps: answer "a" to every prompt; a flawed demonstration is one of b, c, d, e. */
final class LetterTask implements Task {
    public String name() { return "letter"; }

    public String description() { return "say a"; }

    public Example sample(Random rng) { return new Example("go " + (char) ('f' + rng.nextInt(20)) + (char) ('f' + rng.nextInt(20)) + ":", "a"); }

    public double reward(Example ex, String c) { return Task.firstLine(c).equals("a") ? 1 : 0; }

    public String demonstrate(Example ex, double errorRate, Random rng) { return rng.nextDouble() < errorRate ? String.valueOf((char) ('b' + rng.nextInt(4))) : "a"; }

    public int maxCompletionChars() { return 1; }
}
