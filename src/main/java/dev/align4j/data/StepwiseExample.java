package dev.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;

import dev.align4j.core.UserError;
import dev.align4j.model.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Stepwise supervision (TRL's dataset type for process reward models): a prompt, the solution's steps, and one label per
 * step saying whether that step is correct, {@code {"prompt": "…", "completions": ["step 1", …], "labels": [true, …]}}.
 * Read and validated here, and tokenized as TRL's PRMTrainer does ({@link #tokenize}) for the process reward trainer
 * ({@code train.offline.ProcessRewardModel}) and for scoring with a trained one ({@code reward.ProcessRewards}).
 */
public record StepwiseExample(String prompt, List<String> steps, List<Boolean> labels) {
    public StepwiseExample {
        steps = List.copyOf(steps);
        labels = List.copyOf(labels);
    }

    public static Jsonl.Read<StepwiseExample> read(Path file, boolean skipInvalid, dev.align4j.model.ChatTemplate template) {
        return Jsonl.read(file, skipInvalid, n -> {
            String prompt = n.path("prompt").isArray() ? Jsonl.need(template, n).render(Jsonl.messages(n, "prompt"), true) : Jsonl.string(n, "prompt");
            JsonNode c = n.get("completions"), l = n.get("labels");
            if (c == null || !c.isArray() || c.isEmpty()) throw new Jsonl.BadLine("column 'completions' expected a non-empty array of step strings");
            if (l == null || !l.isArray() || l.size() != c.size())
                throw new Jsonl.BadLine("column 'labels' expected one true/false (or 1/0) per step: " + c.size() + " steps, " + (l == null || !l.isArray() ? "no list" : l.size() + " labels"));
            List<String> steps = new ArrayList<>();
            List<Boolean> labels = new ArrayList<>();
            for (int i = 0; i < c.size(); i++) {
                if (!c.get(i).isTextual()) throw new Jsonl.BadLine("column 'completions' step " + i + " expected a string, got " + Jsonl.kind(c.get(i)));
                steps.add(c.get(i).asText());
                labels.add(Jsonl.bool(dev.align4j.core.Json.object().set("label " + i, l.get(i)), "label " + i));
            }
            return new StepwiseExample(prompt, steps, labels);
        });
    }

    /**
     * A tokenized trajectory: the prompt's ids, then each step's ids followed by the separator's, and where each step's label
     * sits.
     *
     * @param ids      BOS (if the tokenizer adds one) + prompt + Σ (step + separator), at most maxLength tokens
     * @param stepEnds for step i the index in {@code ids} of its label token, the last token of step i + separator; −1 when
     *                 maxLength cut it off
     */
    public record Tokens(int[] ids, int[] stepEnds) {
        /** Steps whose label token survived truncation. */
        public int labelled() {
            int n = 0;
            for (int e : stepEnds) if (e >= 0) n++;
            return n;
        }
    }

    /**
     * TRL's PRMTrainer convention ({@code tokenize_row}): the prompt, then every step tokenized on its own with the separator's
     * tokens appended (tokenized separately, then concatenated, so a step's tokens never depend on its neighbours), the label
     * at the last token of each step + separator and nowhere else. Longer than {@code maxLength} (0 = no limit): cut at the
     * end, as TRL cuts {@code input_ids[:max_length]}; steps whose label token is cut lose their label.
     */
    public static Tokens tokenize(Tokenizer tok, String prompt, List<String> steps, String separator, int maxLength) {
        int[] sep = tok.encode(separator, false);
        if (sep.length == 0) throw new UserError("step separator '" + separator.replace("\n", "\\n") + "' has no tokens in this tokenizer");
        int[] p = tok.encode(prompt, true);
        int total = p.length;
        int[][] parts = new int[steps.size()][];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = tok.encode(steps.get(i), false);
            total += parts[i].length + sep.length;
        }
        int[] ids = Arrays.copyOf(p, total), ends = new int[parts.length];
        int k = p.length;
        for (int i = 0; i < parts.length; i++) {
            System.arraycopy(parts[i], 0, ids, k, parts[i].length);
            k += parts[i].length;
            System.arraycopy(sep, 0, ids, k, sep.length);
            k += sep.length;
            ends[i] = k - 1;
        }
        if (maxLength > 0 && ids.length > maxLength) {
            ids = Arrays.copyOf(ids, maxLength);
            for (int i = 0; i < ends.length; i++) if (ends[i] >= maxLength) ends[i] = -1;
        }
        return new Tokens(ids, ends);
    }

    /**
     * The steps of a completion as a process reward model reads them: the text split at every {@code separator}, trailing
     * blank pieces dropped ({@code "42;33;73"} and {@code "42;33;73;"} are both three steps at {@code ;}). Inner empty steps
     * stay (they are steps, and wrong ones).
     */
    public static List<String> split(String completion, String separator) {
        List<String> out = new ArrayList<>(Arrays.asList(completion.split(Pattern.quote(separator), -1)));
        while (!out.isEmpty() && out.get(out.size() - 1).isBlank()) out.remove(out.size() - 1);
        return out;
    }

    /** The file beside a process reward model's config.json that says how it splits a completion into steps. */
    public static final String SEPARATOR_FILE = "process_reward.json";

    /** Writes {@value #SEPARATOR_FILE} ({@code {"step_separator": …}}) into a model directory. */
    public static void saveSeparator(Path dir, String separator) {
        dev.align4j.core.Json.write(dir.resolve(SEPARATOR_FILE), dev.align4j.core.Json.object().put("step_separator", separator));
    }

    /** The step separator a process reward model in {@code dir} was trained with; TRL's default "\n" when the file is absent. */
    public static String separatorOf(Path dir) {
        Path f = dir.resolve(SEPARATOR_FILE);
        if (!java.nio.file.Files.exists(f)) {
            System.err.println(dir + ": no " + SEPARATOR_FILE + "; assuming the step separator \"\\n\" (TRL's default)");
            return "\n";
        }
        JsonNode s = dev.align4j.core.Json.read(f).get("step_separator");
        if (s == null || !s.isTextual() || s.asText().isEmpty()) throw new UserError(f + ": field 'step_separator' must be a non-empty string");
        return s.asText();
    }
}
