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

/** sppo, inpo, nash-md, dno, spo and online-dpo's exploration from the command line: the cycle game quantities at each evaluation, the judge flag, and their flags. */
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
        for (String cmd : List.of("sppo", "inpo", "nash-md", "dno", "spo")) {
            Path out = dir.resolve(cmd);
            List<String> a = new ArrayList<>(List.of(cmd, "--init", "nano", "--task", "cycle", "--judge", "gold", "--steps", "2", "--prompts-per-step", "2",
                    "--samples-per-prompt", "2", "--max-new-tokens", "4", "--eval-prompts", "3", "--eval-every", "1", "--output", out.toString()));
            if (!cmd.equals("nash-md") && !cmd.equals("spo")) a.addAll(List.of("--iterations", "2"));
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
        CliTest.Result margin = CliTest.run("dno", "--init", "nano", "--task", "cycle", "--margin", "1.5", "--output", dir.resolve("margin").toString());
        assertEquals(2, margin.code());
        assertTrue(margin.err().contains("margin (a win-rate difference) must be in [0, 1]: 1.5"), margin.err());
        CliTest.Result one = CliTest.run("spo", "--init", "nano", "--task", "cycle", "--group-size", "1", "--estimator", "reinforce_pp", "--output", dir.resolve("one").toString());
        assertEquals(2, one.code());
        assertTrue(one.err().contains("spo rewards a sample by its win rate against the others of its prompt: group-size must be >= 2"), one.err());
    }

    @Test
    void onlineDpoExplorationAndIterationFlags() throws Exception {
        Path out = dir.resolve("xpo");
        CliTest.Result r = CliTest.run("online-dpo", "--init", "nano", "--task", "arithmetic", "--steps", "2", "--prompts-per-step", "2", "--samples-per-prompt", "1",
                "--exploration", "xpo", "--alpha", "0.1", "--iterations", "2", "--extrapolation", "0.3", "--max-new-tokens", "4", "--eval-prompts", "2",
                "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("online-dpo_config.json").toFile());
        assertEquals("XPO", cfg.get("exploration").asText());
        assertEquals(2, cfg.get("iterations").asInt());
        List<JsonNode> train = rows(out, "online-dpo");
        assertTrue(train.stream().allMatch(n -> n.has("loss/exploration") && n.has("distinct_completions")), train.toString());
        String[][] bad = {
                {"--exploration", "ucb"}, {"--exploration ucb: unknown; expected one of none, xpo, selm, vpo"},
                {"--samples-per-prompt", "1"}, {"samples-per-prompt must be >= 2 (>= 1 with --exploration"},
                {"--extrapolation", "0.5"}, {"extrapolation acts between rounds: give --iterations >= 2"},
                {"--exploration", "vpo", "--vpo-sign", "0"}, {"vpo-sign must be 1 (optimism) or -1 (pessimism): 0"}};
        for (int i = 0; i < bad.length; i += 2) {
            List<String> a = new ArrayList<>(List.of("online-dpo", "--init", "nano", "--task", "arithmetic", "--output", dir.resolve("bad" + i).toString()));
            a.addAll(List.of(bad[i]));
            CliTest.Result e = CliTest.run(a.toArray(String[]::new));
            assertEquals(2, e.code(), String.join(" ", bad[i]));
            assertTrue(e.err().contains(bad[i + 1][0]), e.err());
        }
    }
}
