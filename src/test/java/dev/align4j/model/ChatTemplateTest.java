package dev.align4j.model;

import dev.align4j.core.UserError;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.SftExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Chat templates as transformers renders them, and conversational datasets split into prompt and completion. */
class ChatTemplateTest {
    @TempDir Path dir;

    /** Qwen2's ChatML template (as in its tokenizer_config.json, without tools). */
    static final String CHATML = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            + "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
            + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** Llama 3's template. */
    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    static final List<ChatTemplate.Message> CONV = List.of(new ChatTemplate.Message("user", "2+2?"), new ChatTemplate.Message("assistant", "4"));

    @Test
    void chatmlRendersAsTransformersDoes() {
        ChatTemplate t = new ChatTemplate(CHATML, "", "<|im_end|>");
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
                t.render(CONV.subList(0, 1), true));
        String[] pc = t.promptAndCompletion(CONV.subList(0, 1), CONV.subList(1, 2));
        assertEquals("4<|im_end|>\n", pc[1]);
    }

    @Test
    void llama3RendersWithBosAndTrim() {
        ChatTemplate t = new ChatTemplate(LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>",
                t.render(List.of(new ChatTemplate.Message("user", " 2+2? "), new ChatTemplate.Message("assistant", "4")), false));
    }

    @Test
    void raiseExceptionBecomesAUserError() {
        ChatTemplate t = new ChatTemplate("{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}ok", "", "");
        assertEquals("ok", t.render(CONV, false));
        UserError e = assertThrows(UserError.class, () -> t.render(List.of(new ChatTemplate.Message("assistant", "x")), false));
        assertTrue(e.getMessage().contains("Conversation must start with user"), e.getMessage());
    }

    @Test
    void conversationalDatasetsSplitIntoPromptAndCompletion() throws Exception {
        ChatTemplate t = new ChatTemplate(CHATML, "", "<|im_end|>");
        Path sft = dir.resolve("sft.jsonl");
        Files.writeString(sft, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n"
                + "{\"prompt\":\"plain\",\"completion\":\"text\"}\n");
        List<SftExample> rows = SftExample.read(sft, false, t).rows();
        assertTrue(rows.get(0).prompt().endsWith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"), rows.get(0).prompt());
        assertEquals("hello<|im_end|>\n", rows.get(0).completion());
        assertEquals(new SftExample("plain", "text"), rows.get(1));

        Path pref = dir.resolve("pref.jsonl");
        Files.writeString(pref, "{\"chosen\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"good\"}],"
                + "\"rejected\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"bad\"}]}\n");
        PreferencePair p = PreferencePair.read(pref, false, t).rows().get(0);
        assertTrue(p.prompt().endsWith("<|im_start|>assistant\n"));
        assertEquals("good<|im_end|>\n", p.chosen());
        assertEquals("bad<|im_end|>\n", p.rejected());

        UserError e = assertThrows(UserError.class, () -> SftExample.read(sft, false, null));
        assertTrue(e.getMessage().contains("sft.jsonl:1") && e.getMessage().contains("chat_template"), e.getMessage());
    }

    @Test
    void templatedTextGetsNoSecondBos() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        ChatTemplate t = tok.chatTemplate();
        String prompt = t.render(List.of(new ChatTemplate.Message("user", "1+1=")), true);
        assertEquals("<s>1+1=", prompt);
        int[] ids = tok.encode(prompt, true);
        assertEquals(Tokenizer.BUILTIN_BOS, ids[0]);
        assertNotEquals(Tokenizer.BUILTIN_BOS, ids[1], "one BOS only");
        assertArrayEquals(tok.encode("1+1=", true), ids);
    }

    @Test
    void templatesAreFoundAsTransformersFindsThemAndNeverSilentlyEmpty() throws Exception {
        Path d = dir.resolve("tok");
        Tokenizer.writeBuiltin(d).close();
        var tc = (com.fasterxml.jackson.databind.node.ObjectNode) dev.align4j.core.Json.read(d.resolve("tokenizer_config.json"));
        // a list of named templates: the one named "default" is used
        tc.set("chat_template", dev.align4j.core.Json.MAPPER.readTree("[{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D{{ messages[0]['content'] }}\"}]"));
        dev.align4j.core.Json.write(d.resolve("tokenizer_config.json"), tc);
        try (Tokenizer t = Tokenizer.load(d, null)) {
            assertEquals("Dhi", t.chatTemplate().render(List.of(new ChatTemplate.Message("user", "hi")), false));
        }
        // chat_template.jinja beside it wins, as in newer transformers
        Files.writeString(d.resolve("chat_template.jinja"), "J{{ messages[0]['content'] }}");
        try (Tokenizer t = Tokenizer.load(d, null)) {
            assertEquals("Jhi", t.chatTemplate().render(List.of(new ChatTemplate.Message("user", "hi")), false));
        }
        Files.delete(d.resolve("chat_template.jinja"));
        // an empty template is an error that names the file, not a silent empty rendering
        tc.put("chat_template", "");
        dev.align4j.core.Json.write(d.resolve("tokenizer_config.json"), tc);
        UserError e = assertThrows(UserError.class, () -> Tokenizer.load(d, null));
        assertTrue(e.getMessage().contains("tokenizer_config.json: chat_template must be a non-empty string"), e.getMessage());
    }

    @Test
    void jinja2ConstructsJinjavaLacksAreAdapted() {
        ChatTemplate.clock = java.time.Clock.fixed(java.time.Instant.parse("2026-11-29T12:00:00Z"), java.time.ZoneOffset.UTC);
        try {
            ChatTemplate t = new ChatTemplate("A\n   {{- messages[0]['content'].strip() -}}\n  B|{{ messages[0]['content'].startswith('  h') }}|"
                    + "{{ messages[0]['content'].lstrip() }}|{{ 'a b'.split(' ') | length }}|{{ 'abc'[::-1] }}|{{ strftime_now('%d %b %Y') }}|"
                    + "{{ {'k': [1, 2]} | tojson }}|{% generation %}G{% endgeneration %}", "", "");
            // Jinja2: "A" + "hi" + "B" with the whitespace beside {{- -}} removed; Python's string methods; slicing; the pinned date
            assertEquals("AhiB|true|hi |2|cba|29 Nov 2026|{\"k\": [1, 2]}|G", t.render(List.of(new ChatTemplate.Message("user", "  hi ")), false));
            // with several raise_exception calls, the first stops the rendering
            ChatTemplate two = new ChatTemplate("{{ raise_exception('first') }}{{ raise_exception('second') }}", "", "");
            UserError e = assertThrows(UserError.class, () -> two.render(List.of(), false));
            assertEquals("chat template: first", e.getMessage());
        } finally {
            ChatTemplate.clock = java.time.Clock.systemDefaultZone();
        }
    }
}
