package dev.align4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.task.Task;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A supervised example: the loss covers the completion only. */
public record SftExample(String prompt, String completion) {

    /** Reads {@code {"prompt": ..., "completion": ...}} rows. */
    public static Jsonl.Read<SftExample> read(Path file, boolean skipInvalid) {
        return Jsonl.read(file, skipInvalid, n -> new SftExample(Jsonl.string(n, "prompt"), Jsonl.string(n, "completion")));
    }

    /** Demonstrations of a built-in task on its train split. */
    public static List<SftExample> fromTask(Task task, int n, double errorRate, long seed) {
        Random rng = new Random(seed);
        List<SftExample> out = new ArrayList<>();
        for (Task.Example e : task.examples(Task.Split.TRAIN, n, seed)) out.add(new SftExample(e.prompt(), task.demonstrate(e, errorRate, rng)));
        return out;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("prompt", prompt);
        o.put("completion", completion);
        return o;
    }
}
