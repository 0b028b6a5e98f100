package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.data.SftExample;
import dev.align4j.task.Task;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Sft;
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

/** ./align4j mcts through the real CLI on a tiny random model: step pairs on disk that dpo reads back, the outcome baseline, user errors. */
class MctsCliTest {
    @TempDir Path dir;

    @Test
    void mctsWritesStepPairsMetricsAndAModelAndTheBaselineMatchesItsBudget() throws Exception {
        Path m = dir.resolve("m"), out = dir.resolve("mcts"), base = dir.resolve("outcome");
        try (PointerScope s = new PointerScope(); LlamaModel model = ModelTestAccess.random(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 1)) {
            // a few SFT steps on chain demonstrations: the model writes digits and ; (steps), not yet correct ones
            Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
            Task chain = Task.byName("chain");
            java.util.Random rng = new java.util.Random(0);
            List<SftExample> demos = new java.util.ArrayList<>();
            for (Task.Example e : chain.examples(Task.Split.TRAIN, 256, 0)) demos.add(new SftExample(e.prompt(), chain.demonstrate(e, 0, rng)));
            Sft.train(model, demos, Configs.with(Sft.Config.DEFAULTS, "steps", 30, "lr", 1e-2, "warmupSteps", 0, "batchSize", 32, "maxLength", 48), Session.inMemory(tok));
            HfModel.save(m, model, tok);
        }
        // partial credit against the final answer: the steps differ in value, so pairs exist
        CliTest.Result r = CliTest.run("mcts", "--model", m.toString(), "--task", "chain", "--reward", "partial", "--rounds", "1", "--prompts-per-round", "6",
                "--simulations", "2", "--children", "3", "--max-step-tokens", "4", "--max-new-tokens", "16", "--min-gap", "0.05", "--rollouts", "1",
                "--steps", "2", "--batch-size", "4", "--eval-prompts", "4", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        List<String> rows = Files.readAllLines(out.resolve("round-1/pairs.jsonl"));
        assertFalse(rows.isEmpty(), r.err());
        JsonNode row = Json.MAPPER.readTree(rows.get(0));
        for (String col : List.of("prompt", "chosen", "rejected", "chosen_final", "rejected_final", "chosen_q", "rejected_q", "prefix_value", "chosen_advantage"))
            assertTrue(row.has(col), col + " in " + rows.get(0));
        JsonNode metrics = null;
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) if (line.contains("\"stage\":\"mcts\"")) metrics = Json.MAPPER.readTree(line);
        assertNotNull(metrics);
        assertEquals(rows.size(), metrics.get("pairs").asInt());
        long tokens = metrics.get("sampled_tokens").asLong();
        assertTrue(tokens > 0 && metrics.has("mean_q_gap") && metrics.has("tree_nodes") && metrics.has("dpo_loss"), metrics.toString());
        assertTrue(Files.exists(out.resolve("final/model.safetensors")) && Files.exists(out.resolve("checkpoint-1")) && Files.exists(out.resolve("dpo-1/metrics.jsonl")));
        assertTrue(Files.readString(out.resolve("metrics.jsonl")).contains("\"stage\":\"eval/mcts\""));

        // the baseline at the search's token budget
        r = CliTest.run("mcts", "--model", m.toString(), "--task", "chain", "--reward", "partial", "--rounds", "1", "--prompts-per-round", "6",
                "--mode", "outcome", "--token-budget", String.valueOf(tokens), "--max-new-tokens", "16", "--steps", "2", "--batch-size", "4",
                "--eval-prompts", "4", "--output", base.toString());
        assertEquals(0, r.code(), r.err());
        String baseMetrics = Files.readAllLines(base.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"stage\":\"mcts\"")).findFirst().orElseThrow();
        long spent = Json.MAPPER.readTree(baseMetrics).get("sampled_tokens").asLong();
        assertTrue(spent >= tokens && spent < tokens + 6 * 16, "the baseline spent " + spent + " of a budget of " + tokens);

        // dpo reads the step pairs back: Step-APO through its advantages
        r = CliTest.run("dpo", "--model", m.toString(), "--data", out.resolve("round-1/pairs.jsonl").toString(), "--loss", "step_apo", "--steps", "1",
                "--batch-size", "2", "--output", dir.resolve("dpo").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("step pairs (EOS only after a final step)"), r.err());

        // node values mixed with a process reward model's score (a nano PRM from exported gold step labels)
        Path steps = dir.resolve("steps.jsonl"), prm = dir.resolve("prm");
        assertEquals(0, CliTest.run("export", "--task", "chain", "--format", "stepwise", "--n", "16", "--output", steps.toString()).code());
        assertEquals(0, CliTest.run("prm", "--init", "nano", "--data", steps.toString(), "--step-separator", ";", "--steps", "2", "--batch-size", "8",
                "--output", prm.toString()).code());
        r = CliTest.run("mcts", "--model", m.toString(), "--task", "chain", "--reward", "partial", "--rounds", "1", "--prompts-per-round", "4",
                "--simulations", "2", "--children", "3", "--max-step-tokens", "4", "--max-new-tokens", "16", "--min-gap", "0.01", "--rollouts", "1",
                "--prm", prm.resolve("final").toString(), "--prm-weight", "0.5", "--steps", "1", "--batch-size", "4", "--eval-prompts", "2",
                "--output", dir.resolve("mcts-prm").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(dir.resolve("mcts-prm/round-1/pairs.jsonl")));

        // user errors: one line, exit 2
        r = CliTest.run("mcts", "--model", m.toString(), "--task", "chain", "--mode", "outcome", "--output", dir.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--mode outcome needs --token-budget") && !r.err().contains("\tat "), r.err());
        r = CliTest.run("mcts", "--model", m.toString(), "--task", "chain", "--prm-weight", "0.5", "--output", dir.resolve("y").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--prm"), r.err());
    }
}
