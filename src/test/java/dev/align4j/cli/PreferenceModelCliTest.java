package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code preference-model} end to end on the intransitive task, and the {@code --judge} parser the self-play trainers share. */
class PreferenceModelCliTest {
    @TempDir Path dir;

    @Test
    void trainsOnTheCycleTaskReportsHeldOutAccuracyAndSavesAMarkedModel() {
        Path out = dir.resolve("pm");
        CliTest.Result r = CliTest.run("preference-model", "--init", "nano", "--task", "cycle", "--pairs", "64", "--heldout-pairs", "40", "--steps", "2",
                "--batch-size", "8", "--max-length", "48", "--baseline-judge", "gold", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode h = Json.read(out.resolve("heldout.json"));
        double acc = h.get("pm/accuracy").asDouble();
        assertTrue(acc >= 0 && acc <= 1, h.toString());
        assertTrue(h.has("pm/accuracy_majority"), h.toString());
        // the gold judge agrees with the gold majority direction on every pair, by definition
        assertEquals(1.0, h.get("gold/accuracy_majority").asDouble(), 1e-12);
        assertTrue(Files.exists(out.resolve("final/pairwise_preference.json")));
        assertTrue(Files.exists(out.resolve("preference-model_config.json")), "the resolved config is saved");

        JudgeFlags jf = new JudgeFlags();
        jf.judge = "pm:" + out.resolve("final");
        try (var j = jf.build(null)) { assertEquals("pm", j.name()); }
        jf.judge = "rm:" + out.resolve("nowhere");
        assertThrows(UserError.class, () -> jf.build(null));
    }

    @Test
    void aBadJudgeSpecIsAUserErrorBeforeAnyTraining() {
        CliTest.Result r = CliTest.run("preference-model", "--init", "nano", "--task", "cycle", "--pairs", "8", "--steps", "1",
                "--baseline-judge", "oracle", "--output", dir.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--judge oracle: unknown judge"), r.err());
        assertFalse(Files.exists(dir.resolve("x/final")), "nothing trained");
    }
}
