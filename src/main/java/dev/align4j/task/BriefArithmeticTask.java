package dev.align4j.task;

import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two objectives, correctness and brevity: {@code 37+85=} → {@code 122} is best; {@code 122, I think}
 * is correct but wordy. Reward vector [correct, brief] with correct = the first integer equals the
 * answer, brief = max(0, 1 − extra characters / 20); the scalar reward is their mean.
 */
public final class BriefArithmeticTask implements Task {
    private static final Pattern INT = Pattern.compile("-?\\d+");
    private static final List<String> FILLER = List.of(", I think", " is the answer", " (easy)", ", done", " for sure");
    private final ArithmeticTask inner = new ArithmeticTask(2);

    @Override public String name() { return "brief-arith"; }

    @Override public String description() { return "arithmetic with two objectives: correctness and brevity"; }

    @Override public Example sample(Random rng) { return inner.sample(rng); }

    @Override public List<String> objectives() { return List.of("correct", "brief"); }

    @Override
    public double[] rewards(Example ex, String completion) {
        String line = Task.firstLine(completion);
        Matcher m = INT.matcher(line);
        double correct = m.find() && m.start() == 0 && m.group().equals(ex.answer()) ? 1 : 0;
        double brief = Math.max(0, 1 - Math.max(0, line.length() - ex.answer().length()) / 20.0);
        return new double[]{correct, brief};
    }

    @Override
    public double reward(Example ex, String completion) {
        double[] r = rewards(ex, completion);
        return 0.5 * r[0] + 0.5 * r[1];
    }

    @Override
    public String demonstrate(Example ex, double errorRate, Random rng) {
        String a = rng.nextDouble() < errorRate ? ArithmeticTask.wrong(ex.answer(), rng) : ex.answer();
        return rng.nextBoolean() ? a + FILLER.get(rng.nextInt(FILLER.size())) : a;
    }

    @Override public int maxCompletionChars() { return 20; }
}
