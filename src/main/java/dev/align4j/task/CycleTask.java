package dev.align4j.task;

import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An intransitive task: two-digit addition, {@code 37+45=}, whose answer may be written in three styles — plain
 * {@code 82}, parenthesised {@code (82)} or tagged {@code #82} — that the gold annotator prefers in a cycle, like rock,
 * paper, scissors: plain ≻ paren ≻ hash ≻ plain. Anything else (a broken wrapper, text) is {@code malformed}. The gold
 * general preference between completions of classes i = (style, quality) and j is
 * <pre>  P*(y ≻ y') = σ((q(y) − q(y'))/τ + s·C[style(y), style(y')])</pre>
 * with q = 1 when the content is the right sum (0 when wrong or malformed), C antisymmetric — C[plain][paren] =
 * C[paren][hash] = C[hash][plain] = +1, C[styled][malformed] = +1, 0 between equals — and the cycle strength s
 * ({@code strength}, default 2) against the quality temperature τ (default 0.5); P*(y ≻ y') + P*(y' ≻ y) = 1, ½
 * within a class. No scalar reward reproduces it: a Bradley–Terry model gives the three styles one order.
 *
 * <p>The Nash policy of this preference game (the von Neumann winner) answers correctly in the three styles with equal
 * probability; every pure style is exploitable by the style that beats it. {@link #reward} is therefore not a
 * Bradley–Terry projection but the <b>win rate against that Nash policy</b>, Σ_k P*(y ≻ (correct, style k))/3: ½ for any
 * correct styled answer, 0.21 for a wrong one, 0.02 for a malformed one (defaults). It ranks content honestly and is flat
 * across styles, so a reward maximiser learns nothing about style from it; the style game is read through
 * {@link #prob} (the gold judge) and {@code eval.Game}. {@link #correct} is the content alone (the right sum, any style).
 */
public final class CycleTask implements Task, GoldPreference.Classes {
    /** The styles in cycle order: each beats the next, the last beats the first. */
    public static final List<String> STYLES = List.of("plain", "paren", "hash");
    /** Class index of a malformed completion; the styled classes are 2·style + (correct ? 0 : 1). */
    public static final int MALFORMED = 6;
    private static final Pattern PLAIN = Pattern.compile("(\\d+)"), PAREN = Pattern.compile("\\((\\d+)\\)"), HASH = Pattern.compile("#(\\d+)");

    private final double strength, tau;
    private final double[][] payoff;

    /** The default game: cycle strength s = 2, quality temperature τ = 0.5. */
    public CycleTask() { this(2.0, 0.5); }

    /**
     * @param strength s ≥ 0, the cycle's logit (0: styles indifferent, the preference transitive in quality alone)
     * @param tau      τ &gt; 0, the quality temperature (quality moves the logit by 1/τ)
     */
    public CycleTask(double strength, double tau) {
        dev.align4j.core.UserError.check(strength >= 0, "cycle strength must be >= 0: %s", strength);
        dev.align4j.core.UserError.check(tau > 0, "cycle quality temperature must be > 0: %s", tau);
        this.strength = strength;
        this.tau = tau;
        int n = MALFORMED + 1;
        payoff = new double[n][n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                payoff[i][j] = i == j ? 0.5 : sigmoid((quality(i) - quality(j)) / tau + strength * cycle(styleOf(i), styleOf(j)));
    }

    public double strength() { return strength; }

    public double tau() { return tau; }

    static double sigmoid(double x) { return 1 / (1 + Math.exp(-x)); }

    /** The style of class i (0 plain, 1 paren, 2 hash, 3 malformed). */
    public static int styleOf(int cls) { return cls == MALFORMED ? 3 : cls / 2; }

    /** 1 for a correct styled class, else 0. */
    public static int quality(int cls) { return cls != MALFORMED && cls % 2 == 0 ? 1 : 0; }

    /** The class of a style (0–2) and correctness. */
    public static int classOf(int style, boolean correct) { return 2 * style + (correct ? 0 : 1); }

    /** C[a][b]: +1 when style a beats style b in the cycle (or b is malformed and a is not), −1 the other way, 0 when equal. */
    static int cycle(int a, int b) {
        if (a == b) return 0;
        if (a == 3) return -1;
        if (b == 3) return 1;
        return (a + 1) % 3 == b ? 1 : -1;
    }

    /** A completion written in {@code style} (0–2). */
    public static String write(String content, int style) {
        return switch (style) {
            case 0 -> content;
            case 1 -> "(" + content + ")";
            case 2 -> "#" + content;
            default -> throw new IllegalArgumentException("style " + style);
        };
    }

    @Override public String name() { return "cycle"; }

    @Override public String description() { return "two-digit addition in three styles preferred in a cycle (plain > (paren) > #hash > plain); intransitive gold preference"; }

    @Override
    public Example sample(Random rng) {
        int a = 10 + rng.nextInt(90), b = 10 + rng.nextInt(90);
        return new Example(a + "+" + b + "=", String.valueOf(a + b));
    }

    @Override public List<String> classNames() {
        return List.of("plain/correct", "plain/wrong", "paren/correct", "paren/wrong", "hash/correct", "hash/wrong", "malformed");
    }

    @Override
    public int classOf(Example ex, String completion) {
        String line = Task.firstLine(completion);
        Pattern[] styles = {PLAIN, PAREN, HASH};
        for (int s = 0; s < 3; s++) {
            Matcher m = styles[s].matcher(line);
            if (m.matches()) return classOf(s, m.group(1).equals(ex.answer()));
        }
        return MALFORMED;
    }

    @Override
    public double[][] payoff() {
        double[][] c = new double[payoff.length][];
        for (int i = 0; i < c.length; i++) c[i] = payoff[i].clone();
        return c;
    }

    /** Win rate against the Nash policy (correct, uniform over the three styles): Σ_k P*(y ≻ (correct, k)) / 3. */
    @Override
    public double reward(Example ex, String completion) {
        int c = classOf(ex, completion);
        return (payoff[c][0] + payoff[c][2] + payoff[c][4]) / 3;
    }

    /** The right sum, in any of the three styles. */
    @Override
    public boolean correct(Example ex, String completion) { return quality(classOf(ex, completion)) == 1; }

    /**
     * The right sum in a uniformly drawn style; with probability {@code errorRate} a flaw: three times in four one digit
     * wrong (in a drawn style), else a broken wrapper (malformed).
     */
    @Override
    public String demonstrate(Example ex, double errorRate, Random rng) {
        int style = rng.nextInt(3);
        if (rng.nextDouble() >= errorRate) return write(ex.answer(), style);
        if (rng.nextInt(4) < 3) return write(ArithmeticTask.wrong(ex.answer(), rng), style);
        return rng.nextBoolean() ? "(" + ex.answer() : ex.answer() + ")";
    }

    @Override public int maxCompletionChars() { return 5; }
}
