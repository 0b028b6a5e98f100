package dev.align4j.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The bench's LoRA memory measurement runs both arms and reports what docs/benchmarks.md quotes. */
class BenchLoraTest {
    @Test
    void loraDpoMemoryReportsBothRunsAndTheirRatio() {
        ObjectNode r = Bench.loraDpoMemory("nano", 4, 16, 2, Bench.LORA, "both", false);
        for (String arm : new String[]{"lora_dpo", "full_dpo"})
            for (String k : new String[]{"rss_mb_before_model", "rss_mb_after_weights", "reference_mb", "rss_mb_peak", "peak_mb_above_start", "trainable_parameters", "seconds_per_step"})
                assertTrue(r.get(arm).has(k), arm + "." + k);
        long lora = r.get("lora_dpo").get("trainable_parameters").asLong(), full = r.get("full_dpo").get("trainable_parameters").asLong();
        assertTrue(lora > 0 && lora < full / 10, "adapters only: " + lora + " of " + full);
        assertTrue(r.get("lora_dpo").get("rss_mb_peak").asDouble() > 0 && r.has("peak_ratio"));
        assertFalse(r.get("gradient_checkpointing").asBoolean());
    }

    @Test
    void withGradientCheckpointingBothArmsStep() {
        ObjectNode r = Bench.loraDpoMemory("nano", 4, 16, 2, Bench.LORA, "both", true);
        assertTrue(r.get("gradient_checkpointing").asBoolean());
        for (String arm : new String[]{"lora_dpo", "full_dpo"}) assertTrue(r.get(arm).get("seconds_per_step").asDouble() > 0, arm);
    }
}
