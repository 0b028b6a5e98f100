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

/** sppo, inpo and nash-md from the command line: the cycle game quantities at each evaluation, the judge flag, and their flags. */
class SelfPlayCliTest {
    @TempDir Path dir;

    static List<JsonNode> rows(Path out, String stage) throws Exception {
        List<JsonNode> r = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode n = Json.MAPPER.readTree(line);
            if (n.get("stage").asText().equals(stage)) r.add(n);
        }
        return r;
    }

    @Test
    void eachCommandLogsExploitabilityAndWinRateOnCycle() throws Exception {
        for (String cmd : List.of("sppo", "inpo", "nash-md")) {
            Path out = dir.resolve(cmd);
            List<String> a = new ArrayList<>(List.of(cmd, "--init", "nano", "--task", "cycle", "--judge", "gold", "--steps", "2", "--prompts-per-step", "2",
                    "--samples-per-prompt", "2", "--max-new-tokens", "4", "--eval-prompts", "3", "--eval-every", "1", "--output", out.toString()));
            if (!cmd.equals("nash-md")) a.addAll(List.of("--iterations", "2"));
            CliTest.Result r = CliTest.run(a.toArray(String[]::new));
            assertEquals(0, r.code(), cmd + ": " + r.err());
            List<JsonNode> eval = rows(out, "eval/" + cmd);
            assertEquals(3, eval.size(), cmd + ": before, step 1 and step 2");
            for (JsonNode e : eval) {
                double x = e.get("exploitability").asDouble(), w = e.get("win_rate").asDouble();
                assertTrue(x >= 0 && x <= 0.5 && w >= 0 && w <= 1, cmd + ": " + e);
            }
            assertEquals(0.5, eval.get(0).get("win_rate").asDouble(), 1e-12, "the start against itself");
            assertTrue(Files.exists(out.resolve("final/model.safetensors")));
        }
        CliTest.Result bad = CliTest.run("sppo", "--init", "nano", "--task", "cycle", "--judge", "pm:" + dir.resolve("nope"), "--steps", "1", "--iterations", "1", "--output", dir.resolve("bad").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("is not a directory"), bad.err());
        CliTest.Result odd = CliTest.run("inpo", "--init", "nano", "--task", "cycle", "--samples-per-prompt", "3", "--output", dir.resolve("odd").toString());
        assertEquals(2, odd.code());
        assertTrue(odd.err().contains("samples-per-prompt must be even"), odd.err());
    }
}
