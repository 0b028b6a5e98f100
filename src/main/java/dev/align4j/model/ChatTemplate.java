package dev.align4j.model;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.align4j.core.UserError;

import java.util.*;

/**
 * A tokenizer_config.json {@code chat_template} rendered with a Jinja engine (Jinjava), the way transformers'
 * {@code apply_chat_template} does: variables {@code messages}, {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token}; functions {@code raise_exception(msg)} (the first raised wins) and {@code strftime_now(fmt)}; the
 * {@code tojson} filter with Python's separators; trim_blocks and lstrip_blocks. Where Jinjava differs from Jinja2 the
 * template source is adapted before rendering ({@link #adapt}): whitespace control on expressions, Python string
 * methods, {@code [::-1]}, transformers' {@code {% generation %}} blocks. {@code ChatTemplateCorpusTest} renders real
 * templates of popular model families against Jinja2's output.
 */
public final class ChatTemplate {
    /** One chat message. */
    public record Message(String role, String content) {}

    private final String template, adapted, bos, eos;
    private final Jinjava jinja;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.adapted = template == null ? null : adapt(template);
        this.bos = bosToken == null ? "" : bosToken;
        this.eos = eosToken == null ? "" : eosToken;
        if (template == null || template.isBlank()) throw new UserError("chat template is empty");
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        jinja.getGlobalContext().registerFilter(new ToJson());
    }

    /** The clock {@code strftime_now} reads; tests pin it. */
    public static volatile java.time.Clock clock = java.time.Clock.systemDefaultZone();

    /** {@code strftime_now(fmt)}: Python's strftime on the current time (the common directives; others are kept as written). */
    public static String strftimeNow(String format) {
        java.time.LocalDateTime t = java.time.LocalDateTime.now(clock);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) { b.append(c); continue; }
            char d = format.charAt(++i);
            boolean noPad = d == '-' && i + 1 < format.length();
            if (noPad) d = format.charAt(++i);
            String v = switch (d) {
                case 'd' -> pad(t.getDayOfMonth(), noPad);
                case 'm' -> pad(t.getMonthValue(), noPad);
                case 'Y' -> String.valueOf(t.getYear());
                case 'y' -> pad(t.getYear() % 100, noPad);
                case 'H' -> pad(t.getHour(), noPad);
                case 'M' -> pad(t.getMinute(), noPad);
                case 'S' -> pad(t.getSecond(), noPad);
                case 'B' -> t.getMonth().getDisplayName(java.time.format.TextStyle.FULL, Locale.ENGLISH);
                case 'b' -> t.getMonth().getDisplayName(java.time.format.TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(java.time.format.TextStyle.FULL, Locale.ENGLISH);
                case 'a' -> t.getDayOfWeek().getDisplayName(java.time.format.TextStyle.SHORT, Locale.ENGLISH);
                case 'j' -> String.format("%03d", t.getDayOfYear());
                case '%' -> "%";
                default -> "%" + (noPad ? "-" : "") + d;
            };
            b.append(v);
        }
        return b.toString();
    }

    private static String pad(int v, boolean noPad) { return noPad ? String.valueOf(v) : String.format("%02d", v); }

    /** {@code tojson} as transformers defines it: Python's json.dumps with ensure_ascii=False, separators ", " and ": ", optional indent. */
    static final class ToJson implements com.hubspot.jinjava.lib.filter.Filter {
        public String getName() { return "tojson"; }

        public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
            Integer indent = null;
            for (String a : args) if (a != null && a.matches("\\d+")) indent = Integer.parseInt(a);
            return pythonJson(com.fasterxml.jackson.databind.json.JsonMapper.builder().build().valueToTree(var), indent, 0);
        }

        static String pythonJson(com.fasterxml.jackson.databind.JsonNode n, Integer indent, int depth) {
            String nl = indent == null ? "" : "\n" + " ".repeat(indent * (depth + 1)), end = indent == null ? "" : "\n" + " ".repeat(indent * depth);
            String sep = indent == null ? ", " : ",";
            if (n.isObject()) {
                if (n.isEmpty()) return "{}";
                List<String> parts = new ArrayList<>();
                n.fields().forEachRemaining(e -> parts.add(nl + quote(e.getKey()) + ": " + pythonJson(e.getValue(), indent, depth + 1)));
                return "{" + String.join(sep, parts) + end + "}";
            }
            if (n.isArray()) {
                if (n.isEmpty()) return "[]";
                List<String> parts = new ArrayList<>();
                for (com.fasterxml.jackson.databind.JsonNode x : n) parts.add(nl + pythonJson(x, indent, depth + 1));
                return "[" + String.join(sep, parts) + end + "]";
            }
            if (n.isTextual()) return quote(n.asText());
            if (n.isNull() || n.isMissingNode()) return "null";
            return n.toString();
        }

        static String quote(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray())
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    default -> { if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c); }
                }
            return b.append('"').toString();
        }
    }

    /**
     * Jinja2 constructs Jinjava does not read, rewritten to ones it does: {@code {{-} / {@code -}}} strip the template text
     * beside them; Python's {@code .startswith/.endswith/.lstrip()/.rstrip()/.upper()/.lower()/.split(x)} become their Java
     * equivalents; {@code [::-1]} becomes {@code |reverse}; transformers' {@code {% generation %}} markers are dropped (they
     * render their body).
     */
    static String adapt(String t) {
        t = t.replaceAll("\\s+\\{\\{-", "{{").replaceAll("\\{\\{-", "{{").replaceAll("-}}\\s+", "}}").replaceAll("-}}", "}}");
        t = t.replaceAll("\\{%-?\\s*(end)?generation\\s*-?%}", "");
        t = t.replace(".startswith(", ".startsWith(").replace(".endswith(", ".endsWith(").replace(".lstrip()", ".stripLeading()")
                .replace(".rstrip()", ".stripTrailing()").replace(".upper()", ".toUpperCase()").replace(".lower()", ".toLowerCase()");
        t = t.replaceAll("\\.split\\(([^()]*)\\)", "|split($1)").replace("[::-1]", "|reverse");
        return t;
    }

    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** The template's {@code raise_exception(msg)}: Jinjava wraps the exception, so the message is kept aside. */
    public static String raiseException(String message) {
        if (RAISED.get() == null) RAISED.set(message);                // the first one raised, as Python stops there
        throw new IllegalStateException(message);
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> ms = new ArrayList<>();
        for (Message m : messages) ms.add(new LinkedHashMap<>(Map.of("role", m.role(), "content", m.content())));
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", ms);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bos);
        ctx.put("eos_token", eos);
        RAISED.remove();
        RenderResult r = jinja.renderForResult(adapted, ctx);
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) throw new UserError("chat template: " + raised);
        for (TemplateError e : r.getErrors())
            if (e.getSeverity() == TemplateError.ErrorType.FATAL)
                throw new UserError("chat template: " + e.getMessage() + (e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : ""));
        return r.getOutput();
    }

    /**
     * Splits a conversation into (prompt, completion) text: the prompt is everything before the last
     * assistant message rendered with the generation prompt; the completion is the rest of the full rendering.
     */
    public String[] promptAndCompletion(List<Message> prompt, List<Message> completion) {
        String p = render(prompt, true);
        List<Message> all = new ArrayList<>(prompt);
        all.addAll(completion);
        String full = render(all, false);
        if (!full.startsWith(p))
            throw new UserError("chat template: the rendered conversation does not start with the rendered prompt, so the completion cannot be split off");
        return new String[]{p, full.substring(p.length())};
    }
}
