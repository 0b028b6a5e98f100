package dev.align4j.pipeline;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The main job end to end at nano size: every stage runs and every promised output is written. */
class QuickstartTest {
    @TempDir Path dir;

    @Test
    void nanoPipelineWritesReportPlotsModelsAndMetrics() throws Exception {
        Quickstart q = dev.align4j.core.Configs.with(Quickstart.DEFAULTS, "task", "arithmetic", "init", "nano", "sftSteps", 30, "sftBatch", 16,
                "sftLr", 3e-3, "preferencePrompts", 64, "dpoSteps", 6, "dpoBatch", 8, "evalPrompts", 20, "grpoSteps", 3);
        Path report = q.run(dir);
        assertEquals(dir.resolve("report.html"), report);
        String html = Files.readString(report);
        for (String s : new String[]{"<td>base</td>", "<td>sft</td>", "stages.png", "sft_loss.png", "Sample completions", "seed"})
            assertTrue(html.contains(s), "report mentions " + s);
        for (String f : new String[]{"stages.png", "sft_loss.png", "metrics.jsonl", "quickstart_config.json",
                "base/model.safetensors", "sft/model.safetensors", "sft/tokenizer.json"})
            assertTrue(Files.exists(dir.resolve(f)), f + " written");
        try (var tb = Files.list(dir.resolve("tb"))) { assertTrue(tb.findAny().isPresent(), "TensorBoard events"); }
        String metrics = Files.readString(dir.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"stage\":\"stage/base\"") && metrics.contains("\"stage\":\"stage/sft\""), "per-stage evaluations logged");
        // with so little training the SFT model may produce no distinct pairs; either DPO ran or the report says why
        assertTrue(Files.exists(dir.resolve("dpo/model.safetensors")) || html.contains("DPO stage skipped: the SFT policy"), "DPO stage ran or the report says why not");
        // the online-RL stage ran after it and was evaluated
        assertTrue(Files.exists(dir.resolve("grpo/model.safetensors")) && metrics.contains("\"stage\":\"stage/grpo\"") && html.contains("<td>grpo</td>"),
                "GRPO stage ran and was evaluated");
    }

    @Test
    void imitationCeilingIsTheShareWhereTheDemonstratorsMajorityAnswerIsRight() {
        var t = dev.align4j.task.Task.byName("sort");
        var test = java.util.List.of(new dev.align4j.task.Task.Example("sort 3 1 3:", "1 3 3"), new dev.align4j.task.Task.Example("sort 2 1 0:", "0 1 2"));
        assertEquals("1 3", t.slip(test.get(0)));              // the repeated 3 written once
        assertNull(t.slip(test.get(1)));                       // nothing to slip on
        assertEquals(0.5, Quickstart.imitationCeiling(t, test, 0.1, 0.7));   // the slip is the majority on the first: 1 of 2 right
        assertEquals(1.0, Quickstart.imitationCeiling(t, test, 0.1, 0.3));   // a minority slip: a greedy imitator gets both
        assertEquals(0.0, Quickstart.imitationCeiling(t, test, 0.6, 0.0));   // mostly flawed demonstrations: no ceiling to speak of
    }
}
