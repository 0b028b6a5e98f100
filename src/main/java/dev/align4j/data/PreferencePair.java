package dev.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;

import java.nio.file.Path;

/**
 * A pairwise preference: {@code chosen} ≻ {@code rejected} for {@code prompt}. Read from TRL's columns:
 * explicit prompt ({@code prompt}, {@code chosen}, {@code rejected}) or implicit prompt ({@code chosen} and
 * {@code rejected} only, sharing a prefix that becomes the prompt).
 */
public record PreferencePair(String prompt, String chosen, String rejected) {

    public static Jsonl.Read<PreferencePair> read(Path file, boolean skipInvalid) {
        return read(file, skipInvalid, null);
    }

    /**
     * Also reads conversational rows rendered with {@code template}: {@code prompt}, {@code chosen},
     * {@code rejected} as message lists, or {@code chosen} / {@code rejected} whole conversations whose
     * shared leading messages are the prompt.
     */
    public static Jsonl.Read<PreferencePair> read(Path file, boolean skipInvalid, dev.align4j.model.ChatTemplate template) {
        return Jsonl.read(file, skipInvalid, n -> n.path("chosen").isArray() ? conversational(n, template) : parse(n));
    }

    static PreferencePair conversational(JsonNode n, dev.align4j.model.ChatTemplate template) {
        var t = Jsonl.need(template, n);
        var chosen = Jsonl.messages(n, "chosen");
        var rejected = Jsonl.messages(n, "rejected");
        java.util.List<dev.align4j.model.ChatTemplate.Message> prompt;
        if (n.has("prompt")) prompt = Jsonl.messages(n, "prompt");
        else {
            int k = 0;
            while (k < chosen.size() - 1 && k < rejected.size() - 1 && chosen.get(k).equals(rejected.get(k))) k++;
            if (k == 0) throw new Jsonl.BadLine("no column 'prompt' and 'chosen'/'rejected' share no leading messages to use as the prompt");
            prompt = chosen.subList(0, k);
            chosen = chosen.subList(k, chosen.size());
            rejected = rejected.subList(k, rejected.size());
        }
        String[] c = t.promptAndCompletion(prompt, chosen), r = t.promptAndCompletion(prompt, rejected);
        return new PreferencePair(c[0], c[1], r[1]);
    }

    static PreferencePair parse(JsonNode n) {
        String chosen = Jsonl.string(n, "chosen"), rejected = Jsonl.string(n, "rejected");
        if (n.has("prompt")) return new PreferencePair(Jsonl.string(n, "prompt"), chosen, rejected);
        int k = 0;
        while (k < chosen.length() && k < rejected.length() && chosen.charAt(k) == rejected.charAt(k)) k++;
        int cut = Math.max(chosen.lastIndexOf(' ', k - 1), chosen.lastIndexOf('\n', k - 1)) + 1; // split at a word boundary
        if (cut <= 0) cut = k;
        if (cut == 0) throw new Jsonl.BadLine("no column 'prompt' and 'chosen'/'rejected' share no prefix to use as the prompt");
        return new PreferencePair(chosen.substring(0, cut), chosen.substring(cut), rejected.substring(cut));
    }

    /** A pair with reward vectors for chosen and rejected (multi-objective data, e.g. for MODPO). */
    public record Scored(PreferencePair pair, double[] chosenScores, double[] rejectedScores) {}

    /** Reads pairs with {@code chosen_scores} and {@code rejected_scores} vectors of equal length. */
    public static Jsonl.Read<Scored> readScored(Path file, boolean skipInvalid) {
        return Jsonl.read(file, skipInvalid, n -> {
            PreferencePair p = parse(n);
            double[] c = vector(n, "chosen_scores"), r = vector(n, "rejected_scores");
            if (c.length != r.length) throw new Jsonl.BadLine("columns 'chosen_scores' and 'rejected_scores' expected equal lengths, got " + c.length + " and " + r.length);
            return new Scored(p, c, r);
        });
    }

    /**
     * Names for the {@code k} objectives of a multi-objective file: its first row's optional
     * {@code objectives} column (as {@code ./align4j export --format multi} writes), else obj0 … obj{k−1}.
     */
    public static java.util.List<String> objectiveNames(Path file, int k) {
        try (var lines = java.nio.file.Files.lines(file)) {
            String first = lines.filter(l -> !l.isBlank()).findFirst().orElse("{}");
            JsonNode names = dev.align4j.core.Json.MAPPER.readTree(first).path("objectives");
            if (names.isArray() && names.size() == k) {
                java.util.List<String> out = new java.util.ArrayList<>();
                for (JsonNode x : names) out.add(x.asText());
                return out;
            }
        } catch (Exception e) {
            // unreadable here means the rows were already rejected with file:line; fall back to numbered names
        }
        java.util.List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < k; i++) out.add("obj" + i);
        return out;
    }

    static double[] vector(JsonNode n, String column) {
        JsonNode v = n.get(column);
        if (v == null || !v.isArray() || v.isEmpty()) throw new Jsonl.BadLine("missing column '" + column + "': expected an array of numbers");
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isNumber()) throw new Jsonl.BadLine("column '" + column + "' expected numbers, got " + Jsonl.kind(v.get(i)));
            out[i] = v.get(i).asDouble();
        }
        return out;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("prompt", prompt);
        o.put("chosen", chosen);
        o.put("rejected", rejected);
        return o;
    }
}
