package dev.align4j.data;

import dev.align4j.core.UserError;
import dev.align4j.model.ChatTemplate;
import dev.align4j.task.PromptFile;
import dev.align4j.task.Task;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** TRL's dataset types in every file format align4j reads: JSON Lines (plain and gzipped), JSON arrays, Parquet and save_to_disk folders. */
class DatasetFormatsTest {
    @TempDir Path dir;

    static final ChatTemplate CHATML = new ChatTemplate("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}", "", "<|im_end|>");

    static final String PAIR = "{\"prompt\": \"2+2=\", \"chosen\": \"4\", \"rejected\": \"5\"}";

    Path gz(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(p))) { o.write(text.getBytes(StandardCharsets.UTF_8)); }
        return p;
    }

    /** A Parquet file written by DuckDB from a SQL query (how a user's pandas/datasets export looks to a reader). */
    Path parquet(String name, String select) throws Exception {
        Path p = dir.resolve(name);
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
            s.execute("COPY (" + select + ") TO '" + p + "' (FORMAT parquet)");
        }
        return p;
    }

    @Test
    void everyFileFormatReadsTheSameRows() throws Exception {
        Path jsonl = dir.resolve("p.jsonl");
        Files.writeString(jsonl, PAIR + "\n" + PAIR + "\n");
        Path json = dir.resolve("p.json");
        Files.writeString(json, "[" + PAIR + ", " + PAIR + "]");
        Path gzipped = gz("p.jsonl.gz", PAIR + "\n" + PAIR + "\n");
        Path pq = parquet("p.parquet", "SELECT '2+2=' AS prompt, '4' AS chosen, '5' AS rejected FROM range(2)");
        for (Path p : List.of(jsonl, json, gzipped, pq)) {
            List<PreferencePair> rows = PreferencePair.read(p, false).rows();
            assertEquals(List.of(new PreferencePair("2+2=", "4", "5"), new PreferencePair("2+2=", "4", "5")), rows, p.toString());
        }
    }

    /**
     * A {@code datasets} {@code save_to_disk} folder as datasets 2.x/3.x writes it: {@code state.json} naming the data
     * files, {@code dataset_info.json}, and an Arrow IPC stream with TRL's conversational preference columns
     * {@code prompt}, {@code chosen}, {@code rejected}, each a list&lt;struct&lt;content, role&gt;&gt;.
     */
    Path savedToDisk(Path folder, int rows) throws Exception {
        Files.createDirectories(folder);
        try (org.apache.arrow.memory.BufferAllocator a = new org.apache.arrow.memory.RootAllocator();
             var prompt = messages("prompt", a, rows, i -> new String[]{"user", "2+" + i + "?"});
             var chosen = messages("chosen", a, rows, i -> new String[]{"assistant", String.valueOf(2 + i)});
             var rejected = messages("rejected", a, rows, i -> new String[]{"assistant", "5"});
             var root = new org.apache.arrow.vector.VectorSchemaRoot(List.of(prompt, chosen, rejected));
             OutputStream out = Files.newOutputStream(folder.resolve("data-00000-of-00001.arrow"));
             var writer = new org.apache.arrow.vector.ipc.ArrowStreamWriter(root, null, out)) {
            root.setRowCount(rows);
            writer.start();
            writer.writeBatch();
            writer.end();
        }
        Files.writeString(folder.resolve("state.json"), "{\"_data_files\": [{\"filename\": \"data-00000-of-00001.arrow\"}], \"_fingerprint\": \"3f1c\","
                + " \"_format_columns\": null, \"_format_kwargs\": {}, \"_format_type\": null, \"_output_all_columns\": false, \"_split\": null}");
        Files.writeString(folder.resolve("dataset_info.json"), "{\"citation\": \"\", \"description\": \"\", \"features\": {}}");
        return folder;
    }

    /** A list&lt;struct&lt;content: string, role: string&gt;&gt; column, one message per row, as datasets stores a conversation. */
    static org.apache.arrow.vector.complex.ListVector messages(String name, org.apache.arrow.memory.BufferAllocator a, int rows,
                                                               java.util.function.IntFunction<String[]> message) {
        var v = org.apache.arrow.vector.complex.ListVector.empty(name, a);
        var w = v.getWriter();
        for (int i = 0; i < rows; i++) {
            String[] m = message.apply(i);
            w.setPosition(i);
            w.startList();
            var st = w.struct();
            st.start();
            st.varChar("content").writeVarChar(m[1]);
            st.varChar("role").writeVarChar(m[0]);
            st.end();
            w.endList();
        }
        v.setValueCount(rows);
        return v;
    }

    @Test
    void aDatasetsSaveToDiskFolderIsRead() throws Exception {
        // Dataset.save_to_disk: rows, nested message lists included, in order
        Path saved = savedToDisk(dir.resolve("pairs"), 3);
        List<PreferencePair> rows = PreferencePair.read(saved, false, CHATML).rows();
        assertEquals(3, rows.size());
        assertEquals(new PreferencePair("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", "4<|im_end|>\n", "5<|im_end|>\n"), rows.get(2));
        // DatasetDict.save_to_disk: the train split, as TRL's scripts default to it
        Path dict = dir.resolve("dict");
        savedToDisk(dict.resolve("train"), 2);
        savedToDisk(dict.resolve("test"), 1);
        Files.writeString(dict.resolve("dataset_dict.json"), "{\"splits\": [\"train\", \"test\"]}");
        assertEquals(2, PreferencePair.read(dict, false, CHATML).rows().size());
        assertEquals(1, PreferencePair.read(dict.resolve("test"), false, CHATML).rows().size());
        // a bad row names the Arrow file and the row
        UserError e = assertThrows(UserError.class, () -> SftExample.read(saved, false, CHATML));
        assertTrue(e.getMessage().startsWith(saved.resolve("data-00000-of-00001.arrow") + ": row 1: "), e.getMessage());
        // a broken Arrow file, a missing data file, a dict without train: one line each
        Path broken = dir.resolve("broken");
        savedToDisk(broken, 1);
        Files.writeString(broken.resolve("data-00000-of-00001.arrow"), "not arrow");
        e = assertThrows(UserError.class, () -> PreferencePair.read(broken, false, CHATML));
        assertTrue(e.getMessage().startsWith(broken.resolve("data-00000-of-00001.arrow") + ": cannot read as Arrow"), e.getMessage());
        Files.delete(broken.resolve("data-00000-of-00001.arrow"));
        e = assertThrows(UserError.class, () -> PreferencePair.read(broken, false, CHATML));
        assertTrue(e.getMessage().contains("state.json: lists data-00000-of-00001.arrow, which is not in the folder"), e.getMessage());
        Files.writeString(dict.resolve("dataset_dict.json"), "{\"splits\": [\"validation\"]}");
        e = assertThrows(UserError.class, () -> PreferencePair.read(dict, false, CHATML));
        assertTrue(e.getMessage().contains("no 'train': give one split's folder"), e.getMessage());
    }

    @Test
    void trlDatasetTypes() throws Exception {
        // language modeling: {"text"} trains on the whole text
        Path text = dir.resolve("lm.jsonl");
        Files.writeString(text, "{\"text\": \"the cat sat\"}\n");
        assertEquals(new SftExample("", "the cat sat"), SftExample.read(text, false, null).rows().get(0));
        // conversational prompt-completion with content parts
        Path parts = dir.resolve("parts.jsonl");
        Files.writeString(parts, "{\"prompt\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"2+\"}, {\"type\": \"text\", \"text\": \"2?\"}]}],"
                + " \"completion\": [{\"role\": \"assistant\", \"content\": \"4\"}]}\n");
        SftExample e = SftExample.read(parts, false, CHATML).rows().get(0);
        assertEquals("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", e.prompt());
        assertEquals("4<|im_end|>\n", e.completion());
        // unpaired (KTO): standard with 0/1 labels, and conversational
        Path kto = dir.resolve("kto.jsonl");
        Files.writeString(kto, "{\"prompt\": \"a\", \"completion\": \"b\", \"label\": 1}\n{\"prompt\": \"a\", \"completion\": \"c\", \"label\": 0}\n"
                + "{\"prompt\": [{\"role\": \"user\", \"content\": \"hi\"}], \"completion\": [{\"role\": \"assistant\", \"content\": \"yo\"}], \"label\": true}\n");
        List<UnpairedExample> u = UnpairedExample.read(kto, false, CHATML).rows();
        assertEquals(List.of(true, false, true), u.stream().map(UnpairedExample::label).toList());
        assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", u.get(2).prompt());
        // prompt-only (online RL), conversational, with a reward column, from Parquet with a nested message list
        Path prompts = parquet("prompts.parquet", "SELECT [{'role': 'user', 'content': '2+2?'}] AS prompt, '4' AS solution");
        Task.Example p = PromptFile.read(prompts, false, CHATML, PromptFile.ANSWER_COLUMNS).rows().get(0);
        assertEquals("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", p.prompt());
        assertEquals("4", p.answer());
        assertEquals("4", p.fields().get("solution").asText());
    }

    @Test
    void badFilesSayWhichFormatsAreAccepted() throws Exception {
        Path notGzip = dir.resolve("x.jsonl.gz");
        Files.writeString(notGzip, PAIR);
        UserError e = assertThrows(UserError.class, () -> PreferencePair.read(notGzip, false));
        assertTrue(e.getMessage().contains("x.jsonl.gz: not a gzip file"), e.getMessage());
        Path badParquet = dir.resolve("x.parquet");
        Files.writeString(badParquet, "not parquet");
        e = assertThrows(UserError.class, () -> PreferencePair.read(badParquet, false));
        assertTrue(e.getMessage().startsWith(badParquet + ": cannot read as Parquet"), e.getMessage());
        Files.createDirectories(dir.resolve("saved"));
        e = assertThrows(UserError.class, () -> PreferencePair.read(dir.resolve("saved"), false));
        assertTrue(e.getMessage().contains("save_to_disk") && e.getMessage().contains(".parquet"), e.getMessage());
        Path array = dir.resolve("a.json");
        Files.writeString(array, "[" + PAIR + ", 7]");
        e = assertThrows(UserError.class, () -> PreferencePair.read(array, false));
        assertTrue(e.getMessage().contains("a.json: row 2: expected a JSON object") && e.getMessage().contains(".parquet"), e.getMessage());
        Path lines = dir.resolve("l.jsonl");
        Files.writeString(lines, PAIR + "\n[1, 2]\n");
        e = assertThrows(UserError.class, () -> PreferencePair.read(lines, false));
        assertTrue(e.getMessage().contains("l.jsonl:2: expected a JSON object"), e.getMessage());
    }

    @Test
    void stepwiseSupervisionRowsAreReadAndValidated() throws Exception {
        Path p = dir.resolve("steps.jsonl");
        Files.writeString(p, "{\"prompt\": \"12+30=?\", \"completions\": [\"2+0=2\", \"1+3=4\", \"so 42\"], \"labels\": [true, 1, true]}\n"
                + "{\"prompt\": \"x\", \"completions\": [\"a\", \"b\"], \"labels\": [true]}\n");
        UserError e = assertThrows(UserError.class, () -> StepwiseExample.read(p, false, null));
        assertTrue(e.getMessage().contains("steps.jsonl:2") && e.getMessage().contains("2 steps, 1 labels"), e.getMessage());
        StepwiseExample s = StepwiseExample.read(p, true, null).rows().get(0);
        assertEquals(List.of("2+0=2", "1+3=4", "so 42"), s.steps());
        assertEquals(List.of(true, true, true), s.labels());
    }

    @Test
    void everyAssistantTurnOfAConversationIsTrainedOrTheWholeConversation() throws Exception {
        Path p = dir.resolve("chat.jsonl");
        Files.writeString(p, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"},"
                + " {\"role\": \"user\", \"content\": \"Prime?\"}, {\"role\": \"assistant\", \"content\": \"7\"}]}\n");
        SftExample e = SftExample.read(p, false, CHATML).rows().get(0);
        assertEquals(List.of(new SftExample.Segment("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", false),
                new SftExample.Segment("Hello<|im_end|>\n", true),
                new SftExample.Segment("<|im_start|>user\nPrime?<|im_end|>\n<|im_start|>assistant\n", false),
                new SftExample.Segment("7<|im_end|>\n", true)), e.turns(), "both assistant turns are trained, the user turns are not");
        SftExample all = SftExample.read(p, false, CHATML, SftExample.Loss.ALL).rows().get(0);
        assertEquals("", all.prompt());
        assertTrue(all.completion().startsWith("<|im_start|>user\nHi") && all.completion().endsWith("7<|im_end|>\n"));
        // tokenized with the built-in character tokenizer: the mask is true exactly on the two assistant turns (+ EOS)
        try (dev.align4j.model.Tokenizer tok = dev.align4j.model.Tokenizer.writeBuiltin(dir.resolve("tok"))) {
            var m = new dev.align4j.train.offline.Batching(8, 512, Tokenized.Truncation.KEEP_END).tokenize(tok, e);
            int trained = 0;
            for (boolean b : m.trained()) if (b) trained++;
            int assistantChars = "Hello<|im_end|>\n".length() + "7<|im_end|>\n".length();
            assertEquals(assistantChars + 1, trained, "one token per character of the assistant turns, and the EOS");
            assertFalse(m.trained()[0], "the user's turn is not trained");
            // too long: keep_end keeps the last 12 tokens, all inside the trained final answer "7<|im_end|>\n" (12 characters)
            // + EOS = 13 tokens; keep_start keeps the first 12, the BOS and "<|im_start|>user\nHi"'s start, none trained
            var end = new dev.align4j.train.offline.Batching(8, 12, Tokenized.Truncation.KEEP_END).tokenize(tok, e);
            assertEquals(12, end.ids().length);
            assertEquals(m.ids()[m.ids().length - 1], end.ids()[11]);
            assertArrayEquals(java.util.Arrays.copyOfRange(m.trained(), m.trained().length - 12, m.trained().length), end.trained());
            int endTrained = 0;
            for (boolean b : end.trained()) if (b) endTrained++;
            assertEquals(12, endTrained);
            var start = new dev.align4j.train.offline.Batching(8, 12, Tokenized.Truncation.KEEP_START).tokenize(tok, e);
            assertArrayEquals(java.util.Arrays.copyOf(m.ids(), 12), start.ids());
            for (boolean b : start.trained()) assertFalse(b);
        }
    }

    @Test
    void generationBlocksMarkTheTrainedText() throws Exception {
        // a template with transformers' {% generation %} blocks (SmolLM3's form: the block holds the assistant header too):
        // the trained text is exactly what the blocks hold, as return_assistant_tokens_mask gives it
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}"
                + "{{ '<|im_start|>assistant\\n' + m.content + '<|im_end|>\\n' }}{% endgeneration %}"
                + "{% else %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}", "", "<|im_end|>");
        assertTrue(t.hasGenerationBlocks());
        Path p = dir.resolve("gen.jsonl");
        Files.writeString(p, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"},"
                + " {\"role\": \"user\", \"content\": \"Prime?\"}, {\"role\": \"assistant\", \"content\": \"7\"}]}\n");
        SftExample e = SftExample.read(p, false, t).rows().get(0);
        assertEquals(List.of(new SftExample.Segment("<|im_start|>user\nHi<|im_end|>\n", false),
                new SftExample.Segment("<|im_start|>assistant\nHello<|im_end|>\n", true),
                new SftExample.Segment("<|im_start|>user\nPrime?<|im_end|>\n", false),
                new SftExample.Segment("<|im_start|>assistant\n7<|im_end|>\n", true)), e.turns());
        // without the blocks the same conversation trains what follows each generation prompt
        SftExample plain = SftExample.read(p, false, CHATML).rows().get(0);
        assertEquals("Hello<|im_end|>\n", plain.turns().get(1).text());
    }

    @Test
    void toolCallMessagesReachTheTemplate() throws Exception {
        // an assistant message with tool_calls and no content, then the tool's answer: the template sees every field
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{{ m.role }}:{% if m.tool_calls %}{% for c in m.tool_calls %}{{ c.function.name }}"
                + "({{ c.function.arguments | tojson }}){% endfor %}{% else %}{{ m.content }}{% endif %}{% if m.tool_call_id %}#{{ m.tool_call_id }}{% endif %};{% endfor %}", "", "");
        Path p = dir.resolve("tools.jsonl");
        Files.writeString(p, "{\"messages\": [{\"role\": \"user\", \"content\": \"40+2?\"}, {\"role\": \"assistant\", \"content\": null,"
                + " \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"add\", \"arguments\": {\"a\": 40, \"b\": 2}}}]},"
                + " {\"role\": \"tool\", \"content\": \"42\", \"tool_call_id\": \"c1\"}, {\"role\": \"assistant\", \"content\": \"42\"}]}\n");
        SftExample e = SftExample.read(p, false, t, SftExample.Loss.ALL).rows().get(0);
        assertEquals("user:40+2?;assistant:add({\"a\": 40, \"b\": 2});tool:42#c1;assistant:42;", e.completion());
        // a row's "tools" column (a list of JSON schemas, or that list as a JSON string) reaches the template, as TRL passes it
        ChatTemplate withTools = new ChatTemplate("{% if tools %}[{% for t in tools %}{{ t.function.name }}{% endfor %}]{% endif %}"
                + "{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}", "", "");
        Path tp = dir.resolve("tools-column.jsonl");
        String msgs = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]";
        Files.writeString(tp, "{" + msgs + ", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"add\"}}]}\n"
                + "{" + msgs + ", \"tools\": \"[{\\\"type\\\": \\\"function\\\", \\\"function\\\": {\\\"name\\\": \\\"mul\\\"}}]\"}\n"
                + "{" + msgs + "}\n");
        List<SftExample> rows = SftExample.read(tp, false, withTools, SftExample.Loss.ALL).rows();
        assertEquals(List.of("[add]user:hi;assistant:yo;", "[mul]user:hi;assistant:yo;", "user:hi;assistant:yo;"), rows.stream().map(SftExample::completion).toList());
        Files.writeString(tp, "{" + msgs + ", \"tools\": 7}\n");
        UserError bad = assertThrows(UserError.class, () -> SftExample.read(tp, false, withTools, SftExample.Loss.ALL));
        assertTrue(bad.getMessage().contains("tools-column.jsonl:1: column 'tools' expected a list of JSON schemas, got a number"), bad.getMessage());
    }
}
