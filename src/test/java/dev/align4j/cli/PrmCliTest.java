package dev.align4j.cli;

import dev.align4j.core.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** prm through the real CLI on nano models: from a stepwise file, from task trajectories with Math-Shepherd labels, then as a reward. */
class PrmCliTest {
    @TempDir Path dir;

    @Test
    void trainFromAFileAndFromSampledTrajectoriesThenRankBestOfNWithIt() throws Exception {
        Path steps = dir.resolve("steps.jsonl"), fromFile = dir.resolve("prm-file"), sft = dir.resolve("sft"), fromTask = dir.resolve("prm-task");
        assertEquals(0, CliTest.run("export", "--task", "chain", "--format", "stepwise", "--n", "32", "--output", steps.toString()).code());
        CliTest.Result r = CliTest.run("prm", "--init", "nano", "--data", steps.toString(), "--step-separator", ";", "--steps", "3", "--batch-size", "8",
                "--output", fromFile.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("LlamaForTokenClassification", Json.read(fromFile.resolve("final/config.json")).get("architectures").get(0).asText());
        assertEquals(";", Json.read(fromFile.resolve("final/process_reward.json")).get("step_separator").asText(), "the separator travels with the model");
        assertTrue(Files.exists(fromFile.resolve("checkpoint-3/process_reward.json")), "and with every checkpoint");
        assertTrue(Files.readString(fromFile.resolve("metrics.jsonl")).contains("prm/step_accuracy"));

        // a policy, then a PRM on its sampled chains with Math-Shepherd labels (separator: the task's ';' by default)
        r = CliTest.run("sft", "--init", "nano", "--task", "chain", "--examples", "64", "--eval-prompts", "4", "--steps", "2", "--output", sft.toString());
        assertEquals(0, r.code(), r.err());
        Path data = dir.resolve("mc.jsonl");
        r = CliTest.run("prm", "--model", sft.resolve("final").toString(), "--task", "chain", "--labels", "mc", "--mc-rollouts", "2", "--mc-estimate", "soft",
                "--prompts", "6", "--eval-prompts", "4", "--samples", "2", "--max-new-tokens", "8", "--steps", "2", "--batch-size", "4",
                "--save-data", data.toString(), "--output", fromTask.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("mc (soft, 2 rollouts) labels") && r.err().contains("held-out step accuracy"), r.err());
        assertEquals(";", Json.read(fromTask.resolve("final/process_reward.json")).get("step_separator").asText());
        String eval = Files.readString(fromTask.resolve("metrics.jsonl"));
        assertTrue(eval.contains("eval/prm") && eval.contains("prm/majority_step_accuracy"), eval);
        assertTrue(Files.readAllLines(data).get(0).contains("\"completions\""));

        // as a reward: best-of-n with PRM-weighted voting reports every selection rule
        r = CliTest.run("best-of-n", "--model", sft.resolve("final").toString(), "--task", "chain", "--prompts", "3", "--n", "2", "--max-new-tokens", "8",
                "--reward", "prm", "--prm-model", fromTask.resolve("final").toString(), "--prm-aggregate", "product", "--select", "weighted",
                "--output", dir.resolve("bon.jsonl").toString(), "--json");
        assertEquals(0, r.code(), r.err());
        var sum = Json.MAPPER.readTree(r.out());
        assertTrue(sum.has("weighted_accuracy") && sum.has("majority_accuracy") && sum.has("best_accuracy"), r.out());
        double reward = sum.get("chosen_reward").asDouble();
        assertTrue(reward >= 0 && reward <= 1, "a product of probabilities: " + reward);

        // as a guide: step-level beam search ranked by the PRM's weakest step so far
        r = CliTest.run("generate", "--model", sft.resolve("final").toString(), "--task", "chain", "--prompts", "2", "--max-new-tokens", "8",
                "--guide", "prm:" + fromTask.resolve("final"), "--beam", "2", "--beam-by", "value", "--expand", "2", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(Json.MAPPER.readTree(r.out()).get("scorer_rows_per_prompt").asDouble() > 0, r.out());

        // mistakes: no --prm-model; a reward model that is a PRM; a PRM given as --prm-model that is not one
        r = CliTest.run("best-of-n", "--model", sft.resolve("final").toString(), "--task", "chain", "--prompts", "1", "--n", "1", "--reward", "prm", "--output", dir.resolve("x.jsonl").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--prm-model"), r.err());
        r = CliTest.run("best-of-n", "--model", sft.resolve("final").toString(), "--task", "chain", "--prompts", "1", "--n", "1", "--reward", "prm",
                "--prm-model", sft.resolve("final").toString(), "--output", dir.resolve("x.jsonl").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("ForTokenClassification"), r.err());
        r = CliTest.run("prm", "--init", "nano", "--data", steps.toString(), "--labels", "mc", "--output", dir.resolve("bad").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--task"), r.err());
    }
}
