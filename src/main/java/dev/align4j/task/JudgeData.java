package dev.align4j.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.SftExample;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A task in judge form: a causal LM reads a prompt and a response and writes a verdict, its truth taken from the task's
 * gold reward (GenRM, Zhang et al. 2024; ZYN's Yes/No questions). Two forms:
 * <ul>
 * <li>pointwise: {@code 37+85=132 right? } → {@code No} (or, critique first as CLoud, {@code digit 2 is 3, should be 2 => No});</li>
 * <li>pairwise: {@code 37+85= A:132 B:122 better? } → {@code B} (critique first: {@code A digit 2 is 3, should be 2; B correct => B}).</li>
 * </ul>
 * The strings are the format a judge model is trained on and read with ({@code reward.GenerativeJudge}); the critique is
 * {@link Critiques#of}. Not a grader: the verdicts come from {@link Task#correct}.
 */
public final class JudgeData {
    private JudgeData() {}

    /** Pointwise (is this response right?) or pairwise (which of two is better?). */
    public enum Mode { POINTWISE, PAIRWISE }

    public static final String YES = "Yes", NO = "No", A = "A", B = "B";

    /** Between a critique and its verdict. */
    public static final String THEN = " => ";

    /** The pointwise judge prompt. Newlines in the response become spaces (the judge reads one line). */
    public static String pointwisePrompt(String prompt, String response) { return prompt + line(response) + " right? "; }

    /** The pairwise judge prompt. */
    public static String pairwisePrompt(String prompt, String a, String b) { return prompt + " A:" + line(a) + " B:" + line(b) + " better? "; }

    /**
     * The meta-judge prompt (Meta-Rewarding, Wu et al. 2024): a pointwise judge prompt, a judgment written after it, and the
     * question whether that judgment is right, answered Yes/No: {@code 37+85=132 right? No agree? } → {@code Yes}.
     */
    public static String metaPrompt(String judgePrompt, String judgment) { return judgePrompt + line(judgment) + " agree? "; }

    static String line(String s) { return s.strip().replace('\n', ' ').replace('\r', ' '); }

    /**
     * One judged item with its gold verdict and critique.
     *
     * @param example   the task prompt and answer
     * @param a         the response (pointwise) or response A (pairwise)
     * @param b         response B, or null (pointwise)
     * @param verdict   gold: pointwise true = Yes (a is right); pairwise true = A (a is right and b wrong)
     * @param critique  gold critique (pairwise: of both)
     */
    public record Row(Task.Example example, String a, String b, boolean verdict, String critique) {
        public boolean pairwise() { return b != null; }

        public String judgePrompt() { return pairwise() ? pairwisePrompt(example.prompt(), a, b) : pointwisePrompt(example.prompt(), a); }

        /** The verdict string: Yes/No or A/B. */
        public String verdictText() { return pairwise() ? (verdict ? A : B) : (verdict ? YES : NO); }

        /** What the judge is trained to write: the verdict, after the critique when {@code withCritique}. */
        public String completion(boolean withCritique) { return withCritique ? critique + THEN + verdictText() : verdictText(); }

        public SftExample sft(boolean withCritique) { return new SftExample(judgePrompt(), completion(withCritique)); }

        /**
         * A judgment with the wrong verdict (pointwise): {@code No} for a right response, its critique that of the response
         * with one digit changed ({@link #corrupt}; {@code wrong} if that stays right); {@code Yes} for a wrong one, its
         * critique {@code correct}.
         */
        public String wrongCompletion(boolean withCritique, Task task, Random rng) {
            if (pairwise()) throw new IllegalStateException("the meta-judge reads pointwise judgments");
            if (!withCritique) return verdict ? NO : YES;
            if (!verdict) return Critiques.CORRECT + THEN + YES;
            String c = Critiques.of(task, example, corrupt(a, rng));
            return (c.equals(Critiques.CORRECT) ? "wrong" : c) + THEN + NO;
        }

        /** The meta-judge's two rows of this judged item: the gold judgment → Yes, a wrong one ({@link #wrongCompletion}) → No. */
        public List<SftExample> metaSft(boolean withCritique, Task task, Random rng) {
            return List.of(new SftExample(metaPrompt(judgePrompt(), completion(withCritique)), YES),
                    new SftExample(metaPrompt(judgePrompt(), wrongCompletion(withCritique, task, rng)), NO));
        }

        /** TRL's prompt-completion row, with the verdict as a boolean label, the critique and the judged responses. */
        public ObjectNode toJson(boolean withCritique) {
            ObjectNode o = Json.object();
            o.put("prompt", judgePrompt());
            o.put("completion", completion(withCritique));
            o.put("label", verdict);
            o.put("critique", critique);
            o.put("task_prompt", example.prompt());
            if (pairwise()) { o.put("response_a", a); o.put("response_b", b); } else o.put("response", a);
            return o;
        }
    }

    /** A pointwise row: the gold verdict is the task's {@link Task#correct}. */
    public static Row pointwise(Task task, Task.Example ex, String response) {
        return new Row(ex, response, null, task.correct(ex, response), Critiques.of(task, ex, response));
    }

    /** A pairwise row of one right and one wrong response, the right one at A when {@code rightFirst}. */
    public static Row pairwise(Task task, Task.Example ex, String right, String wrong, boolean rightFirst) {
        String a = rightFirst ? right : wrong, b = rightFirst ? wrong : right;
        return new Row(ex, a, b, rightFirst, "A " + Critiques.of(task, ex, a) + "; B " + Critiques.of(task, ex, b));
    }

    /**
     * A hard negative made from a correct response: one digit replaced by another digit (the first digit position drawn
     * at random), so length, format and, for lists, mostly the order survive and only the content is wrong; a response
     * without digits gets two adjacent different characters swapped. Its verdict still comes from the gold reward (a
     * change that happens to stay right is labelled right).
     */
    public static String corrupt(String response, Random rng) {
        List<Integer> digits = new ArrayList<>();
        for (int i = 0; i < response.length(); i++) if (Character.isDigit(response.charAt(i))) digits.add(i);
        char[] c = response.toCharArray();
        if (!digits.isEmpty()) {
            int at = digits.get(rng.nextInt(digits.size()));
            char d;
            do d = (char) ('0' + rng.nextInt(10)); while (d == c[at]);
            c[at] = d;
            return new String(c);
        }
        for (int tries = 0; tries < 4 * c.length; tries++) {
            int i = rng.nextInt(Math.max(1, c.length - 1));
            if (i + 1 < c.length && c[i] != c[i + 1]) {
                char t = c[i];
                c[i] = c[i + 1];
                c[i + 1] = t;
                return new String(c);
            }
        }
        return response + response;                                            // nothing to swap: a doubled response
    }

    /**
     * Judge rows from responses grouped by prompt ({@code responses.get(i)} answers {@code examples.get(i)}): pointwise,
     * every response once (duplicates of a prompt kept once); pairwise, up to {@code pairsPerPrompt} (right, wrong)
     * pairs of each prompt with a seeded A/B order (prompts whose responses are all right or all wrong give none).
     */
    public static List<Row> rows(Task task, List<Task.Example> examples, List<List<String>> responses, Mode mode, int pairsPerPrompt, long seed) {
        Random rng = new Random(seed);
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            Task.Example e = examples.get(i);
            List<String> distinct = new ArrayList<>(new java.util.LinkedHashSet<>(responses.get(i)));
            if (mode == Mode.POINTWISE) { for (String r : distinct) out.add(pointwise(task, e, r)); continue; }
            List<String> right = new ArrayList<>(), wrong = new ArrayList<>();
            for (String r : distinct) (task.correct(e, r) ? right : wrong).add(r);
            for (int k = 0; k < pairsPerPrompt && !right.isEmpty() && !wrong.isEmpty(); k++)
                out.add(pairwise(task, e, right.get(rng.nextInt(right.size())), wrong.get(rng.nextInt(wrong.size())), rng.nextBoolean()));
        }
        return out;
    }

    /** The same responses as comparisons (right ≻ wrong), for a Bradley–Terry reward model trained beside the judge. */
    public static List<PreferencePair> comparisons(Task task, List<Task.Example> examples, List<List<String>> responses, int pairsPerPrompt, long seed) {
        List<PreferencePair> out = new ArrayList<>();
        for (Row r : rows(task, examples, responses, Mode.PAIRWISE, pairsPerPrompt, seed))
            out.add(new PreferencePair(r.example().prompt(), r.verdict() ? r.a() : r.b(), r.verdict() ? r.b() : r.a()));
        return out;
    }

    /**
     * {@code export --format judge | judge-pairs}: the task's demonstrations (a share {@code errorRate} flawed, slips
     * included at the same rate) judged against the gold reward, four per prompt.
     */
    public static List<ObjectNode> export(Task task, Mode mode, boolean withCritique, Task.Split split, int n, double errorRate, long seed) {
        if (errorRate <= 0 || errorRate >= 1) throw new UserError("--error-rate must be in (0, 1) for judge data (both verdicts must occur): " + errorRate);
        Random rng = new Random(seed);
        List<Task.Example> ex = task.examples(split, n, seed);
        List<List<String>> responses = new ArrayList<>();
        for (Task.Example e : ex) {
            List<String> rs = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                String slip = task.slip(e);
                rs.add(slip != null && rng.nextDouble() < errorRate / 2 ? slip : task.demonstrate(e, errorRate, rng));
            }
            responses.add(rs);
        }
        List<ObjectNode> out = new ArrayList<>();
        for (Row r : rows(task, ex, responses, mode, 1, seed + 1)) {
            if (out.size() >= n) break;
            out.add(r.toJson(withCritique));
        }
        return out;
    }

    /** Which verdict a judge's written output ends on: true (Yes / A), false (No / B), or null when it names neither. */
    public static Boolean parseVerdict(String output, Mode mode) {
        String s = output.strip();
        int at = s.lastIndexOf(THEN.strip());
        if (at >= 0) s = s.substring(at + THEN.strip().length()).strip();
        String yes = mode == Mode.PAIRWISE ? A : YES, no = mode == Mode.PAIRWISE ? B : NO;
        if (s.startsWith(yes)) return true;
        if (s.startsWith(no)) return false;
        return null;
    }
}
