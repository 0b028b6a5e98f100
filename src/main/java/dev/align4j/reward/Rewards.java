package dev.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;

import java.util.*;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The built-in reward functions and their weighted combination. */
public final class Rewards {
    private Rewards() {}

    /** A task's own gold reward in [0, 1] (exact match for arithmetic, order agreement for sort, …). */
    public static RewardFunction gold(Task task) {
        return fn("gold", s -> task.reward(s.example(), s.completion()));
    }

    /** One objective of a multi-objective task ({@link Task#rewards}, e.g. brief-arith's {@code correct} or {@code brief}), named by it. */
    public static RewardFunction objective(Task task, String name) {
        int k = task.objectives().indexOf(name);
        if (k < 0) throw new UserError("task " + task.name() + " has no objective '" + name + "' (it has " + String.join(", ", task.objectives()) + ")");
        return fn(name, s -> task.rewards(s.example(), s.completion())[k]);
    }

    /** The default answer extractor: the last number in the completion's first line (−12, 3.5, 1,024 → 1024). */
    public static final Pattern LAST_NUMBER = Pattern.compile("-?\\d[\\d,]*(?:\\.\\d+)?");

    /**
     * Answer match: extracts the answer from the completion ({@code extract}'s last match, group 1 if it has one,
     * else the whole match) and compares it with the reference answer. Both numeric: correct when
     * |a − b| ≤ tolerance · max(1, |b|) (tolerance 0 = exact numeric equality, so "4.0" matches "4"); otherwise
     * exact string equality after trimming. 1 when correct, 0 when wrong or when nothing can be extracted.
     */
    public static RewardFunction answerMatch(Pattern extract, double tolerance) {
        if (tolerance < 0) throw new UserError("answer tolerance must be >= 0: " + tolerance);
        return fn("answer", s -> {
            String got = extract(extract, Task.firstLine(s.completion()));
            return got != null && matches(got, s.example().answer().trim(), tolerance) ? 1.0 : 0.0;
        });
    }

    static String extract(Pattern p, String text) {
        Matcher m = p.matcher(text);
        String last = null;
        while (m.find()) last = m.groupCount() >= 1 && m.group(1) != null ? m.group(1) : m.group();
        return last == null ? null : last.trim();
    }

    static boolean matches(String got, String want, double tolerance) {
        Double a = number(got), b = number(want);
        if (a != null && b != null) return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));
        return got.equals(want);
    }

    static Double number(String s) {
        try {
            return Double.parseDouble(s.replace(",", ""));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * Partial credit against the reference answer: 1 for an exact match, else the share of right-aligned
     * characters that agree, matches / max(|answer|, |reference|) ("123" vs "128": 2/3; "23" vs "123": 2/3).
     * A dense signal for digit answers where exact match is rare.
     */
    public static RewardFunction partial() {
        return fn("partial", s -> partialCredit(Task.firstLine(s.completion()), s.example().answer().trim()));
    }

    static double partialCredit(String got, String want) {
        if (got.equals(want)) return 1.0;
        int n = Math.max(got.length(), want.length()), same = 0;
        for (int i = 1; i <= Math.min(got.length(), want.length()); i++)
            if (got.charAt(got.length() - i) == want.charAt(want.length() - i)) same++;
        return n == 0 ? 0 : (double) same / n;
    }

    /** Format reward: 1 when the whole first line matches {@code regex} (e.g. {@code -?\d+}), else 0. */
    public static RewardFunction format(String regex) {
        Pattern p;
        try {
            p = Pattern.compile(regex);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new UserError("--format-regex '" + regex + "': not a valid regular expression: " + e.getDescription());
        }
        return fn("format", s -> p.matcher(Task.firstLine(s.completion())).matches() ? 1.0 : 0.0);
    }

    /** Length penalty: −perToken · completion tokens (a bias against verbosity). */
    public static RewardFunction lengthPenalty(double perToken) {
        return fn("length", s -> -perToken * s.completionTokens());
    }

    /**
     * DAPO's soft overlong punishment (Yu et al. 2025, eq. 13) for a budget L_max and a buffer L_cache:
     * 0 when |y| ≤ L_max − L_cache; ((L_max − L_cache) − |y|) / L_cache inside the buffer; −1 beyond L_max,
     * and −1 for a completion cut off by the budget without ending.
     */
    public static RewardFunction overlong(int maxTokens, int cacheTokens) {
        if (cacheTokens <= 0 || cacheTokens > maxTokens) throw new UserError("overlong buffer must be in 1.." + maxTokens + ": " + cacheTokens);
        return fn("overlong", s -> overlongPenalty(s.completionTokens(), s.truncated(), maxTokens, cacheTokens));
    }

    static double overlongPenalty(int len, boolean truncated, int max, int cache) {
        if (truncated || len > max) return -1.0;
        int free = max - cache;
        return len <= free ? 0.0 : (double) (free - len) / cache;
    }

    /**
     * A learned reward model's score (its score head at the last token of prompt + completion), scored as its
     * trainer saw them (completion + EOS, truncated to {@code maxLength}) in batches of {@code batchSize} without gradients. Objective {@code head} for multi-head models.
     */
    public static RewardFunction model(String name, LlamaModel rm, Tokenizer tok, int head, int batchSize, int maxLength) {
        if (rm.config.isCausalLm()) throw new UserError("reward model '" + name + "' has no score head (expected *ForSequenceClassification)");
        if (rm.config.tokenClassification())
            throw new UserError("reward model '" + name + "' is a process reward model (*ForTokenClassification): use --reward prm --prm-model DIR");
        if (head < 0 || head >= rm.config.numLabels()) throw new UserError("reward model '" + name + "' has " + rm.config.numLabels() + " heads; head " + head + " does not exist");
        return new RewardFunction() {
            public String name() { return name; }

            public double[] score(List<RewardFunction.Sample> samples) {
                double[] out = new double[samples.size()];
                for (int from = 0; from < samples.size(); from += batchSize) {
                    int to = Math.min(samples.size(), from + batchSize);
                    List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
                    for (RewardFunction.Sample s : samples.subList(from, to)) {
                        dev.align4j.data.Tokenized t = dev.align4j.data.Tokenized.of(tok, s.prompt(), s.completion(), maxLength, dev.align4j.data.Tokenized.Truncation.KEEP_END, true);
                        p.add(t.prompt());
                        c.add(t.completion());
                    }
                    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                        float[] r = Torch.toFloats(Scoring.lastTokenScores(rm, SeqBatch.of(p, c, tok.padId)).select(1, head).contiguous());
                        for (int i = 0; i < r.length; i++) out[from + i] = r[i];
                    }
                }
                return out;
            }
        };
    }

    /** A per-sample function as a {@link RewardFunction}. */
    public static RewardFunction fn(String name, java.util.function.ToDoubleFunction<RewardFunction.Sample> f) {
        return new RewardFunction() {
            public String name() { return name; }

            public double[] score(List<RewardFunction.Sample> samples) {
                double[] out = new double[samples.size()];
                for (int i = 0; i < out.length; i++) out[i] = f.applyAsDouble(samples.get(i));
                return out;
            }
        };
    }

    /** Total and per-component scores of a batch. */
    public record Scored(double[] total, LinkedHashMap<String, double[]> components) {
        /** Mean of each component, for metrics as {@code reward/NAME}. */
        public Map<String, Double> componentMeans() {
            Map<String, Double> m = new LinkedHashMap<>();
            components.forEach((k, v) -> m.put(k, Arrays.stream(v).average().orElse(0)));
            return m;
        }
    }

    /**
     * JSON reward: 1 when the completion (trimmed) is a JSON value that satisfies {@code schema}, else 0. The schema
     * may be null (any valid JSON). Supported keywords: {@code type} (a name or a list), {@code properties},
     * {@code required}, {@code additionalProperties: false}, {@code items}, {@code enum}, {@code minItems}/{@code maxItems},
     * {@code minimum}/{@code maximum}; others are ignored.
     */
    public static RewardFunction json(JsonNode schema) {
        return fn("json", s -> {
            try {
                JsonNode v = Json.MAPPER.readTree(s.completion().strip());
                return v != null && !v.isMissingNode() && (schema == null || conforms(v, schema)) ? 1.0 : 0.0;
            } catch (java.io.IOException e) {
                return 0.0;
            }
        });
    }

    static boolean conforms(JsonNode v, JsonNode schema) {
        JsonNode type = schema.get("type");
        if (type != null) {
            boolean any = false;
            for (JsonNode t : type.isArray() ? type : Json.MAPPER.createArrayNode().add(type)) any |= hasType(v, t.asText());
            if (!any) return false;
        }
        if (schema.has("enum")) {
            boolean found = false;
            for (JsonNode e : schema.get("enum")) found |= e.equals(v);
            if (!found) return false;
        }
        if (v.isNumber() && (schema.has("minimum") && v.asDouble() < schema.get("minimum").asDouble()
                || schema.has("maximum") && v.asDouble() > schema.get("maximum").asDouble())) return false;
        if (v.isObject()) {
            for (JsonNode r : schema.path("required")) if (!v.has(r.asText())) return false;
            JsonNode props = schema.path("properties");
            for (var it = v.fields(); it.hasNext(); ) {
                var f = it.next();
                if (props.has(f.getKey())) { if (!conforms(f.getValue(), props.get(f.getKey()))) return false; }
                else if (schema.path("additionalProperties").isBoolean() && !schema.get("additionalProperties").asBoolean()) return false;
            }
        }
        if (v.isArray()) {
            if (schema.has("minItems") && v.size() < schema.get("minItems").asInt() || schema.has("maxItems") && v.size() > schema.get("maxItems").asInt()) return false;
            if (schema.has("items")) for (JsonNode x : v) if (!conforms(x, schema.get("items"))) return false;
        }
        return true;
    }

    static boolean hasType(JsonNode v, String type) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber() || v.isNumber() && v.asDouble() == Math.rint(v.asDouble());
            case "number" -> v.isNumber();
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            default -> throw new UserError("JSON schema: unknown type '" + type + "'");
        };
    }

    /** A weighted sum Σ_k w_k · r_k of reward functions; every component is kept for reporting. Closing it closes components that hold a process. */
    public record Weighted(List<RewardFunction> functions, double[] weights) implements AutoCloseable {
        public Weighted {
            if (functions.isEmpty()) throw new UserError("at least one reward function is needed");
            if (weights.length != functions.size()) throw new UserError(functions.size() + " reward functions but " + weights.length + " weights");
            Set<String> names = new HashSet<>();
            for (RewardFunction f : functions) if (!names.add(f.name())) throw new UserError("reward function '" + f.name() + "' given twice");
        }

        public static Weighted of(RewardFunction f) { return new Weighted(List.of(f), new double[]{1.0}); }

        public Scored score(List<RewardFunction.Sample> samples) {
            double[] total = new double[samples.size()];
            LinkedHashMap<String, double[]> parts = new LinkedHashMap<>();
            for (int k = 0; k < functions.size(); k++) {
                double[] r = functions.get(k).score(samples);
                parts.put(functions.get(k).name(), r);
                for (int i = 0; i < total.length; i++) total[i] += weights[k] * r[i];
            }
            return new Scored(total, parts);
        }

        @Override
        public void close() {
            for (RewardFunction f : functions)
                if (f instanceof AutoCloseable c) try { c.close(); } catch (Exception ignored) { }
        }
    }
}
