package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** judge, --reward judge:DIR, --judge judge:DIR, self-reward and export --format judge through the real CLI; user errors exit 2 with a message. */
class JudgeCliTest {
    @TempDir Path dir;

    @Test
    void aTrainedJudgeIsARewardAndAJudgeAndItsComparisonsTrainARewardModel() throws Exception {
        Path out = dir.resolve("judge");
        CliTest.Result r = CliTest.run("judge", "--init", "nano", "--task", "arithmetic", "--responses", "demos", "--train-prompts", "30", "--eval-prompts", "10",
                "--steps", "2", "--batch-size", "8", "--iterations", "1", "--iteration-steps", "1", "--rows-per-iteration", "8", "--traces", "2",
                "--output", out.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode m = Json.MAPPER.readTree(r.out());
        assertTrue(m.has("accuracy") && m.has("majority_rate") && m.has("ece") && m.has("pair_accuracy"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("final/judge.json")) && Files.isRegularFile(out.resolve("comparisons.jsonl")));
        assertTrue(Files.readAllLines(out.resolve("judge_data.jsonl")).get(0).contains("\"completion\":"));
        String fin = out.resolve("final").toString();
        r = CliTest.run("grpo", "--model", fin, "--task", "arithmetic", "--reward", "judge:" + fin, "--steps", "1", "--prompts-per-step", "2", "--group-size", "2",
                "--eval-prompts", "4", "--output", dir.resolve("grpo").toString());
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("sppo", "--model", fin, "--task", "arithmetic", "--judge", "judge:" + fin, "--steps", "1", "--iterations", "1", "--eval-prompts", "4", "--output", dir.resolve("sppo").toString());
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("reward", "--model", fin, "--data", out.resolve("comparisons.jsonl").toString(), "--eval-data", out.resolve("heldout_comparisons.jsonl").toString(),
                "--steps", "1", "--batch-size", "4", "--output", dir.resolve("rm").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("held-out accuracy"), r.err());
        // the judge refreshed on the GRPO policy's samples (--model the judge, --responses-model the policy), with hard negatives
        Path again = dir.resolve("judge2");
        r = CliTest.run("judge", "--model", fin, "--responses-model", dir.resolve("grpo/final").toString(), "--task", "arithmetic", "--train-prompts", "10",
                "--eval-prompts", "4", "--responses-per-prompt", "2", "--hard-negatives", "1", "--steps", "1", "--batch-size", "8", "--output", again.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("responses from " + dir.resolve("grpo/final")), r.err());
        assertTrue(Files.isRegularFile(again.resolve("final/judge.json")));
    }

    @Test
    void userErrorsExitTwoWithAMessage() {
        String[][] cases = {
                {"judge", "--init", "nano", "--task", "nope", "--output", dir.resolve("a").toString()},
                {"judge", "--init", "nano", "--task", "arithmetic", "--mode", "listwise", "--output", dir.resolve("b").toString()},
                {"judge", "--init", "nano", "--task", "arithmetic", "--error-rate", "1.5", "--output", dir.resolve("c").toString()},
                {"grpo", "--init", "nano", "--task", "arithmetic", "--reward", "judge:", "--output", dir.resolve("d").toString()},
                {"grpo", "--init", "nano", "--task", "arithmetic", "--reward", "judge:" + dir.resolve("missing"), "--output", dir.resolve("e").toString()},
                {"sppo", "--init", "nano", "--task", "arithmetic", "--judge", "judge:" + dir, "--output", dir.resolve("f").toString()},
                {"self-reward", "--init", "nano", "--data", dir.resolve("p.jsonl").toString(), "--output", dir.resolve("g").toString()},
                {"self-reward", "--init", "nano", "--task", "arithmetic", "--self-judge", "implicit", "--output", dir.resolve("h").toString()},
                {"self-reward", "--init", "nano", "--task", "arithmetic", "--samples", "1", "--output", dir.resolve("i").toString()},
                {"export", "--task", "arithmetic", "--format", "sft", "--critique", "--output", dir.resolve("j.jsonl").toString()},
        };
        for (String[] c : cases) {
            CliTest.Result r = CliTest.run(c);
            assertEquals(2, r.code(), String.join(" ", c) + "\n" + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
    }

    @Test
    void selfRewardRunsTwoIterationsAndExportWritesJudgeRows() throws Exception {
        Path out = dir.resolve("sr");
        CliTest.Result r = CliTest.run("self-reward", "--init", "nano", "--task", "arithmetic", "--iterations", "2", "--samples", "2", "--prompts-per-iteration", "4",
                "--steps", "1", "--batch-size", "4", "--eft-steps", "1", "--eft-prompts", "4", "--eval-prompts", "4", "--min-gap", "0", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("final/judge.json")));
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"self_reward\"") && metrics.contains("gold_reward") && metrics.contains("judge_accuracy"), metrics);
        Path f = dir.resolve("j.jsonl");
        r = CliTest.run("export", "--task", "chain", "--format", "judge-pairs", "--critique", "--n", "20", "--error-rate", "0.5", "--output", f.toString());
        assertEquals(0, r.code(), r.err());
        List<String> rows = Files.readAllLines(f);
        assertFalse(rows.isEmpty());
        assertTrue(rows.get(0).contains("better? ") && rows.get(0).contains(" => "), rows.get(0));
    }
}
