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

    @Test
    void pythonSemanticsJinjavaLacks() {
        java.util.function.BiFunction<String, List<ChatTemplate.Message>, String> render = (src, ms) -> new ChatTemplate(src, "", "").render(ms, false);
        List<ChatTemplate.Message> user = List.of(new ChatTemplate.Message("user", "{{ 7*7 }} and {% if true %}x{% endif %}"));
        // text is never rendered a second time: a message holding Jinja syntax prints as written
        assertEquals("{{ 7*7 }} and {% if true %}x{% endif %}", render.apply("{{ messages[0].content }}", user));
        // a string literal holding "}}" and "%}" ends no tag
        assertEquals("a }} b %} c", render.apply("{{ 'a }} b %} c' }}", user));
        // words inside string literals are not rewritten: a "not … ==" or a "for … if" there prints as written
        assertEquals("not a == b|for x in y if z|yes", render.apply("{{ 'not a == b' }}|{{ \"for x in y if z\" }}|{% if not 'it\\'s not' == 'x' %}yes{% endif %}", user));
        // Jinja2: `not` binds looser than `==` (Llama 3.1's `if not message.tool_calls|length == 1`); `is not` and `not in` unchanged
        java.util.Map<String, Object> calls = java.util.Map.of("tool_calls", List.of(1, 2));
        List<ChatTemplate.Message> two = List.of(new ChatTemplate.Message("assistant", "", calls));
        assertEquals("many|no|yes|in", render.apply("{% set m = messages[0] %}{% if not m.tool_calls|length == 1 %}many{% endif %}|"
                + "{% if not m.tool_calls|length == 2 %}one{% else %}no{% endif %}|{% if m.content is not none %}yes{% endif %}|"
                + "{% if 'x' not in 'abc' and not 'a' == 'b' %}in{% endif %}", two));
        // a string is iterable (Llama 3.1 writes a tool result that is iterable through tojson)
        assertEquals("\"42\"", render.apply("{% if messages[0].content is iterable %}{{ messages[0].content|tojson }}{% endif %}",
                List.of(new ChatTemplate.Message("tool", "42"))));
        // dicts and lists print as Python's str() (SmolLM3 prints tool definitions this way); |items gives (key, value) pairs
        java.util.Map<String, Object> fn = new java.util.LinkedHashMap<>();
        fn.put("name", "add");
        fn.put("it's", List.of("a", true, 1.5));
        fn.put("none", null);
        List<ChatTemplate.Message> withDict = List.of(new ChatTemplate.Message("assistant", "", java.util.Map.of("fn", fn)));
        assertEquals("{'name': 'add', \"it's\": ['a', True, 1.5], 'none': None}", render.apply("{{ messages[0].fn }}", withDict));
        assertEquals("name=add;it's=['a', True, 1.5];", render.apply("{% for k, v in messages[0].fn|items if k != 'none' %}{{ k }}={{ v }};{% endfor %}", withDict));
        // loop.previtem / loop.nextitem (Hermes' tool turns), undefined at the ends
        assertEquals("[-,user,tool][user,tool,-]", render.apply("{% for m in messages %}[{{ loop.previtem.role if loop.previtem else '-' }},"
                + "{{ m.role }},{{ loop.nextitem.role if loop.nextitem else '-' }}]{% endfor %}",
                List.of(new ChatTemplate.Message("user", "a"), new ChatTemplate.Message("tool", "b"))));
        // the loop filter runs before the loop: loop.last is the last kept item (Mistral's tool list relies on it)
        assertEquals("name.", render.apply("{% for k, v in messages[0].fn|items if v is string %}{{ k }}{% if loop.last %}.{% endif %}{% endfor %}", withDict));
    }
}
