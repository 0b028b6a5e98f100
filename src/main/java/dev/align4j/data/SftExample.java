package dev.align4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;

import java.nio.file.Path;
import java.util.List;

/**
 * A supervised example: the loss covers the completion only; or, for a multi-turn conversation, {@code turns}: the
 * rendered text in segments, each trained or not (every assistant turn is trained, TRL's {@code assistant_only_loss}).
 * Then {@code prompt} is the text before the first trained segment and {@code completion} the rest.
 */
public record SftExample(String prompt, String completion, List<Segment> turns) {
    /** A piece of rendered conversation and whether the loss covers it. */
    public record Segment(String text, boolean trained) {}

    public SftExample(String prompt, String completion) { this(prompt, completion, null); }

    /** From segments: prompt = the text before the first trained one, completion = the rest. */
    public static SftExample ofTurns(List<Segment> turns) {
        StringBuilder p = new StringBuilder(), c = new StringBuilder();
        boolean started = false;
        for (Segment s : turns) { started |= s.trained(); (started ? c : p).append(s.text()); }
        return new SftExample(p.toString(), c.toString(), List.copyOf(turns));
    }

    /** Reads {@code {"prompt": ..., "completion": ...}} rows (no chat template). */
    public static Jsonl.Read<SftExample> read(Path file, boolean skipInvalid) {
        return read(file, skipInvalid, null);
    }

    public static Jsonl.Read<SftExample> read(Path file, boolean skipInvalid, dev.align4j.model.ChatTemplate template) {
        return read(file, skipInvalid, template, Loss.ASSISTANT);
    }

    /** Which tokens of a {@code messages} conversation the loss covers. */
    public enum Loss {
        /** every assistant turn (TRL's {@code assistant_only_loss=True}) */
        ASSISTANT,
        /** the whole rendered conversation (TRL's default for conversational language modeling) */
        ALL
    }

    /**
     * The segments of a rendered conversation: untrained text, then each assistant turn (the text inside the template's
     * {@code {% generation %}} blocks where it has them; otherwise the text that rendering the turn adds after the
     * generation prompt), and so on. Null when the template does not render prefixes stably (a later turn changes
     * how an earlier one renders, e.g. Qwen3 drops earlier reasoning): then only the last turn can be split off.
     */
    static List<Segment> segments(dev.align4j.model.ChatTemplate t, List<dev.align4j.model.ChatTemplate.Message> ms) {
        if (t.hasGenerationBlocks()) {
            // the template marks the assistant's text itself ({% generation %}): train exactly that, as transformers'
            // return_assistant_tokens_mask and TRL's assistant_only_loss do
            List<Segment> marked = t.renderSpans(ms).stream().map(s -> new Segment(s.text(), s.generated())).toList();
            if (marked.stream().anyMatch(Segment::trained)) return marked;
        }
        String full = t.render(ms, false);
        List<Segment> out = new java.util.ArrayList<>();
        int pos = 0;
        for (int i = 0; i < ms.size(); i++) {
            if (!ms.get(i).role().equals("assistant")) continue;
            String before, through;
            try {
                before = t.render(ms.subList(0, i), true);
                through = t.render(ms.subList(0, i + 1), false);
            } catch (dev.align4j.core.UserError e) {
                return null;                                              // the template refuses a prefix of the conversation
            }
            if (!full.startsWith(through)) return null;
            int start = 0;
            while (start < Math.min(before.length(), through.length()) && before.charAt(start) == through.charAt(start)) start++;
            if (start < pos || start >= through.length()) return null;
            if (start > pos) out.add(new Segment(full.substring(pos, start), false));
            out.add(new Segment(full.substring(start, through.length()), true));
            pos = through.length();
        }
        if (pos < full.length()) out.add(new Segment(full.substring(pos), false));
        return out.stream().anyMatch(Segment::trained) ? out : null;
    }

    /**
     * Reads standard rows {@code {"prompt": str, "completion": str}}, language-modeling rows {@code {"text": str}} (the
     * whole text is trained), and conversational rows rendered with {@code template}: {@code {"messages": [...]}} (the
     * last assistant message is the completion) or {@code {"prompt": [...], "completion": [...]}}.
     */
    public static Jsonl.Read<SftExample> read(Path file, boolean skipInvalid, dev.align4j.model.ChatTemplate template, Loss loss) {
        boolean[] warned = {false};
        return Jsonl.read(file, skipInvalid, n -> {
            if (n.has("text") && !n.has("prompt") && !n.has("messages")) return new SftExample("", Jsonl.string(n, "text"));
            if (n.has("messages")) {
                var ms = Jsonl.messages(n, "messages");
                int last = ms.size() - 1;
                if (!ms.get(last).role().equals("assistant")) throw new Jsonl.BadLine("column 'messages' expected the last message to have role 'assistant'");
                if (loss == Loss.ALL) return new SftExample("", Jsonl.need(template, n).render(ms, false));
                List<Segment> turns = segments(Jsonl.need(template, n), ms);
                if (turns != null) return ofTurns(turns);
                if (!warned[0] && ms.stream().filter(m -> m.role().equals("assistant")).count() > 1) {
                    warned[0] = true;
                    System.err.println(file + ": the chat template renders earlier turns differently once later ones follow; training on the last assistant turn of each conversation");
                }
                String[] pc = Jsonl.need(template, n).promptAndCompletion(ms.subList(0, last), ms.subList(last, last + 1));
                return new SftExample(pc[0], pc[1]);
            }
            if (n.path("prompt").isArray()) {
                String[] pc = Jsonl.need(template, n).promptAndCompletion(Jsonl.messages(n, "prompt"), Jsonl.messages(n, "completion"));
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
