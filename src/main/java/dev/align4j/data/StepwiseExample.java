package dev.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Stepwise supervision (TRL's dataset type for process reward models): a prompt, the solution's steps, and one label per
 * step saying whether that step is correct, {@code {"prompt": "…", "completions": ["step 1", …], "labels": [true, …]}}.
 * Read and validated here; the process reward trainer that consumes it is a later method.
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
}
