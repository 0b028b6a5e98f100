package dev.align4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Dataset files, as the Hugging Face tools write them: JSON Lines ({@code .jsonl}, also gzipped {@code .jsonl.gz}),
 * a JSON array of objects ({@code .json}), Parquet ({@code .parquet}, read through DuckDB's embedded engine) or a
 * {@code datasets} {@code save_to_disk} folder ({@link SavedDataset}, Arrow IPC read by Apache Arrow). Every
 * problem is reported as {@code file:line: column 'x' ... expected ...} (for arrays and Parquet: {@code file: row N});
 * with {@code skipInvalid} bad rows are counted and skipped instead of stopping the run.
 */
public final class Jsonl {
    private Jsonl() {}

    /** The accepted file formats, for error messages. */
    public static final String FORMATS = "JSON Lines (.jsonl, .jsonl.gz), a JSON array (.json), Parquet (.parquet) or a datasets save_to_disk folder";

    /** A bad line, with the reason. */
    public static final class BadLine extends RuntimeException {
        public BadLine(String message) { super(message); }
    }

    /** Result of reading: the parsed rows and how many lines were skipped. */
    public record Read<T>(List<T> rows, int skipped, List<String> problems) {}

    /** One JSON value a line: trailing text after the object ({@code {"a":1} junk}) is an error, not ignored. */
    private static final com.fasterxml.jackson.databind.ObjectReader LINE =
            Json.MAPPER.reader().with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** One raw row: where it is ("file:7", "file: row 7") and its text, or the JSON already parsed. */
    record Raw(String where, String text, JsonNode node) {}

    /** Reads every row with {@code parse}, which throws {@link BadLine} for a bad row. */
    public static <T> Read<T> read(Path file, boolean skipInvalid, Function<JsonNode, T> parse) {
        List<T> rows = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Raw raw : raw(file)) {
            String problem;
            try {
                JsonNode n = raw.node() != null ? raw.node() : LINE.readTree(raw.text());
                if (n == null || !n.isObject()) throw new BadLine("expected a JSON object (one row); files may be " + FORMATS);
                rows.add(parse.apply(n));
                continue;
            } catch (JsonProcessingException e) {
                problem = raw.where() + ": invalid JSON: " + e.getOriginalMessage() + " (files may be " + FORMATS + ")";
            } catch (BadLine | UserError e) {          // a UserError here: e.g. a conversation the chat template rejects
                problem = raw.where() + ": " + e.getMessage();
            }
            if (!skipInvalid) throw new UserError(problem + " (use --skip-invalid to skip such lines)");
            problems.add(problem);
        }
        if (rows.isEmpty()) throw new UserError(file + ": no usable rows" + (problems.isEmpty() ? "" : " (" + problems.size() + " invalid lines skipped)"));
        return new Read<>(rows, problems.size(), problems);
    }

    /** The rows of a file, by its format. */
    static List<Raw> raw(Path file) {
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (Files.isDirectory(file)) return SavedDataset.rows(file);
        if (!Files.exists(file)) throw new UserError(file + ": file not found");
        if (name.endsWith(".parquet")) return parquet(file);
        List<Raw> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(open(file, name), StandardCharsets.UTF_8.newDecoder()))) {
            String text = r.lines().collect(java.util.stream.Collectors.joining("\n"));
            if (name.endsWith(".json") && text.stripLeading().startsWith("[")) {
                JsonNode array;
                try {
                    array = Json.MAPPER.readTree(text);
                } catch (JsonProcessingException e) {
                    throw new UserError(file + ": invalid JSON array: " + e.getOriginalMessage());
                }
                for (int i = 0; i < array.size(); i++) out.add(new Raw(file + ": row " + (i + 1), null, array.get(i)));
                return out;
            }
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) if (!lines[i].isBlank()) out.add(new Raw(file + ":" + (i + 1), lines[i], null));
            return out;
        } catch (java.io.UncheckedIOException e) {
            throw new UserError(file + (e.getCause() instanceof java.nio.charset.CharacterCodingException ? ": not UTF-8 text" : ": cannot read: " + e.getMessage()));
        } catch (IOException e) {
            throw new UserError(file + ": cannot read: " + e.getMessage());
        }
    }

    private static java.io.InputStream open(Path file, String name) throws IOException {
        java.io.InputStream in = Files.newInputStream(file);
        if (!name.endsWith(".gz")) return in;
        try {
            return new java.util.zip.GZIPInputStream(in);
        } catch (java.util.zip.ZipException e) {
            in.close();
            throw new UserError(file + ": not a gzip file (" + e.getMessage() + ")");
        }
    }

    /** Parquet rows as JSON objects (nested lists and structs, e.g. {@code messages}, become arrays and objects), through DuckDB. */
    private static List<Raw> parquet(Path file) {
        List<Raw> out = new ArrayList<>();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:"); java.sql.Statement s = c.createStatement()) {
            s.execute("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false");
            String path = file.toAbsolutePath().toString().replace("'", "''");
            try (java.sql.ResultSet r = s.executeQuery("SELECT to_json(t)::VARCHAR FROM read_parquet('" + path + "') AS t")) {
                for (int i = 1; r.next(); i++) out.add(new Raw(file + ": row " + i, r.getString(1), null));
            }
        } catch (java.sql.SQLException e) {
            throw new UserError(file + ": cannot read as Parquet: " + String.valueOf(e.getMessage()).split("\n")[0]);
        }
        return out;
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
            boolean toolCall = m.has("tool_calls") && (m.path("content").isNull() || m.path("content").isMissingNode());
            if (!m.isObject() || !m.path("role").isTextual() || !(toolCall || m.path("content").isTextual() || m.path("content").isArray()))
                throw new BadLine("column '" + column + "' message " + i + " expected {\"role\": string, \"content\": string or [{\"type\": \"text\", \"text\": string}, …]}");
            java.util.Map<String, Object> extra = new java.util.LinkedHashMap<>();
            m.fields().forEachRemaining(f -> {
                if (!f.getKey().equals("role") && !f.getKey().equals("content")) extra.put(f.getKey(), Json.MAPPER.convertValue(f.getValue(), Object.class));
            });
            JsonNode c = m.get("content");
            out.add(new dev.align4j.model.ChatTemplate.Message(m.get("role").asText(), c == null || c.isNull() ? "" : content(c, column, i), extra));
        }
        return out;
    }

    /** A message's content: a string, or a list of parts of which the text parts are joined (other parts are refused). */
    static String content(JsonNode c, String column, int i) {
        if (c.isTextual()) return c.asText();
        StringBuilder b = new StringBuilder();
        for (JsonNode part : c) {
            if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual())
                throw new BadLine("column '" + column + "' message " + i + ": only text content parts {\"type\": \"text\", \"text\": …} are supported, got " + part);
            b.append(part.get("text").asText());
        }
        return b.toString();
    }

    /** The chat template, or a line error saying conversational rows need one. */
    public static dev.align4j.model.ChatTemplate need(dev.align4j.model.ChatTemplate t) {
        if (t == null) throw new BadLine("conversational row, but the model's tokenizer_config.json has no chat_template");
        return t;
    }

    /**
     * As {@link #need(dev.align4j.model.ChatTemplate)}, with the row's {@code tools} column (a list of JSON schemas, or that
     * list as a JSON string, as TRL's tool-calling datasets hold it) passed to the template, as TRL passes it.
     */
    public static dev.align4j.model.ChatTemplate need(dev.align4j.model.ChatTemplate t, JsonNode row) {
        need(t);
        JsonNode tools = row.get("tools");
        if (tools == null || tools.isNull()) return t;
        if (tools.isTextual()) {
            try {
                tools = Json.MAPPER.readTree(tools.asText());
            } catch (JsonProcessingException e) {
                throw new BadLine("column 'tools' expected a list of JSON schemas (or that list as a JSON string), got a string that is not JSON");
            }
        }
        if (!tools.isArray()) throw new BadLine("column 'tools' expected a list of JSON schemas, got " + kind(tools));
        @SuppressWarnings("unchecked")
        List<Object> list = Json.MAPPER.convertValue(tools, List.class);
        return t.withTools(list);
    }

    /** A boolean column: true/false, or 1/0 as many datasets store labels. */
    public static boolean bool(JsonNode n, String column) {
        JsonNode v = n.get(column);
        if (v == null || v.isNull()) throw new BadLine("missing column '" + column + "': expected true or false (or 1 or 0)");
        if (v.isNumber() && (v.asDouble() == 0 || v.asDouble() == 1)) return v.asDouble() == 1;
        if (!v.isBoolean()) throw new BadLine("column '" + column + "' expected true or false (or 1 or 0), got " + kind(v));
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
