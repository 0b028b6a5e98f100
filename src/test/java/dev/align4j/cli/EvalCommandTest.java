package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code align4j eval}: models and seed groups side by side, eval.json and eval.html, user errors as one line. */
class EvalCommandTest {
    @TempDir Path dir;

    Path save(Path out, long seed) {
        try (PointerScope s = new PointerScope(); LlamaModel m = LlamaModel.init(ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB,
                Tokenizer.BUILTIN_BOS, new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD), seed, ScalarType.Float)) {
            HfModel.save(out, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            return out;
        }
    }

    @Test
    void comparesASeedGroupAndAModelAgainstAReference() throws Exception {
        Path m1 = save(dir.resolve("s1"), 1), run2 = dir.resolve("run2"), m3 = save(dir.resolve("m3"), 3), out = dir.resolve("out");
        save(run2.resolve("final"), 2);                                                    // a run's output folder: its final/ is evaluated
        CliTest.Result r = CliTest.run("eval", "--task", "arithmetic", "--model", "a=" + m1 + "," + run2, "--model", m3.toString(),
                "--reference", m3.toString(), "--prompts", "8", "--samples", "2", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        String[] blocks = r.out().strip().split("\n\n");
        assertEquals(3, blocks[0].split("\n").length, "a header and one row per model: " + r.out());
        assertTrue(blocks.length == 2 && blocks[1].startsWith("head to head under the gold reward"), r.out());
        assertTrue(r.out().startsWith("model"), r.out());

        JsonNode j = Json.read(out.resolve("eval.json"));
        assertEquals("arithmetic", j.get("settings").get("task").asText());
        assertEquals(2, j.get("settings").get("samples").asInt());
        assertEquals("gold", j.get("settings").get("judge").asText());
        JsonNode a = j.get("models").get(0), self = j.get("models").get(1);
        assertEquals("a", a.get("label").asText());
        assertEquals(2, a.get("runs").size());
        assertEquals(run2.resolve("final").toString(), a.get("runs").get(1).get("dir").asText());
        assertEquals("m3", self.get("label").asText());
        for (JsonNode g : j.get("models"))
            for (JsonNode run : g.get("runs")) {
                JsonNode m = run.get("metrics");
                for (String k : new String[]{"gold_reward", "accuracy", "pass@1", "pass@2", "maj@2", "win_rate"})
                    assertTrue(m.get(k).asDouble() >= 0 && m.get(k).asDouble() <= 1, k + " in [0, 1]: " + m);
                assertTrue(m.get("pass@1").asDouble() <= m.get("pass@2").asDouble() + 1e-12, "pass@1 <= pass@2: " + m);
                assertTrue(m.get("distinct@2").asDouble() >= 1 && m.get("distinct@2").asDouble() <= 2, "1 to 2 distinct texts among 2 samples: " + m);
                assertTrue(m.get("kl").asDouble() >= 0, m.toString());
                assertTrue(m.get("completion_length").asDouble() >= 1, m.toString());
            }
        JsonNode selfRun = self.get("runs").get(0).get("metrics");
        assertEquals(0.0, selfRun.get("kl").asDouble(), 1e-6, "KL of a model against itself");
        assertEquals(0.5, selfRun.get("win_rate").asDouble(), 1e-12, "identical greedy completions tie everywhere");
        assertTrue(a.get("runs").get(0).get("metrics").get("kl").asDouble() > 0, "another model's KL is positive");
        // the aggregate over the group's two seeds (kl differs by seed): the IQM of two values is their mean, the CI inside [min, max]
        JsonNode kl = a.get("aggregate").get("kl");
        double s0 = a.get("runs").get(0).get("metrics").get("kl").asDouble(), s1 = a.get("runs").get(1).get("metrics").get("kl").asDouble();
        assertNotEquals(s0, s1);
        assertEquals((s0 + s1) / 2, kl.get("iqm").asDouble(), 1e-12);
        assertEquals(Math.min(s0, s1), kl.get("min").asDouble(), 1e-12);
        assertEquals(Math.max(s0, s1), kl.get("max").asDouble(), 1e-12);
        assertTrue(kl.get("ci_low").asDouble() >= kl.get("min").asDouble() && kl.get("ci_high").asDouble() <= kl.get("max").asDouble(), kl.toString());
        // head to head: m3 is also the reference, so W(a's seed i ≻ m3) must equal that seed's win_rate against the reference
        JsonNode h = j.get("head_to_head");
        assertEquals(1, h.size(), h.toString());
        assertEquals("a", h.get(0).get("a").asText());
        assertEquals("m3", h.get(0).get("b").asText());
        assertEquals("gold reward", h.get(0).get("judge").asText());
        for (int i = 0; i < 2; i++)
            assertEquals(a.get("runs").get(i).get("metrics").get("win_rate").asDouble(), h.get(0).get("runs").get(i).asDouble(), 1e-12, h.toString());
        String html = Files.readString(out.resolve("eval.html"));
        assertTrue(html.contains("<img src=\"eval.png\"") && html.contains("win_rate") && html.contains("Head to head"), html);
        assertTrue(Files.size(out.resolve("eval.png")) > 1000);
    }

    @Test
    void onCycleEachModelHasItsExploitabilityAndPairsMeetExactlyUnderTheGoldPreference() throws Exception {
        Path m1 = save(dir.resolve("m1"), 1), m2 = save(dir.resolve("m2"), 2), out = dir.resolve("out");
        CliTest.Result r = CliTest.run("eval", "--task", "cycle", "--model", "x=" + m1, "--model", "y=" + m2, "--model", "z=" + m1,
                "--prompts", "6", "--samples", "4", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.read(out.resolve("eval.json"));
        for (JsonNode g : j.get("models")) {
            double e = g.get("runs").get(0).get("metrics").get("exploitability").asDouble();
            assertTrue(e >= 0 && e < 0.5, "exploitability in [0, ½): " + e);
        }
        JsonNode h = j.get("head_to_head");
        assertEquals(3, h.size(), "x-y, x-z, y-z: " + h);
        for (JsonNode p : h) assertEquals("gold preference", p.get("judge").asText());
        // x and z are the same model sampled with the same seed: identical class distributions p, and pᵀMp = ½ because
        // M_ij + M_ji = 1 with ½ on the diagonal
        assertEquals(0.5, h.get(1).get("win_rate").asDouble(), 1e-12, h.toString());
        // y meets x and z, which behave identically: W(x ≻ y) = 1 − W(y ≻ z)
        assertEquals(h.get(0).get("win_rate").asDouble(), 1 - h.get(2).get("win_rate").asDouble(), 1e-12, h.toString());
        assertTrue(r.out().contains("W(row > column)"), r.out());
    }

    @Test
    void evaluatesAPromptFileByItsRewardFunctions() throws Exception {
        Path m = save(dir.resolve("m"), 1), prompts = dir.resolve("p.jsonl"), out = dir.resolve("out");
        Files.writeString(prompts, "{\"prompt\": \"12+3=\", \"answer\": \"15\"}\n{\"prompt\": \"7+8=\", \"answer\": \"15\"}\n{\"prompt\": \"9+9=\", \"answer\": \"18\"}\n");
        CliTest.Result r = CliTest.run("eval", "--data", prompts.toString(), "--reward", "answer,partial", "--model", m.toString(), "--reference", m.toString(),
                "--max-new-tokens", "6", "--json", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode run = Json.MAPPER.readTree(r.out()).get("models").get(0).get("runs").get(0).get("metrics");
        assertEquals(Json.read(out.resolve("eval.json")).get("models"), Json.MAPPER.readTree(r.out()).get("models"), "--json prints eval.json's object");
        assertTrue(run.has("reward") && run.has("reward/answer") && run.has("reward/partial"), run.toString());
        assertFalse(run.has("accuracy") || run.has("pass@1"), "no gold reward without a task: " + run);
        assertEquals(0.5, run.get("win_rate").asDouble(), 1e-12);
        assertEquals(0.0, run.get("kl").asDouble(), 1e-6);
    }

    @Test
    void aMissingModelDirectoryIsOneLineNamingIt() {
        Path m = save(dir.resolve("m"), 1), missing = dir.resolve("no-such-run");
        CliTest.Result r = CliTest.run("eval", "--task", "arithmetic", "--model", "a=" + m + "," + missing, "--output", dir.resolve("o").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertFalse(Files.exists(dir.resolve("o").resolve("eval.json")), "nothing evaluated");

        r = CliTest.run("eval", "--model", m.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--task") && r.err().contains("--data"), r.err());

        r = CliTest.run("eval", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Example: ./align4j eval") && r.out().contains("(default: 200)") && r.out().contains("(default: 8)"), r.out());
        assertFalse(r.err().contains("WARN"), "the help text formats cleanly: " + r.err());
    }
}
