package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * --constraint through the real CLI on grpo and ppo: the multipliers are logged and checkpointed, a resume continues them
 * and refuses other constraints; a multi-objective task's objectives are reward functions; user errors.
 */
class ConstraintCliTest {
    @TempDir Path dir;

    List<String> command(String trainer, Path out, String... extra) {
        List<String> c = new ArrayList<>(List.of(trainer, "--init", "nano", "--task", "brief-arith", "--reward", "correct,brief", "--constraint", "brief>=0.99",
                "--prompts-per-step", "2", "--samples-per-prompt", "2", "--max-new-tokens", "8", "--eval-prompts", "4", "--save-every", "1", "--warmup-steps", "0",
                "--output", out.toString()));
        c.addAll(List.of(extra));
        return c;
    }

    @Test
    void grpoAndPpoCheckpointTheirMultipliersAndResumeThem() throws Exception {
        for (String trainer : List.of("grpo", "ppo")) {
            Path out = dir.resolve(trainer);
            CliTest.Result r = CliTest.run(command(trainer, out, "--steps", "2").toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("constraints [brief>=0.99]"), r.err());
            String metrics = Files.readString(out.resolve("metrics.jsonl"));
            for (String k : List.of("constraint/brief", "lagrange/brief", "reward/lagrangian", "objective/correct", "objective/brief")) assertTrue(metrics.contains(k), trainer + ": " + k);
            JsonNode state = Json.read(out.resolve("checkpoint-2/trainer_state.json"));
            assertEquals("brief>=0.99", state.path("lagrange").get(0).path("constraint").asText(), state.toString());
            double mu = state.path("lagrange").get(0).path("mu").asDouble();
            assertTrue(mu >= 0, trainer + ": " + mu);
            // a resume continues from the saved multiplier; other constraints are refused with one line
            r = CliTest.run(command(trainer, out, "--steps", "3", "--resume").toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            List<String> bad = command(trainer, out, "--steps", "4", "--resume");
            bad.set(bad.indexOf("brief>=0.99"), "brief>=0.5");
            r = CliTest.run(bad.toArray(String[]::new));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("resume with the same --constraint flags") && !r.err().contains("\tat "), r.err());
        }
    }

    @Test
    void userErrors() {
        String[][] bad = {
                {"grpo", "--init", "nano", "--task", "brief-arith", "--reward", "correct", "--constraint", "brief>=0.9", "--output", dir.resolve("a").toString()},
                {"grpo", "--init", "nano", "--task", "brief-arith", "--reward", "brief", "--constraint", "brief>=0.9", "--output", dir.resolve("b").toString()},
                {"grpo", "--init", "nano", "--task", "brief-arith", "--reward", "correct,brief", "--constraint", "brief=0.9", "--output", dir.resolve("c").toString()},
                {"ppo", "--init", "nano", "--task", "brief-arith", "--reward", "correct,brief", "--constraint", "brief>=0.9", "--dual-lr", "0", "--output", dir.resolve("d").toString()},
                {"grpo", "--init", "nano", "--task", "brief-arith", "--reward", "tidy", "--output", dir.resolve("e").toString()}};
        String[] says = {"no reward function 'brief'", "every reward function is constrained", "expected NAME>=X or NAME<=X", "dual-lr must be > 0",
                "one of the task's objectives correct, brief"};
        for (int i = 0; i < bad.length; i++) {
            CliTest.Result r = CliTest.run(bad[i]);
            assertEquals(2, r.code(), String.join(" ", bad[i]) + ": " + r.err());
            assertTrue(r.err().contains(says[i]) && !r.err().contains("\tat "), String.join(" ", bad[i]) + ": " + r.err());
        }
    }
}
