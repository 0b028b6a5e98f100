package dev.align4j.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.model.ChatTemplate;

import java.nio.file.Path;
import java.util.List;

/**
 * A user's prompts for online training and evaluation, in TRL's prompt-only format: standard rows
 * {@code {"prompt": "What is 2+2?"}} or conversational rows {@code {"prompt": [{"role": "user", "content": "…"}]}}, rendered
 * with the model's chat template and a generation prompt, as {@code apply_chat_template(…, add_generation_prompt=True)}.
 * Every other column is kept and handed to the reward functions; the reference answer the {@code answer} reward compares
 * with is the first of {@code answerColumns} present (default {@code answer}, {@code solution}, {@code ground_truth}).
 */
public final class PromptFile {
    private PromptFile() {}

    /** The columns searched for a reference answer, in order. */
    public static final List<String> ANSWER_COLUMNS = List.of("answer", "solution", "ground_truth", "reference");

    public static Jsonl.Read<Task.Example> read(Path file, boolean skipInvalid, ChatTemplate template, List<String> answerColumns) {
        return Jsonl.read(file, skipInvalid, n -> {
            if (!n.has("prompt"))
                throw new Jsonl.BadLine("expected a prompt-only row: {\"prompt\": \"…\"} or {\"prompt\": [{\"role\": \"user\", \"content\": \"…\"}]}, plus any reward columns");
            String prompt = n.get("prompt").isArray() ? Jsonl.need(template, n).render(Jsonl.messages(n, "prompt"), true) : Jsonl.string(n, "prompt");
            String answer = "";
            for (String c : answerColumns) {
                JsonNode v = n.get(c);
                if (v != null && !v.isNull()) { answer = v.isTextual() ? v.asText() : v.toString(); break; }
            }
            ObjectNode fields = ((ObjectNode) n).deepCopy();
            fields.remove("prompt");
            return new Task.Example(prompt, answer, fields);
        });
    }

    /** The rows, or a user error when the file holds none. */
    public static List<Task.Example> require(Path file, Jsonl.Read<Task.Example> read) {
        if (read.rows().isEmpty()) throw new UserError(file + ": no prompt rows");
        return read.rows();
    }
}
