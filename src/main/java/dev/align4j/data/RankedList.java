package dev.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.*;

/**
 * K completions of one prompt with graded scores (higher = better), stored best first. Read from
 * {@code prompt, completions, scores} or {@code prompt, completions, ranks} (rank 1 = best; converted to
 * scores K − rank). Ties keep their input order.
 */
public record RankedList(String prompt, List<String> completions, double[] scores) {

    public static Jsonl.Read<RankedList> read(Path file, boolean skipInvalid) {
        return Jsonl.read(file, skipInvalid, RankedList::parse);
    }

    static RankedList parse(JsonNode n) {
        String prompt = Jsonl.string(n, "prompt");
        JsonNode cs = n.get("completions");
        if (cs == null || !cs.isArray() || cs.size() < 2) throw new Jsonl.BadLine("column 'completions' expected an array of at least 2 strings");
        List<String> comps = new ArrayList<>();
        for (JsonNode c : cs) {
            if (!c.isTextual()) throw new Jsonl.BadLine("column 'completions' expected strings, got " + Jsonl.kind(c));
            comps.add(c.asText());
        }
        double[] scores = new double[comps.size()];
        JsonNode s = n.has("scores") ? n.get("scores") : n.get("ranks");
        if (s == null) throw new Jsonl.BadLine("missing column 'scores' (or 'ranks'): expected an array of numbers, one per completion");
        String col = n.has("scores") ? "scores" : "ranks";
        if (!s.isArray() || s.size() != comps.size()) throw new Jsonl.BadLine("column '" + col + "' expected " + comps.size() + " numbers (one per completion)");
        for (int i = 0; i < scores.length; i++) {
            if (!s.get(i).isNumber()) throw new Jsonl.BadLine("column '" + col + "' expected numbers, got " + Jsonl.kind(s.get(i)));
            scores[i] = col.equals("scores") ? s.get(i).asDouble() : comps.size() - s.get(i).asDouble();
        }
        return ordered(prompt, comps, scores);
    }

    /** Sorts completions by score, best first (stable for ties). */
    public static RankedList ordered(String prompt, List<String> comps, double[] scores) {
        Integer[] idx = new Integer[comps.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Double.compare(scores[b], scores[a]));
        List<String> c = new ArrayList<>();
        double[] s = new double[idx.length];
        for (int i = 0; i < idx.length; i++) { c.add(comps.get(idx[i])); s[i] = scores[idx[i]]; }
        return new RankedList(prompt, c, s);
    }
}
