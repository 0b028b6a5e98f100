package dev.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Real chat templates of popular model families (src/test/resources/chat-templates, sources in SOURCES.tsv) rendered by
 * align4j and compared with what Jinja2 renders under transformers' settings (expected.json, made by render_expected.py):
 * every template, every conversation, byte for byte; where Jinja2 refuses a conversation, align4j must refuse it too.
 */
class ChatTemplateCorpusTest {
    static final Path DIR = Path.of("src/test/resources/chat-templates");

    @BeforeEach
    void pinClock() { ChatTemplate.clock = Clock.fixed(LocalDateTime.of(2026, 11, 29, 12, 0).toInstant(ZoneOffset.UTC), ZoneOffset.UTC); }

    @AfterEach
    void freeClock() { ChatTemplate.clock = Clock.systemDefaultZone(); }

    @Test
    void everyTemplateRendersAsTransformersDoes() throws Exception {
        JsonNode expected = Json.read(DIR.resolve("expected.json")), cases = Json.read(DIR.resolve("conversations.json"));
        Map<String, String[]> tokens = new HashMap<>();
        for (String line : Files.readAllLines(DIR.resolve("SOURCES.tsv"))) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] p = (line + "\t\t\t\t").split("\t", -1);
            tokens.put(p[0], new String[]{p[3], p[4]});
        }
        // Known differences, each with its reason (known-differences.tsv); every other render must match byte for byte.
        Map<String, String> known = new HashMap<>();
        for (String line : Files.readAllLines(DIR.resolve("known-differences.tsv"))) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] p = line.split("\t", 3);
            known.put(p[0] + " / " + p[1], p[2]);
        }
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Iterator<String> it = expected.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            String[] bosEos = tokens.getOrDefault(name, new String[]{"", ""});
            ChatTemplate t = new ChatTemplate(Files.readString(DIR.resolve(name)), bosEos[0], bosEos[1]);
            for (Iterator<String> c = expected.get(name).fieldNames(); c.hasNext(); ) {
                String caseName = c.next();
                JsonNode want = expected.get(name).get(caseName), conv = cases.get(caseName);
                boolean isKnown = known.containsKey(name + " / " + caseName);
                List<ChatTemplate.Message> ms = new ArrayList<>();
                for (JsonNode m : conv.get("messages")) {
                    Map<String, Object> extra = new LinkedHashMap<>();
                    m.fields().forEachRemaining(f -> { if (!Set.of("role", "content").contains(f.getKey())) extra.put(f.getKey(), Json.MAPPER.convertValue(f.getValue(), Object.class)); });
                    ms.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText(), extra));
                }
                @SuppressWarnings("unchecked")
                List<Object> tools = conv.has("tools") ? Json.MAPPER.convertValue(conv.get("tools"), List.class) : null;
                checked++;
                String got;
                boolean same;
                String diff;
                try {
                    got = t.render(ms, conv.get("add_generation_prompt").asBoolean(), tools);
                    same = !want.isObject() && want.asText().equals(got);
                    diff = want.isObject() ? ": Jinja2 refused (" + want.get("error").asText() + "), align4j rendered it"
                            : ":\n  want " + Json.MAPPER.writeValueAsString(want.asText()) + "\n  got  " + Json.MAPPER.writeValueAsString(got);
                } catch (UserError e) {
                    same = want.isObject();
                    diff = ": align4j refused (" + e.getMessage() + "), Jinja2 rendered it";
                }
                if (isKnown && same) failures.add(name + " / " + caseName + ": listed in known-differences.tsv but now renders as Jinja2 does; remove the line");
                else if (isKnown) known.remove(name + " / " + caseName);
                else if (!same) failures.add(name + " / " + caseName + diff);
            }
        }
        assertTrue(checked >= 40, "the corpus is there: " + checked + " renders");
        known.keySet().forEach(k -> failures.add(k + ": listed in known-differences.tsv but not in the corpus"));
        assertTrue(failures.isEmpty(), failures.size() + " of " + checked + " renders differ from Jinja2:\n" + String.join("\n", failures));
    }

    @Test
    void generationBlocksMarkEachAssistantTurn() throws Exception {
        // the corpus' templates with {% generation %} (SmolLM3, Phi-4-reasoning): the spans join to the plain render, and
        // each assistant message's text lies in a generated span, no user text does
        List<ChatTemplate.Message> ms = List.of(new ChatTemplate.Message("user", "What is 2+2?"), new ChatTemplate.Message("assistant", "It is 4."),
                new ChatTemplate.Message("user", "And 3+3?"), new ChatTemplate.Message("assistant", "It is 6."));
        int n = 0;
        try (var files = Files.list(DIR)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".jinja")).sorted().toList()) {
                ChatTemplate t = new ChatTemplate(Files.readString(p), "<s>", "</s>");
                if (!t.hasGenerationBlocks()) continue;
                n++;
                List<ChatTemplate.Span> spans = t.renderSpans(ms);
                assertEquals(t.render(ms, false), String.join("", spans.stream().map(ChatTemplate.Span::text).toList()), p.getFileName().toString());
                String generated = String.join("|", spans.stream().filter(ChatTemplate.Span::generated).map(ChatTemplate.Span::text).toList());
                String other = String.join("|", spans.stream().filter(s -> !s.generated()).map(ChatTemplate.Span::text).toList());
                assertTrue(generated.contains("It is 4.") && generated.contains("It is 6."), p.getFileName() + ": " + generated);
                assertFalse(generated.contains("2+2") || generated.contains("3+3"), p.getFileName() + ": " + generated);
                assertTrue(other.contains("What is 2+2?") && other.contains("And 3+3?"), p.getFileName() + ": " + other);
            }
        }
        assertEquals(2, n, "smollm3 and phi-4-reasoning have generation blocks");
    }

    @Test
    void everyTemplateSplitsAConversationIntoPromptAndCompletion() throws Exception {
        // a user turn, then the assistant's answer: the prompt (rendered with the generation prompt) must be a prefix of the
        // whole conversation, so that the completion can be trained on alone
        List<String> failures = new ArrayList<>(), refused = new ArrayList<>();
        int n = 0;
        try (var files = Files.list(DIR)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".jinja")).sorted().toList()) {
                ChatTemplate t = new ChatTemplate(Files.readString(p), "<s>", "</s>");
                try {
                    String[] pc = t.promptAndCompletion(List.of(new ChatTemplate.Message("user", "What is 2+2?")), List.of(new ChatTemplate.Message("assistant", "4")));
                    if (!pc[1].contains("4")) failures.add(p.getFileName() + ": the completion lost the answer: " + pc[1]);
                    n++;
                } catch (UserError e) {
                    // the two tool-use templates need tools: without them Jinja2 refuses too, with one line
                    if (e.getMessage().contains("'NoneType' object is not iterable")) refused.add(p.getFileName().toString());
                    else failures.add(p.getFileName() + ": " + e.getMessage());
                }
            }
        }
        assertEquals(List.of("command-r-plus-tool-use.jinja", "hermes-2-pro-llama-3-tool-use.jinja"), refused);
        assertTrue(n >= 40, n + " templates split");
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
}
