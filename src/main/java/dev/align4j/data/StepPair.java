package dev.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A step-level preference: at the same partial solution ({@code prompt} = the question + the steps written so far), the
 * next step {@code chosen} ≻ {@code rejected}, as a tree search ranks sibling steps (MCTS-DPO, Step-APO).
 *
 * <p>Unlike a whole-completion pair, a step usually does not end the answer: {@code chosenFinal} / {@code rejectedFinal}
 * say whether that step ended the completion (the policy wrote end-of-sequence after it). Trained as it was written, a
 * non-final step is its text and separator <i>without</i> EOS — appending one would teach the policy to stop after every
 * step — and a final step keeps EOS. TRL's DPOTrainer appends EOS to every completion, so a TRL user of these rows must
 * drop it where {@code *_final} is false; {@code ./align4j dpo} reads the columns.
 *
 * <p>{@code chosenQ}, {@code rejectedQ}: the search's value estimates of the two steps (mean outcome reward below them);
 * {@code prefixValue}: V(s) of the shared partial solution; advantages A = Q − V(s) (Step-APO's margin uses their gap).
 * NaN where the row carries none.
 */
public record StepPair(String prompt, String chosen, String rejected, boolean chosenFinal, boolean rejectedFinal,
                       double chosenQ, double rejectedQ, double prefixValue) {

    public double chosenAdvantage() { return chosenQ - prefixValue; }

    public double rejectedAdvantage() { return rejectedQ - prefixValue; }

    public PreferencePair pair() { return new PreferencePair(prompt, chosen, rejected); }

    /** TRL's explicit-prompt preference row plus the step columns. */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("prompt", prompt);
        o.put("chosen", chosen);
        o.put("rejected", rejected);
        o.put("chosen_final", chosenFinal);
        o.put("rejected_final", rejectedFinal);
        o.put("chosen_q", chosenQ);
        o.put("rejected_q", rejectedQ);
        o.put("prefix_value", prefixValue);
        o.put("chosen_advantage", chosenAdvantage());
        o.put("rejected_advantage", rejectedAdvantage());
        return o;
    }

    /**
     * Reads step rows: {@code prompt}, {@code chosen}, {@code rejected} (strings), optional {@code chosen_final} /
     * {@code rejected_final} (default true: EOS appended, as for whole completions) and {@code chosen_advantage} /
     * {@code rejected_advantage} (numbers; read as Q with V(s) = 0; NaN when absent).
     */
    public static Jsonl.Read<StepPair> read(Path file, boolean skipInvalid) {
        return Jsonl.read(file, skipInvalid, n -> {
            String prompt = Jsonl.string(n, "prompt"), chosen = Jsonl.string(n, "chosen"), rejected = Jsonl.string(n, "rejected");
            boolean cf = !n.has("chosen_final") || Jsonl.bool(n, "chosen_final"), rf = !n.has("rejected_final") || Jsonl.bool(n, "rejected_final");
            return new StepPair(prompt, chosen, rejected, cf, rf, number(n, "chosen_advantage"), number(n, "rejected_advantage"), 0);
        });
    }

    /** Whether the file's first row carries the step columns ({@code chosen_final}), as {@code ./align4j mcts} writes them. */
    public static boolean isStepFile(Path file) {
        if (!file.getFileName().toString().endsWith(".jsonl") || !Files.isRegularFile(file)) return false;
        try (var lines = Files.lines(file)) {
            String first = lines.filter(l -> !l.isBlank()).findFirst().orElse("{}");
            return Json.MAPPER.readTree(first).has("chosen_final");
        } catch (Exception e) {
            return false;   // unreadable: the regular reader reports it with file:line
        }
    }

    private static double number(JsonNode n, String column) {
        JsonNode v = n.get(column);
        if (v == null || v.isNull()) return Double.NaN;
        if (!v.isNumber()) throw new Jsonl.BadLine("column '" + column + "' expected a number, got " + Jsonl.kind(v));
        return v.asDouble();
    }
}
