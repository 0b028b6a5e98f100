package dev.align4j.data;

import java.nio.file.Path;

/**
 * Unpaired feedback (TRL's unpaired preference type): a completion with a thumbs-up ({@code label} true or 1) or
 * thumbs-down; standard rows {@code {"prompt", "completion", "label"}} or conversational ones with message lists.
 */
public record UnpairedExample(String prompt, String completion, boolean label) {
    public static Jsonl.Read<UnpairedExample> read(Path file, boolean skipInvalid) { return read(file, skipInvalid, null); }

    public static Jsonl.Read<UnpairedExample> read(Path file, boolean skipInvalid, dev.align4j.model.ChatTemplate template) {
        return Jsonl.read(file, skipInvalid, n -> {
            if (n.path("prompt").isArray()) {
                String[] pc = Jsonl.need(template, n).promptAndCompletion(Jsonl.messages(n, "prompt"), Jsonl.messages(n, "completion"));
                return new UnpairedExample(pc[0], pc[1], Jsonl.bool(n, "label"));
            }
            return new UnpairedExample(Jsonl.string(n, "prompt"), Jsonl.string(n, "completion"), Jsonl.bool(n, "label"));
        });
    }
}
