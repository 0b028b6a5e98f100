package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.eval.Revisions;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelTestAccess;
import dev.align4j.model.TestModels;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** generate --revise (with and without a critic) and score through the real CLI on tiny random models; the Δ metrics on a hand-made case; user errors. */
class SelfCorrectionCliTest {
    @TempDir Path dir;

    Path model() {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTestAccess.random(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 1)) {
            Path out = dir.resolve("m");
            HfModel.save(out, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            return out;
        }
    }

    @Test
    void deltasOnAHandMadeCase() {
        // four prompts, attempts 1 → 2: right → right, wrong → right, right → wrong, wrong → wrong
        List<Task.Example> ex = List.of(new Task.Example("1+1=", "2"), new Task.Example("2+2=", "4"), new Task.Example("3+3=", "6"), new Task.Example("4+4=", "8"));
        boolean[][] correct = {{true, true}, {false, true}, {true, false}, {false, false}};
        double[][] reward = {{1, 1}, {0, 1}, {1, 0}, {0, 0}};
        String[][] attempts = {{"2", "2"}, {"5", "4"}, {"6", "7"}, {"9", "9"}};
        Revisions.Result r = new Revisions.Result(ex, attempts, correct, reward, null);
        Map<String, Double> m = r.metrics();
        // accuracy at attempt 1: 2/4; at attempt 2: 2/4; Δ(i→c) = 1/4 (prompt 2), Δ(c→i) = 1/4 (prompt 3), Δ = 1/4 − 1/4 = 0
        assertEquals(0.5, m.get("accuracy/t1"), 1e-12);
        assertEquals(0.5, m.get("accuracy/t2"), 1e-12);
        assertEquals(0.25, m.get("delta/i_to_c"), 1e-12);
        assertEquals(0.25, m.get("delta/c_to_i"), 1e-12);
        assertEquals(0.0, m.get("delta/t1_t2"), 1e-12);
        assertEquals(0.5, m.get("accuracy"), 1e-12);
        // three attempts: the Δs compare the first with the last; a prompt fixed at attempt 2 and broken again at 3 is no transition
        Revisions.Result three = new Revisions.Result(ex.subList(0, 2), new String[][]{{"2", "3", "2"}, {"5", "4", "5"}},
                new boolean[][]{{true, false, true}, {false, true, false}}, new double[][]{{1, 0, 1}, {0, 1, 0}}, null);
        assertEquals(0.0, three.incorrectToCorrect(), 1e-12);
        assertEquals(0.0, three.correctToIncorrect(), 1e-12);
        assertEquals(0.5, three.accuracy(2), 1e-12);
        assertTrue(three.metrics().containsKey("delta/t1_t3"));
    }

    @Test
    void generateReviseReportsEveryAttemptAndTheDeltas() throws Exception {
        Path m = model();
        CliTest.Result r = CliTest.run("generate", "--model", m.toString(), "--task", "arithmetic", "--prompts", "6", "--revise", "2", "--temperature", "0", "--max-new-tokens", "2", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(6, o.get("prompts").asInt());
        for (String k : List.of("accuracy/t1", "accuracy/t2", "accuracy/t3", "delta/i_to_c", "delta/c_to_i", "delta/t1_t3")) assertTrue(o.has(k), k + " in " + o);
        assertEquals(o.get("accuracy/t3").asDouble() - o.get("accuracy/t1").asDouble(), o.get("delta/i_to_c").asDouble() - o.get("delta/c_to_i").asDouble(), 1e-12);
        // a critic model writes the feedback; the table form prints each attempt's accuracy
        r = CliTest.run("generate", "--model", m.toString(), "--task", "arithmetic", "--prompts", "4", "--revise", "1", "--critic", m.toString(), "--max-new-tokens", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("accuracy/t1") && r.out().contains("accuracy/t2") && r.out().contains("with critic"), r.out());
    }

    @Test
    void scoreTrainsWithAWarmUpAndLogsTheSelfCorrectionMetrics() throws Exception {
        Path m = model(), out = dir.resolve("score");
        CliTest.Result r = CliTest.run("score", "--model", m.toString(), "--task", "arithmetic", "--steps", "2", "--stage-one-steps", "1", "--prompts-per-step", "2",
                "--samples-per-prompt", "2", "--max-new-tokens", "4", "--sft-steps", "2", "--sft-examples", "8", "--sft-batch-size", "4", "--eval-prompts", "4",
                "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isDirectory(out.resolve("final")) && Files.isDirectory(out.resolve("warmup")), "final/ and warmup/");
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        for (String k : List.of("accuracy/t1", "accuracy/t2", "delta/i_to_c", "delta/c_to_i", "kl/t1", "eval/score-warmup")) assertTrue(metrics.contains(k), k);
        assertEquals(2, Json.read(out.resolve("score_config.json")).get("steps").asInt());
        // a resumed run reloads the warm-up model (the RL reference) instead of training it again
        r = CliTest.run("score", "--model", m.toString(), "--task", "arithmetic", "--steps", "3", "--stage-one-steps", "1", "--prompts-per-step", "2",
                "--samples-per-prompt", "2", "--max-new-tokens", "4", "--sft-steps", "2", "--sft-examples", "8", "--sft-batch-size", "4", "--eval-prompts", "4",
                "--output", out.toString(), "--resume");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("the warmed-up model is " + out.resolve("warmup")) && !r.err().contains("warm-up SFT,"), r.err());
    }

    @Test
    void criticTrainsWithBothWarmUpsAndResumes() throws Exception {
        Path m = model(), out = dir.resolve("critic");
        String[] args = {"critic", "--model", m.toString(), "--generator", m.toString(), "--task", "sort", "--steps", "2", "--prompts-per-step", "2",
                "--samples-per-prompt", "2", "--max-new-tokens", "4", "--answer-tokens", "4", "--generator-sft-steps", "2", "--generator-sft-examples", "8",
                "--sft-steps", "2", "--sft-examples", "8", "--sft-batch-size", "4", "--eval-prompts", "4", "--output", out.toString()};
        CliTest.Result r = CliTest.run(args);
        assertEquals(0, r.code(), r.err());
        for (String d : List.of("final", "warmup", "generator")) assertTrue(Files.isDirectory(out.resolve(d)), d + "/");
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        for (String k : List.of("accuracy/t1", "accuracy/t2", "delta/i_to_c", "delta/c_to_i", "critic/verdict_accuracy", "critique_length", "eval/critic-warmup"))
            assertTrue(metrics.contains(k), k);
        // the critic it wrote serves generate --revise --critic with the warmed-up generator
        r = CliTest.run("generate", "--model", out.resolve("generator").toString(), "--task", "sort", "--prompts", "3", "--revise", "1",
                "--critic", out.resolve("final").toString(), "--max-new-tokens", "4", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(Json.MAPPER.readTree(r.out()).has("accuracy/t2"), r.out());
        // a resumed run reloads both warm-ups instead of training them again
        String[] more = args.clone();
        more[java.util.Arrays.asList(more).indexOf("--steps") + 1] = "3";
        List<String> resumed = new java.util.ArrayList<>(List.of(more));
        resumed.add("--resume");
        r = CliTest.run(resumed.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("the warmed-up model is " + out.resolve("generator")) && r.err().contains("the warmed-up model is " + out.resolve("warmup"))
                && !r.err().contains("warm-up, "), r.err());
    }

    @Test
    void userErrors() {
        Path m = model();
        String[][] bad = {
                {"score", "--model", m.toString(), "--output", dir.resolve("a").toString()},
                {"score", "--model", m.toString(), "--task", "arithmetic", "--steps", "2", "--stage-one-steps", "3", "--output", dir.resolve("b").toString()},
                {"score", "--model", m.toString(), "--task", "arithmetic", "--samples-per-prompt", "1", "--output", dir.resolve("c").toString()},
                {"score", "--model", m.toString(), "--task", "arithmetic", "--alpha", "-1", "--output", dir.resolve("d").toString()},
                {"generate", "--model", m.toString(), "--prompt", "1+1=", "--revise", "1"},
                {"generate", "--model", m.toString(), "--task", "arithmetic", "--critic", m.toString()},
                {"generate", "--model", m.toString(), "--task", "arithmetic", "--revise", "1", "--beam", "2"},
                {"generate", "--model", m.toString(), "--task", "arithmetic", "--revise", "1", "--critic", dir.resolve("nope").toString()},
                {"generate", "--model", m.toString(), "--task", "arithmetic", "--revise", "-1"},
                {"critic", "--model", m.toString(), "--generator", m.toString(), "--output", dir.resolve("e").toString()},
                {"critic", "--model", m.toString(), "--generator", dir.resolve("nope").toString(), "--task", "sort", "--output", dir.resolve("f").toString()},
                {"critic", "--model", m.toString(), "--generator", m.toString(), "--task", "sort", "--samples-per-prompt", "1", "--output", dir.resolve("g").toString()},
                {"critic", "--model", m.toString(), "--generator", m.toString(), "--task", "sort", "--attempt-temperature", "0", "--output", dir.resolve("h").toString()}};
        String[] says = {"--task", "stage-one-steps", "samples-per-prompt", "alpha", "--revise needs --task", "--critic", "--revise decodes", "nope", "--revise",
                "--task", "nope", "critiques per attempt", "attempt-temperature"};
        for (int i = 0; i < bad.length; i++) {
            CliTest.Result r = CliTest.run(bad[i]);
            assertEquals(2, r.code(), String.join(" ", bad[i]) + ": " + r.err());
            assertTrue(r.err().contains(says[i]) && !r.err().contains("\tat "), String.join(" ", bad[i]) + ": " + r.err());
        }
    }
}
