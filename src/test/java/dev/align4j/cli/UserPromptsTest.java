package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.align4j.core.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Online RL on a user's prompt file with rewards from outside the JVM: a reward process and an HTTP endpoint raise the
 * reward of a nano model; a broken process, a garbage answer, a dead or slow endpoint each stop the run with one line
 * (exit 2) that names the command or URL and the last checkpoint.
 */
class UserPromptsTest {
    @TempDir Path dir;

    /** Prompt-only rows with an extra column the reward reads: the completion should be made of that letter. */
    Path prompts() throws Exception {
        Path p = dir.resolve("prompts.jsonl");
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 20; i++) rows.add("{\"prompt\": \"go " + (char) ('b' + i) + ":\", \"letter\": \"a\"}");
        Files.write(p, rows);
        return p;
    }

    static String[] grpo(Path data, Path out, String... reward) { return grpo(data, out, 25, reward); }

    static String[] grpo(Path data, Path out, int steps, String... reward) {
        List<String> a = new ArrayList<>(List.of("grpo", "--init", "nano", "--data", data.toString(), "--steps", String.valueOf(steps), "--prompts-per-step", "4",
                "--group-size", "8", "--max-new-tokens", "4", "--lr", "2e-2", "--warmup-steps", "0", "--updates-per-rollout", "2",
                "--output", out.toString()));
        a.addAll(List.of(reward));
        return a.toArray(new String[0]);
    }

    static String processCommand(String mode) {
        return "'" + Path.of(System.getProperty("java.home"), "bin", "java") + "' -cp '" + System.getProperty("java.class.path") + "' dev.align4j.reward.CountAProcess " + mode;
    }

    static double[] earlyLate(Path out) throws Exception {
        List<Double> r = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode n = Json.MAPPER.readTree(line);
            if (n.get("stage").asText().equals("grpo")) r.add(n.get("reward").asDouble());
        }
        double early = (r.get(0) + r.get(1) + r.get(2)) / 3, late = (r.get(r.size() - 1) + r.get(r.size() - 2) + r.get(r.size() - 3)) / 3;
        return new double[]{early, late};
    }

    @Test
    void aRewardProcessRaisesTheRewardOnAUserPromptFile() throws Exception {
        Path out = dir.resolve("cmd");
        CliTest.Result r = CliTest.run(grpo(prompts(), out, "--reward", "cmd", "--reward-command", processCommand("ok")));
        assertEquals(0, r.code(), r.err());
        double[] el = earlyLate(out);
        assertTrue(el[1] > el[0] + 0.2, "reward rose from " + el[0] + " to " + el[1]);
    }

    @Test
    void anHttpEndpointRaisesTheReward() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/reward", ex -> {
            JsonNode req = Json.MAPPER.readTree(ex.getRequestBody());
            StringBuilder b = new StringBuilder("{\"rewards\": [");
            for (int i = 0; i < req.get("completions").size(); i++)
                b.append(i > 0 ? "," : "").append(dev.align4j.reward.CountAProcess.share(req.get("completions").get(i).asText(), 'a'));
            byte[] body = b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try {
            Path out = dir.resolve("http");
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/reward";
            CliTest.Result r = CliTest.run(grpo(prompts(), out, "--reward", "http", "--reward-url", url));
            assertEquals(0, r.code(), r.err());
            double[] el = earlyLate(out);
            assertTrue(el[1] > el[0] + 0.2, "reward rose from " + el[0] + " to " + el[1]);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void brokenRewardsStopTheRunWithOneLine() throws Exception {
        Path data = prompts();
        String[][] cases = {
                {"exit", "exited with code 3", "cannot load my model"},
                {"garbage", "not JSON", "hello"},
                {"short", "31 rewards for 32 completions", "rewards"}};
        for (String[] c : cases) {
            CliTest.Result r = CliTest.run(grpo(data, dir.resolve(c[0]), 2, "--reward", "cmd", "--reward-command", processCommand(c[0])));
            assertEquals(2, r.code(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[1]) && r.err().contains(c[2]) && r.err().contains("after one retry") && r.err().contains("last checkpoint"),
                    c[0] + ": " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
        CliTest.Result slow = CliTest.run(grpo(data, dir.resolve("sleep"), 2, "--reward", "cmd", "--reward-timeout", "1",
                "--reward-command", processCommand("sleep")));
        assertEquals(2, slow.code(), slow.err());
        assertTrue(slow.err().contains("did not answer within 1 s"), slow.err());
        CliTest.Result down = CliTest.run(grpo(data, dir.resolve("down"), 2, "--reward", "http", "--reward-url", "http://127.0.0.1:9/reward"));
        assertEquals(2, down.code(), down.err());
        assertTrue(down.err().contains("cannot be reached") && down.err().contains("127.0.0.1:9"), down.err());
    }

    @Test
    void promptFilesHaveNoGoldRewardAndNeedOneSource() throws Exception {
        CliTest.Result r = CliTest.run("grpo", "--init", "nano", "--data", prompts().toString(), "--reward", "gold", "--output", dir.resolve("g").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--reward gold needs --task"), r.err());
        r = CliTest.run("grpo", "--init", "nano", "--output", dir.resolve("n").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("exactly one of --task NAME or --data FILE"), r.err());
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"question\": \"2+2\"}\n");
        r = CliTest.run("grpo", "--init", "nano", "--data", bad.toString(), "--output", dir.resolve("b").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("bad.jsonl") && r.err().contains(":1") && r.err().contains("prompt-only row"), r.err());
    }

    @Test
    void aRunStoppedByARewardFaultResumesWithNothingLost() throws Exception {
        Path data = prompts(), a = dir.resolve("whole"), b = dir.resolve("faulty"), marker = dir.resolve("fault-on");
        // uninterrupted
        List<String> args = new ArrayList<>(List.of(grpo(data, a, 6, "--reward", "cmd", "--reward-command", processCommand("ok"))));
        args.addAll(List.of("--save-every", "2"));
        assertEquals(0, CliTest.run(args.toArray(new String[0])).code());
        // the reward process dies from its 5th request on (step 5 and its retry): the run stops after checkpoint-4
        Files.writeString(marker, "");
        String faulty = processCommand("failfrom 5 '" + dir.resolve("count") + "' '" + marker + "'");
        List<String> first = new ArrayList<>(List.of(grpo(data, b, 6, "--reward", "cmd", "--reward-command", faulty)));
        first.addAll(List.of("--save-every", "2"));
        CliTest.Result r = CliTest.run(first.toArray(new String[0]));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("step 5") && r.err().contains("lost my GPU") && r.err().contains("checkpoint-4"), r.err());
        // the fault is fixed; --resume continues from checkpoint-4 and ends where the uninterrupted run ended
        Files.delete(marker);
        List<String> second = new ArrayList<>(first);
        second.add("--resume");
        assertEquals(0, CliTest.run(second.toArray(new String[0])).code());
        Map<String, float[]> want = weights(a.resolve("final/model.safetensors")), got = weights(b.resolve("final/model.safetensors"));
        assertEquals(want.keySet(), got.keySet());
        want.forEach((k, v) -> assertArrayEquals(v, got.get(k), 1e-6f, k + ": the resumed run ends where the uninterrupted one did"));
    }

    static Map<String, float[]> weights(Path file) {
        Map<String, float[]> w = new java.util.LinkedHashMap<>();
        dev.align4j.model.Safetensors.read(file, org.bytedeco.pytorch.global.torch.ScalarType.Float,
                (k, t) -> { w.put(k, dev.align4j.core.Torch.toFloats(t)); t.close(); });
        return w;
    }
}
