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
    /**
     * One chat message. {@code extra} holds its other fields as plain Java values, as the template sees them:
     * {@code tool_calls} (a list of {@code {"type": "function", "function": {"name", "arguments"}}}), {@code name},
     * {@code tool_call_id}, … (empty for a plain message).
     */
    public record Message(String role, String content, Map<String, Object> extra) {
        public Message(String role, String content) { this(role, content, Map.of()); }

        public Message {
            extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
        }
    }

    private final String template, adapted, bos, eos;
    private final Jinjava jinja;
    private final boolean hasGeneration;
    private final List<Object> tools;                                   // passed to every render that names none (a row's "tools")

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.adapted = template == null ? null : adapt(template);
        this.hasGeneration = template != null && template.matches("(?s).*\\{%-?\\s*generation\\s*-?%}.*");
        this.bos = bosToken == null ? "" : bosToken;
        this.eos = eosToken == null ? "" : eosToken;
        this.tools = null;
        if (template == null || template.isBlank()) throw new UserError("chat template is empty");
        // trim_blocks and lstrip_blocks are applied by adapt(); no nested interpretation: text holding "{{ }}" (a message,
        // a string literal) prints as is, as in Jinja2, instead of being rendered again
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withNestedInterpretationEnabled(false).build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        jinja.getGlobalContext().registerFilter(new ToJson());
        jinja.getGlobalContext().registerFilter(new PyStrip("pystrip", true, true));
        jinja.getGlobalContext().registerFilter(new PyStrip("pylstrip", true, false));
        jinja.getGlobalContext().registerFilter(new PyStrip("pyrstrip", false, true));
        jinja.getGlobalContext().registerFilter(new PyStrip("trim", true, true));    // Jinja2's trim: an undefined value gives "", not null
        jinja.getGlobalContext().registerFilter(new PySplit());
        jinja.getGlobalContext().registerFilter(new PyItem());
        jinja.getGlobalContext().registerExpTest(new PyIterable());
        jinja.getGlobalContext().registerFilter(new Items());
        jinja.getGlobalContext().registerFilter(new LoopIf());
        jinja.getGlobalContext().registerFilter(new Iterate());
        jinja.getGlobalContext().registerTag(new Generation());
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

    /** Python's {@code str.split(sep=None, maxsplit=-1)}: empty pieces kept, nothing trimmed (Jinjava's {@code split} differs on both). */
    static final class PySplit implements com.hubspot.jinjava.lib.filter.Filter {
        public String getName() { return "pysplit"; }

        public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
            if (var == null) return null;
            String s = var.toString(), sep = args.length > 0 && args[0] != null && !args[0].equals("None") ? args[0] : null;
            int max = args.length > 1 && args[1] != null ? Integer.parseInt(args[1].trim()) : -1;
            List<String> out = new ArrayList<>();
            if (sep == null) {                                                   // runs of whitespace, no empty pieces
                String rest = s.strip();
                while (!rest.isEmpty()) {
                    if (max >= 0 && out.size() == max) { out.add(rest); return out; }
                    int i = 0;
                    while (i < rest.length() && !Character.isWhitespace(rest.charAt(i))) i++;
                    out.add(rest.substring(0, i));
                    rest = rest.substring(i).stripLeading();
                }
                return out;
            }
            int from = 0;
            for (int at; (max < 0 || out.size() < max) && (at = s.indexOf(sep, from)) >= 0; from = at + sep.length()) out.add(s.substring(from, at));
            out.add(s.substring(from));
            return out;
        }
    }

    /** {@code x[i]} after a filter (Jinjava cannot index a filter's result): Python indexing, negative from the end. */
    static final class PyItem implements com.hubspot.jinjava.lib.filter.Filter {
        public String getName() { return "pyitem"; }

        public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
            if (!(var instanceof List<?> l)) return null;
            int i = Integer.parseInt(args[0].trim());
            if (i < 0) i += l.size();
            if (i < 0 || i >= l.size()) throw new IllegalStateException("list index out of range");
            return l.get(i);
        }
    }

    /** Python's {@code str.strip/lstrip/rstrip(chars)}: with no argument whitespace, else any of {@code chars}. */
    static final class PyStrip implements com.hubspot.jinjava.lib.filter.Filter {
        final String name;
        final boolean left, right;

        PyStrip(String name, boolean left, boolean right) { this.name = name; this.left = left; this.right = right; }

        public String getName() { return name; }

        public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
            if (var == null) return "";
            String s = var.toString(), chars = args.length > 0 && args[0] != null ? args[0] : null;
            int a = 0, b = s.length();
            while (left && a < b && (chars == null ? Character.isWhitespace(s.charAt(a)) : chars.indexOf(s.charAt(a)) >= 0)) a++;
            while (right && b > a && (chars == null ? Character.isWhitespace(s.charAt(b - 1)) : chars.indexOf(s.charAt(b - 1)) >= 0)) b--;
            return s.substring(a, b);
        }
    }

    /** Jinja2's {@code items} filter (3.1): a mapping's (key, value) pairs, for {@code {% for k, v in d|items %}}. */
    static final class Items implements com.hubspot.jinjava.lib.filter.Filter {
        @Override public String getName() { return "items"; }

        @Override
        public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
            return var instanceof Map<?, ?> m ? new ArrayList<>(m.entrySet()) : List.of();
        }
    }

    /**
     * Jinja2's loop filter {@code {% for x in xs if cond %}}, which Jinjava would read as a conditional expression: adapt()
     * rewrites it to {@code {% for x in (xs)|pyloopif('x', 'cond') %}}, so the items are filtered before the loop and
     * {@code loop.index} / {@code loop.last} count only the kept ones, as in Jinja2.
     */
    static final class LoopIf implements com.hubspot.jinjava.lib.filter.Filter {
        @Override public String getName() { return "pyloopif"; }

        @Override
        public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
            String[] names = args[0].split("\\s*,\\s*");
            List<Object> items = new ArrayList<>();
            if (var instanceof Map<?, ?> m) items.addAll(m.keySet());                 // iterating a dict yields its keys
            else if (var instanceof Iterable<?> it) it.forEach(items::add);
            else if (var != null && var.getClass().isArray()) for (int i = 0; i < java.lang.reflect.Array.getLength(var); i++) items.add(java.lang.reflect.Array.get(var, i));
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                try (var scope = interpreter.enterScope()) {
                    if (names.length == 1) interpreter.getContext().put(names[0], item);
                    else {
                        List<Object> parts = item instanceof Map.Entry<?, ?> e ? Arrays.asList(e.getKey(), e.getValue())
                                : item instanceof List<?> l ? new ArrayList<>(l) : List.of(item);
                        for (int i = 0; i < names.length; i++) interpreter.getContext().put(names[i], i < parts.size() ? parts.get(i) : null);
                    }
                    if (com.hubspot.jinjava.util.ObjectTruthValue.evaluate(interpreter.resolveELExpression(args[1], interpreter.getLineNumber()))) kept.add(item);
                }
            }
            return kept;
        }
    }

    private static final java.util.regex.Pattern FOR_IF = java.util.regex.Pattern.compile("(?s)(\\s*for\\s+)(.+?)(\\s+in\\s+)(.+?)\\s+if\\s+(.+?)(\\s+recursive)?\\s*");

    /**
     * {@code {% for x in name %}} over a variable that holds None (transformers passes {@code tools=None}): Jinja2 raises
     * ("'NoneType' object is not iterable"), Jinjava would iterate nothing. adapt() rewrites such loops to
     * {@code name|pyiterate('name')}; an undefined name still iterates nothing, as in Jinja2.
     */
    private static final ThreadLocal<Set<String>> NONE = new ThreadLocal<>();      // names this render passes as None (tools)

    static final class Iterate implements com.hubspot.jinjava.lib.filter.Filter {
        @Override public String getName() { return "pyiterate"; }

        @Override
        public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
            if (var == null && args.length > 0 && NONE.get() != null && NONE.get().contains(args[0]))
                raiseException("'NoneType' object is not iterable (the template loops over " + args[0] + ", which is None)");
            return var;
        }
    }

    private static final java.util.regex.Pattern FOR_NAME = java.util.regex.Pattern.compile("(?s)(\\s*for\\s+.+?\\s+in\\s+)([A-Za-z_]\\w*)(\\s+recursive)?\\s*");

    private static final java.util.regex.Pattern FOR = java.util.regex.Pattern.compile("(?s)\\s*for\\s+(.+?)\\s+in\\s+(.+?)(\\s+recursive)?\\s*");

    /** Jinja2's {@code loop.previtem} / {@code loop.nextitem}, which Jinjava lacks, as items of the loop's iterable. */
    static String loopNeighbours(String body, String iterable) {
        return body.replace("loop.previtem", "((" + iterable + ")[loop.index0 - 1] if not loop.first else none)")
                .replace("loop.nextitem", "((" + iterable + ")[loop.index0 + 1] if not loop.last else none)");
    }

    /** {@code for x in xs if cond} → {@code for x in (xs)|pyloopif('x', 'cond')}; other tag bodies unchanged. */
    static String loopIf(String body) {
        java.util.regex.Matcher m = FOR_IF.matcher(masked(body));           // an "if" inside a string literal is not the filter
        if (!m.matches()) return body;
        java.util.function.IntFunction<String> g = i -> m.start(i) < 0 ? "" : body.substring(m.start(i), m.end(i));
        String cond = g.apply(5).replace("\\", "\\\\").replace("'", "\\'");
        return g.apply(1) + g.apply(2) + g.apply(3) + "(" + g.apply(4) + ")|pyloopif('" + g.apply(2).trim() + "', '" + cond + "')" + g.apply(6) + " ";
    }

    private static final char GEN_START = '\uE000', GEN_END = '\uE001';
    private static final String MARK = "__align4j_mark_generation";

    /**
     * transformers' {@code {% generation %}…{% endgeneration %}}: renders its body; when {@link #renderSpans} asks, between
     * two private-use markers, so that the text the template marks as the assistant's is known exactly
     * ({@code return_assistant_tokens_mask}, TRL's {@code assistant_only_loss}).
     */
    static final class Generation implements com.hubspot.jinjava.lib.tag.Tag {
        @Override public String getName() { return "generation"; }

        @Override public String getEndTagName() { return "endgeneration"; }

        @Override
        public String interpret(com.hubspot.jinjava.tree.TagNode node, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter) {
            boolean mark = Boolean.TRUE.equals(interpreter.getContext().get(MARK));
            StringBuilder b = new StringBuilder();
            if (mark) b.append(GEN_START);
            for (com.hubspot.jinjava.tree.Node child : node.getChildren()) b.append(child.render(interpreter).getValue());
            if (mark) b.append(GEN_END);
            return b.toString();
        }
    }

    /** Python's {@code is iterable}: strings are iterable too (Llama 3.1's template writes a tool result {@code | tojson} then). */
    static final class PyIterable implements com.hubspot.jinjava.lib.exptest.ExpTest {
        @Override public String getName() { return "iterable"; }

        @Override
        public boolean evaluate(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, Object... args) {
            return var instanceof CharSequence || var instanceof Iterable<?> || var instanceof Map<?, ?> || (var != null && var.getClass().isArray());
        }
    }

    /**
     * The template as Jinja2 under transformers' settings would lex it, in a form Jinjava renders the same: whitespace
     * control ({@code {{- -}} {%- -%} {#- -#}}) and trim_blocks / lstrip_blocks applied to the source text (Jinjava's own
     * differ mid-line); Python's string methods {@code startswith, endswith, strip, lstrip, rstrip, upper, lower, title,
     * split} and {@code [::-1]} rewritten to Java methods or filters; {@code namespace(k=v, …)} values parenthesised
     * (Jinjava binds {@code =} tighter than {@code |}). transformers' {@code {% generation %}} blocks are a tag ({@link Generation}).
     */
    static String adapt(String t) {
        // whitespace control: "-" strips all whitespace on that side of the tag
        t = t.replaceAll("\\s*\\{([{%#])-", "{$1").replaceAll("-([}%#])}\\s*", "$1}");
        // lstrip_blocks: spaces and tabs from a line's start up to a block or comment tag; trim_blocks: the newline after one
        t = t.replaceAll("(?m)^[ \\t]+(?=\\{[%#](?!\\+))", "").replaceAll("([%#]})\\r?\\n", "$1");
        t = t.replace(".startswith(", ".startsWith(").replace(".endswith(", ".endsWith(").replace(".upper()", ".toUpperCase()")
                .replace(".lower()", ".toLowerCase()").replace(".title()", "|title");
        t = t.replaceAll("\\.(l|r|)strip\\(([^()]*)\\)", "|py$1strip($2)");
        t = t.replaceAll("\\.split\\(([^()]*)\\)\\[(-?\\d+)]", "|pysplit($1)|pyitem($2)").replaceAll("\\.split\\(([^()]*)\\)", "|pysplit($1)")
                .replace("[::-1]", "|reverse");
        Deque<String> loops = new ArrayDeque<>();                         // the iterables of the enclosing for loops
        return eachTag(parenthesiseNamespace(t), body -> {
            String b = loopIf(parenthesiseNotIn(body));
            java.util.regex.Matcher named = FOR_NAME.matcher(b);
            if (named.matches()) b = named.group(1) + named.group(2) + "|pyiterate('" + named.group(2) + "')" + (named.group(3) == null ? "" : named.group(3)) + " ";
            if (!loops.isEmpty() && b.contains("loop.")) b = loopNeighbours(b, loops.peek());
            java.util.regex.Matcher f = FOR.matcher(b);
            if (f.matches()) loops.push(f.group(2));
            else if (b.trim().equals("endfor") && !loops.isEmpty()) loops.pop();
            return b;
        });
    }

    private static final java.util.regex.Pattern NOT = java.util.regex.Pattern.compile("(?<![\\w.])not\\s+(?!in\\b)");
    private static final java.util.regex.Pattern STOP = java.util.regex.Pattern.compile("\\s(and|or|if|else)\\b");
    private static final java.util.regex.Pattern COMPARE = java.util.regex.Pattern.compile("==|!=|<=|>=|<|>|\\sin\\s");

    /**
     * {@code not a|length == 1} → {@code not (a|length == 1)}: Jinja2's {@code not} binds looser than comparisons, Jinjava's
     * (a unary operator) tighter, so it would compare a boolean with a number. Only operands holding a comparison change;
     * {@code is not} and {@code not in} are left alone.
     */
    private static String parenthesiseNotIn(String body) {
        String plain = masked(body);                                      // the same length, string literals blanked
        StringBuilder b = new StringBuilder();
        int from = 0;
        java.util.regex.Matcher m = NOT.matcher(plain);
        while (m.find(from)) {
            if (plain.substring(0, m.start()).matches("(?s).*\\bis\\s+$")) { b.append(body, from, m.end()); from = m.end(); continue; }
            int end = operandEnd(plain, m.end());
            String operand = body.substring(m.end(), end);
            b.append(body, from, m.end());
            boolean wrap = COMPARE.matcher(plain.substring(m.end(), end)).find();
            b.append(wrap ? "(" + operand.stripTrailing() + ")" + operand.substring(operand.stripTrailing().length()) : operand);
            from = end;
        }
        return b.append(body.substring(from)).toString();
    }

    /**
     * Applies {@code fix} to the inside of every {@code {{ }}} and {@code {% %}} tag, where a tag ends at the first
     * {@code }}} or {@code %}} outside a string literal, as Jinja2 lexes it.
     */
    static String eachTag(String t, java.util.function.UnaryOperator<String> fix) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < t.length()) {
            int open = nextTag(t, i);
            if (open < 0) { out.append(t.substring(i)); break; }
            out.append(t, i, open);
            char kind = t.charAt(open + 1), close = kind == '{' ? '}' : '%';
            StringBuilder body = new StringBuilder();
            int j = open + 2;
            char quote = 0;
            int litStart = -1;
            for (; j < t.length(); j++) {
                char c = t.charAt(j);
                if (quote != 0) {
                    if (c == '\\' && j + 1 < t.length()) { j++; continue; }
                    if (c == quote) { body.append(t, litStart, j + 1); quote = 0; }
                    continue;
                }
                if (c == '\'' || c == '"') { quote = c; litStart = j; continue; }
                if (c == close && j + 1 < t.length() && t.charAt(j + 1) == '}') break;
                body.append(c);
            }
            if (j >= t.length()) { out.append(t.substring(open)); break; }     // unterminated: left for Jinjava to report
            out.append('{').append(kind).append(fix.apply(body.toString())).append(close).append('}');
            i = j + 2;
        }
        return out.toString();
    }

    /** Where the next {@code {{} or {@code {%} tag starts at or after {@code from}, skipping {@code {# #}} comments; −1 if none. */
    private static int nextTag(String t, int from) {
        for (int k = t.indexOf('{', from); k >= 0 && k + 1 < t.length(); k = t.indexOf('{', k + 1)) {
            char c = t.charAt(k + 1);
            if (c == '{' || c == '%') return k;
            if (c == '#') { int e = t.indexOf("#}", k + 2); if (e < 0) return -1; k = e; }
        }
        return -1;
    }


    /** Where {@code not}'s operand ends in {@code plain} (literals blanked): at a top-level {@code and, or, if, else, ','}, an unmatched closing bracket, or the tag's end. */
    private static int operandEnd(String plain, int i) {
        int depth = 0;
        for (int j = i; j < plain.length(); j++) {
            char c = plain.charAt(j);
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') { if (depth-- == 0) return j; }
            else if (depth == 0 && (c == ',' || (Character.isWhitespace(c) && STOP.matcher(plain).region(j, plain.length()).lookingAt()))) return j;
        }
        return plain.length();
    }

    /** {@code s} with the insides of its string literals blanked (same length), so operators, brackets and words inside them are not seen. */
    private static String masked(String s) {
        StringBuilder b = new StringBuilder(s);
        char quote = 0;
        for (int j = 0; j < b.length(); j++) {
            char c = b.charAt(j);
            if (quote != 0) {
                if (c == '\\' && j + 1 < b.length()) { b.setCharAt(j, '_'); b.setCharAt(++j, '_'); }
                else if (c == quote) quote = 0;
                else b.setCharAt(j, '_');
            } else if (c == '\'' || c == '"') quote = c;
        }
        return b.toString();
    }


    /** {@code namespace(a=x|length - 1, b=y)} → {@code namespace(a=(x|length - 1), b=(y))}. */
    static String parenthesiseNamespace(String t) {
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int i = t.indexOf("namespace("); i >= 0; i = t.indexOf("namespace(", from)) {
            int open = i + "namespace(".length(), depth = 1, j = open;
            while (j < t.length() && depth > 0) { char c = t.charAt(j); if (c == '(' || c == '[' || c == '{') depth++; else if (c == ')' || c == ']' || c == '}') depth--; j++; }
            if (depth != 0) break;
            List<String> args = new ArrayList<>();
            int d = 0, start = open;
            for (int k = open; k < j - 1; k++) {
                char c = t.charAt(k);
                if (c == '(' || c == '[' || c == '{') d++; else if (c == ')' || c == ']' || c == '}') d--;
                else if (c == ',' && d == 0) { args.add(t.substring(start, k)); start = k + 1; }
            }
            args.add(t.substring(start, j - 1));
            List<String> fixed = new ArrayList<>();
            for (String a : args) {
                int eq = a.indexOf('=');
                fixed.add(eq > 0 && a.substring(0, eq).trim().matches("\\w+") && !a.startsWith("=", eq + 1)
                        ? a.substring(0, eq).trim() + "=(" + a.substring(eq + 1).trim() + ")" : a);
            }
            out.append(t, from, i).append("namespace(").append(String.join(", ", fixed)).append(')');
            from = j;
        }
        return out.append(t.substring(from)).toString();
    }

    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** The template's {@code raise_exception(msg)}: Jinjava wraps the exception, so the message is kept aside. */
    public static String raiseException(String message) {
        if (RAISED.get() == null) RAISED.set(message);                // the first one raised, as Python stops there
        throw new IllegalStateException(message);
    }

    private ChatTemplate(ChatTemplate t, List<Object> tools) {
        this.template = t.template;
        this.adapted = t.adapted;
        this.hasGeneration = t.hasGeneration;
        this.bos = t.bos;
        this.eos = t.eos;
        this.jinja = t.jinja;
        this.tools = tools;
    }

    /** This template with {@code tools} (JSON schemas, as a dataset's {@code tools} column holds them) passed to every render. */
    public ChatTemplate withTools(List<Object> tools) { return new ChatTemplate(this, tools); }

    public String render(List<Message> messages, boolean addGenerationPrompt) { return render(messages, addGenerationPrompt, null); }

    /** As transformers' {@code apply_chat_template(messages, tools=tools, add_generation_prompt=…)}; {@code tools} may be null. */
    public String render(List<Message> messages, boolean addGenerationPrompt, List<Object> tools) {
        return render(messages, addGenerationPrompt, tools == null ? this.tools : tools, false);
    }

    /** Whether the template marks assistant text with {@code {% generation %}} blocks. */
    public boolean hasGenerationBlocks() { return hasGeneration; }

    /** A piece of a rendered conversation: inside a {@code {% generation %}} block or not. */
    public record Span(String text, boolean generated) {}

    /**
     * The conversation rendered (no generation prompt) as consecutive spans, the generated ones being the text inside the
     * template's {@code {% generation %}} blocks, as transformers' {@code return_assistant_tokens_mask} marks it; empty when
     * the template has no such blocks. The spans' texts joined are {@link #render(List, boolean)}'s output.
     */
    public List<Span> renderSpans(List<Message> messages) {
        if (!hasGeneration) return List.of();
        String marked = render(messages, false, tools, true);
        List<Span> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < marked.length(); i++) {
            char c = marked.charAt(i);
            if (c != GEN_START && c != GEN_END) { cur.append(c); continue; }
            boolean wasGenerated = depth > 0;
            depth = Math.max(0, depth + (c == GEN_START ? 1 : -1));
            if ((depth > 0) != wasGenerated) {
                if (cur.length() > 0) out.add(new Span(cur.toString(), wasGenerated));
                cur.setLength(0);
            }
        }
        if (cur.length() > 0) out.add(new Span(cur.toString(), depth > 0));
        return out;
    }

    private String render(List<Message> messages, boolean addGenerationPrompt, List<Object> tools, boolean markGeneration) {
        List<Map<String, Object>> ms = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("role", m.role());
            x.put("content", m.content());
            m.extra().forEach((k, v) -> x.put(k, py(v)));
            ms.add(x);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", ms);
        ctx.put("tools", tools == null ? null : py(tools));                // defined, as None when absent, as transformers passes it
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bos);
        ctx.put("eos_token", eos);
        ctx.put("strftime_now", Boolean.TRUE);                             // so that "strftime_now is defined", as under transformers
        if (markGeneration) ctx.put(MARK, Boolean.TRUE);
        RAISED.remove();
        NONE.set(tools == null ? Set.of("tools") : Set.of());
        RenderResult r;
        try {
            r = jinja.renderForResult(adapted, ctx);
        } finally {
            NONE.remove();
        }
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) throw new UserError("chat template: " + raised);
        for (TemplateError e : r.getErrors())
            if (e.getSeverity() == TemplateError.ErrorType.FATAL)
                throw new UserError("chat template: " + e.getMessage() + (e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : ""));
        return r.getOutput();
    }

    /** Dicts and lists (tool definitions, tool-call arguments) that print as Python's {@code str()} does, as Jinja2 prints them. */
    static Object py(Object v) {
        if (v instanceof Map<?, ?> m) {
            PyDict d = new PyDict();
            m.forEach((k, x) -> d.put(String.valueOf(k), py(x)));
            return d;
        }
        if (v instanceof List<?> l) {
            PyList out = new PyList();
            l.forEach(x -> out.add(py(x)));
            return out;
        }
        return v;
    }

    static final class PyDict extends LinkedHashMap<String, Object> {
        @Override public String toString() {
            StringBuilder b = new StringBuilder("{");
            forEach((k, v) -> b.append(b.length() > 1 ? ", " : "").append(repr(k)).append(": ").append(repr(v)));
            return b.append('}').toString();
        }
    }

    static final class PyList extends ArrayList<Object> {
        @Override public String toString() {
            StringBuilder b = new StringBuilder("[");
            forEach(v -> b.append(b.length() > 1 ? ", " : "").append(repr(v)));
            return b.append(']').toString();
        }
    }

    /** Python's {@code repr}: 'single-quoted' strings (double quotes when the text has a ' and no "), True/False/None. */
    static String repr(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean x) return x ? "True" : "False";
        if (!(v instanceof CharSequence cs)) return v.toString();
        String s = cs.toString();
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder().append(q);
        for (char c : s.toCharArray()) {
            if (c == q || c == '\\') b.append('\\').append(c);
            else if (c == '\n') b.append("\\n");
            else if (c == '\r') b.append("\\r");
            else if (c == '\t') b.append("\\t");
            else if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        return b.append(q).toString();
    }

    /**
     * Splits a conversation into (prompt, completion) text: the prompt is everything before the last assistant message
     * rendered with the generation prompt (what the model sees when it generates); the completion is the rest of the full
     * rendering. Some templates add text to the generation prompt that the finished conversation does not have (DeepSeek-R1
     * and QwQ open a {@code <think>} block): then the completion is what follows the two renderings' common prefix, so that
     * prompt + completion is what generation would produce, and a warning says so once per template.
     */
    public String[] promptAndCompletion(List<Message> prompt, List<Message> completion) {
        String p = render(prompt, true);
        List<Message> all = new ArrayList<>(prompt);
        all.addAll(completion);
        String full = render(all, false);
        if (full.startsWith(p)) return new String[]{p, full.substring(p.length())};
        int common = 0;
        while (common < Math.min(p.length(), full.length()) && p.charAt(common) == full.charAt(common)) common++;
        if (common == 0 || full.substring(common).isEmpty())
            throw new UserError("chat template: the rendered conversation does not share a beginning with the rendered prompt, so the completion cannot be split off");
        if (!warned) {
            warned = true;
            System.err.println("chat template: the generation prompt ends in " + quoted(p.substring(common)) + ", which the rendered conversation does not have; "
                    + "training on the prompt as rendered for generation and the conversation after their common beginning");
        }
        return new String[]{p, full.substring(common)};
    }

    private volatile boolean warned;

    private static String quoted(String s) { return ToJson.quote(s.length() > 40 ? s.substring(0, 40) + "…" : s); }
}
