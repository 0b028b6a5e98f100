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
        return Jsonl.read(file, skipInvalid, PreferencePair::parse);
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

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("prompt", prompt);
        o.put("chosen", chosen);
        o.put("rejected", rejected);
        return o;
    }
}
