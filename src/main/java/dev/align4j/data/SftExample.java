package dev.align4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;

import java.nio.file.Path;

/** A supervised example: the loss covers the completion only. */
public record SftExample(String prompt, String completion) {

    /** Reads {@code {"prompt": ..., "completion": ...}} rows (no chat template). */
    public static Jsonl.Read<SftExample> read(Path file, boolean skipInvalid) {
        return read(file, skipInvalid, null);
    }

    /**
     * Reads standard rows {@code {"prompt": str, "completion": str}}, language-modeling rows {@code {"text": str}} (the
     * whole text is trained), and conversational rows rendered with {@code template}: {@code {"messages": [...]}} (the
     * last assistant message is the completion) or {@code {"prompt": [...], "completion": [...]}}.
     */
    public static Jsonl.Read<SftExample> read(Path file, boolean skipInvalid, dev.align4j.model.ChatTemplate template) {
        return Jsonl.read(file, skipInvalid, n -> {
            if (n.has("text") && !n.has("prompt") && !n.has("messages")) return new SftExample("", Jsonl.string(n, "text"));
            if (n.has("messages")) {
                var ms = Jsonl.messages(n, "messages");
                int last = ms.size() - 1;
                if (!ms.get(last).role().equals("assistant")) throw new Jsonl.BadLine("column 'messages' expected the last message to have role 'assistant'");
                String[] pc = Jsonl.need(template).promptAndCompletion(ms.subList(0, last), ms.subList(last, last + 1));
                return new SftExample(pc[0], pc[1]);
            }
            if (n.path("prompt").isArray()) {
                String[] pc = Jsonl.need(template).promptAndCompletion(Jsonl.messages(n, "prompt"), Jsonl.messages(n, "completion"));
                return new SftExample(pc[0], pc[1]);
            }
            return new SftExample(Jsonl.string(n, "prompt"), Jsonl.string(n, "completion"));
        });
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("prompt", prompt);
        o.put("completion", completion);
        return o;
    }
}
