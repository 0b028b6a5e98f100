package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelTestAccess;
import dev.align4j.model.TestModels;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** best-of-n and rft through the real CLI, on tiny random models: outputs the sft / dpo commands read, checkpoints, resume, user errors. */
class RftCliTest {
    @TempDir Path dir;

    Path model() {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTestAccess.random(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 1)) {
            Path out = dir.resolve("m");
            HfModel.save(out, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            return out;
        }
    }

    @Test
    void bestOfNWritesSftRowsAndPairsThatSftAndDpoRead() throws Exception {
        Path m = model(), bon = dir.resolve("bon.jsonl"), pairs = dir.resolve("pairs.jsonl");
        // partial credit against the final answer: a random model's samples differ in reward, so pairs exist
        CliTest.Result r = CliTest.run("best-of-n", "--model", m.toString(), "--task", "chain", "--reward", "partial", "--n", "4", "--prompts", "12",
                "--output", bon.toString(), "--pairs", pairs.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode sum = Json.MAPPER.readTree(r.out());
        assertEquals(1, r.out().strip().split("\n").length, "stdout is the summary only: " + r.out());
        assertEquals(12, sum.get("prompts").asInt());
        assertTrue(sum.get("chosen_reward").asDouble() >= sum.get("sample_reward").asDouble() - 1e-12, "the best of N is at least their mean: " + sum);
        assertTrue(sum.has("greedy_accuracy") && sum.has("oracle_accuracy"), sum.toString());
        List<String> rows = Files.readAllLines(bon);
        assertEquals(12, rows.size());
        assertTrue(rows.get(0).startsWith("{\"prompt\":") && rows.get(0).contains("\"completion\":"), rows.get(0));
        assertTrue(Files.readAllLines(pairs).size() > 0 && Files.readAllLines(pairs).size() == sum.get("pairs").asInt());
        r = CliTest.run("sft", "--model", m.toString(), "--data", bon.toString(), "--steps", "1", "--batch-size", "4", "--output", dir.resolve("sft").toString());
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("dpo", "--model", m.toString(), "--data", pairs.toString(), "--steps", "1", "--batch-size", "2", "--output", dir.resolve("dpo").toString());
        assertEquals(0, r.code(), r.err());
        // majority vote over the final answers, and the table on stdout
        r = CliTest.run("best-of-n", "--model", m.toString(), "--task", "chain", "--n", "3", "--prompts", "4", "--select", "majority",
                "--answer-regex", "(-?\\d+)\\s*$", "--output", dir.resolve("maj.jsonl").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("best-of-3") && r.out().contains("greedy"), r.out());
    }

    @Test
    void exportWritesStepwiseRowsForChainOnly() throws Exception {
        Path f = dir.resolve("steps.jsonl");
        CliTest.Result r = CliTest.run("export", "--task", "chain", "--format", "stepwise", "--n", "8", "--output", f.toString());
        assertEquals(0, r.code(), r.err());
        List<String> rows = Files.readAllLines(f);
        assertEquals(8, rows.size());
        JsonNode row = Json.MAPPER.readTree(rows.get(0));
        assertTrue(row.get("completions").isArray() && row.get("labels").size() == row.get("completions").size(), rows.get(0));
        r = CliTest.run("export", "--task", "sort", "--format", "stepwise", "--output", dir.resolve("x.jsonl").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--format stepwise needs a task whose completions are steps (chain)"), r.err());
    }

    @Test
    void bestOfNBadInputsExitTwoWithOneLine() {
        Path m = model();
        CliTest.Result r = CliTest.run("best-of-n", "--model", m.toString(), "--data", dir.resolve("missing.jsonl").toString(), "--output", dir.resolve("o.jsonl").toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.err().contains("missing.jsonl"), r.err());
        r = CliTest.run("best-of-n", "--model", m.toString(), "--task", "chain", "--n", "0", "--output", dir.resolve("o.jsonl").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--n must be >= 1"), r.err());
    }

    @Test
    void rftIteratesCheckpointsEachIterationAndResumes() throws Exception {
        Path out = dir.resolve("rft");
        String[] args = {"rft", "--init", "nano", "--task", "chain", "--iterations", "2", "--samples", "2", "--prompts-per-iteration", "8",
                "--threshold", "0", "--steps", "2", "--batch-size", "4", "--eval-prompts", "8", "--output", out.toString()};
        CliTest.Result r = CliTest.run(args);
        assertEquals(0, r.code(), r.err());
        for (String f : new String[]{"checkpoint-1/model.safetensors", "checkpoint-2/trainer_state.json", "final/model.safetensors", "rft_config.json",
                "sft-1/metrics.jsonl", "sft-2/metrics.jsonl"})
            assertTrue(Files.exists(out.resolve(f)), f);
        assertEquals("rft", Json.read(out.resolve("checkpoint-2/trainer_state.json")).get("trainer").asText());
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"stage\":\"rft\"") && metrics.contains("\"kept\"") && metrics.contains("\"reward_kept\""), metrics);
        assertEquals(3, metrics.lines().filter(l -> l.contains("\"stage\":\"eval/rft\"")).count(), "before, and after each iteration");
        // a third iteration continues from checkpoint-2
        String[] more = java.util.Arrays.copyOf(args, args.length + 1);
        more[6] = "3";                                                      // --iterations 3
        more[args.length] = "--resume";
        r = CliTest.run(more);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("resumed from") && r.err().contains("checkpoint-2"), r.err());
        assertTrue(Files.exists(out.resolve("checkpoint-3/trainer_state.json")));
        assertEquals(3, Files.readString(out.resolve("metrics.jsonl")).lines().filter(l -> l.contains("\"stage\":\"rft\"")).count(), "no iteration logged twice");
    }

    @Test
    void rftWithBstarLogsTheChosenConfigurationAndRefusesBadInput() throws Exception {
        Path out = dir.resolve("bstar");
        CliTest.Result r = CliTest.run("rft", "--init", "nano", "--task", "chain", "--iterations", "1", "--samples", "2", "--prompts-per-iteration", "8",
                "--steps", "1", "--batch-size", "4", "--eval-prompts", "4", "--bstar", "--bstar-temperatures", "0.7,1.3", "--bstar-thresholds", "0,1",
                "--bstar-prompts", "4", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode row = Json.MAPPER.readTree(Files.readString(out.resolve("metrics.jsonl")).lines().filter(l -> l.contains("\"stage\":\"rft\"")).findFirst().orElseThrow());
        assertTrue(row.has("balance_score"), row.toString());
        assertTrue(List.of(0.7, 1.3).contains(row.get("temperature").asDouble()), row.toString());

        r = CliTest.run("rft", "--init", "nano", "--task", "nope", "--output", dir.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--task nope"), r.err());
        Path prompts = dir.resolve("p.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"1+2=\", \"answer\": \"3\"}\n");
        r = CliTest.run("rft", "--init", "nano", "--data", prompts.toString(), "--bstar", "--output", dir.resolve("y").toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.err().contains("--bstar needs --task"), r.err());
    }
}
