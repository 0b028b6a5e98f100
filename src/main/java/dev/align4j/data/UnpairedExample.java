package dev.align4j.data;

import java.nio.file.Path;

/** Unpaired feedback: a completion with a thumbs-up ({@code label = true}) or thumbs-down. */
public record UnpairedExample(String prompt, String completion, boolean label) {
    public static Jsonl.Read<UnpairedExample> read(Path file, boolean skipInvalid) {
        return Jsonl.read(file, skipInvalid, n -> new UnpairedExample(Jsonl.string(n, "prompt"), Jsonl.string(n, "completion"), Jsonl.bool(n, "label")));
    }
}
