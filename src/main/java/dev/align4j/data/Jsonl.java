package dev.align4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * JSONL datasets: one JSON object a line. Every problem is reported as {@code file:line: column 'x' ...
 * expected ...}; with {@code skipInvalid} bad lines are counted and skipped instead of stopping the run.
 */
public final class Jsonl {
    private Jsonl() {}

    /** A bad line, with the reason. */
    public static final class BadLine extends RuntimeException {
        public BadLine(String message) { super(message); }
    }

    /** Result of reading: the parsed rows and how many lines were skipped. */
    public record Read<T>(List<T> rows, int skipped, List<String> problems) {}

    /** One JSON value a line: trailing text after the object ({@code {"a":1} junk}) is an error, not ignored. */
    private static final com.fasterxml.jackson.databind.ObjectReader LINE =
            Json.MAPPER.reader().with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Reads every non-blank line with {@code parse}, which throws {@link BadLine} for a bad row. */
    public static <T> Read<T> read(Path file, boolean skipInvalid, Function<JsonNode, T> parse) {
        List<T> rows = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int no = 0;
            while ((line = r.readLine()) != null) {
                no++;
                if (line.isBlank()) continue;
                String problem;
                try {
                    JsonNode n = LINE.readTree(line);
                    if (n == null || !n.isObject()) throw new BadLine("expected a JSON object");
                    rows.add(parse.apply(n));
                    continue;
                } catch (JsonProcessingException e) {
                    problem = file + ":" + no + ": invalid JSON: " + e.getOriginalMessage();
                } catch (BadLine | UserError e) {          // a UserError here: e.g. a conversation the chat template rejects
                    problem = file + ":" + no + ": " + e.getMessage();
                }
                if (!skipInvalid) throw new UserError(problem + " (use --skip-invalid to skip such lines)");
                problems.add(problem);
            }
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": file not found");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new UserError(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new UserError(file + ": cannot read: " + e.getMessage());
        }
        if (rows.isEmpty()) throw new UserError(file + ": no usable rows" + (problems.isEmpty() ? "" : " (" + problems.size() + " invalid lines skipped)"));
        return new Read<>(rows, problems.size(), problems);
    }

    /** A required string column. */
    public static String string(JsonNode n, String column) {
        JsonNode v = n.get(column);
        if (v == null || v.isNull()) throw new BadLine("missing column '" + column + "': expected a string");
        if (!v.isTextual()) throw new BadLine("column '" + column + "' expected a string, got " + kind(v));
        return v.asText();
    }

    /** A column holding a list of {@code {"role", "content"}} messages. */
    public static java.util.List<dev.align4j.model.ChatTemplate.Message> messages(JsonNode n, String column) {
        JsonNode v = n.get(column);
        if (v == null || !v.isArray() || v.isEmpty()) throw new BadLine("column '" + column + "' expected a non-empty array of {\"role\", \"content\"} messages");
        java.util.List<dev.align4j.model.ChatTemplate.Message> out = new java.util.ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode m = v.get(i);
            if (!m.isObject() || !m.path("role").isTextual() || !m.path("content").isTextual())
                throw new BadLine("column '" + column + "' message " + i + " expected {\"role\": string, \"content\": string}");
            out.add(new dev.align4j.model.ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
        }
        return out;
    }

    /** The chat template, or a line error saying conversational rows need one. */
    public static dev.align4j.model.ChatTemplate need(dev.align4j.model.ChatTemplate t) {
        if (t == null) throw new BadLine("conversational row, but the model's tokenizer_config.json has no chat_template");
        return t;
    }

    public static boolean bool(JsonNode n, String column) {
        JsonNode v = n.get(column);
        if (v == null || v.isNull()) throw new BadLine("missing column '" + column + "': expected true or false");
        if (!v.isBoolean()) throw new BadLine("column '" + column + "' expected true or false, got " + kind(v));
        return v.asBoolean();
    }

    static String kind(JsonNode v) {
        return v.isNumber() ? "a number" : v.isArray() ? "an array" : v.isObject() ? "an object" : v.isBoolean() ? "a boolean" : v.isTextual() ? "a string" : "null";
    }

    /** Writes rows atomically. */
    public static void write(Path file, List<? extends JsonNode> rows) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode r : rows) sb.append(Json.compact(r)).append('\n');
        AtomicFiles.writeString(file, sb.toString());
    }
}
