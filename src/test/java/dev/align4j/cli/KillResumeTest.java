package dev.align4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A training process killed with SIGKILL at an arbitrary moment and resumed with --resume ends with the same
 * weights, bit for bit, as an uninterrupted run (--deterministic), and with the same metrics.jsonl: the rows the
 * killed run logged after its last checkpoint are dropped, not duplicated. One test per trainer family:
 * supervised (sft), offline preference (dpo, with precomputed reference log-probs) and online RL (grpo, whose
 * rollouts sample from the policy; ppo, whose checkpoint also holds the critic, its optimizer and the adaptive β).
 */
class KillResumeTest {
    @TempDir Path dir;

    static final Map<String, List<String>> COMMANDS = Map.of(
            "sft", List.of("sft", "--init", "nano", "--task", "sort", "--examples", "256", "--eval-prompts", "4", "--steps", "40",
                    "--batch-size", "8", "--save-every", "5"),
            "dpo", List.of("dpo", "--init", "nano", "--task", "sort", "--pairs", "128", "--eval-prompts", "4", "--steps", "40",
                    "--batch-size", "4", "--save-every", "5", "--loss", "sigmoid,bco_pair"),
            "grpo", List.of("grpo", "--init", "nano", "--task", "sort", "--prompts-per-step", "4", "--group-size", "4", "--max-new-tokens", "8",
                    "--eval-prompts", "4", "--steps", "24", "--save-every", "3", "--updates-per-rollout", "2"),
            "ppo", List.of("ppo", "--init", "nano", "--task", "sort", "--prompts-per-step", "4", "--samples-per-prompt", "2", "--max-new-tokens", "8",
                    "--eval-prompts", "4", "--steps", "24", "--save-every", "3", "--kl-target", "0.5"));

    static Process start(String trainer, Path out, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.align4j.cli.Main"));
        cmd.addAll(COMMANDS.get(trainer));
        cmd.addAll(List.of("--keep", "2", "--deterministic", "--output", out.toString()));
        cmd.addAll(List.of(extra));
        Files.createDirectories(out);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log(out).toFile()).start();
    }

    static Path log(Path out) { return out.resolveSibling(out.getFileName() + ".log"); }

    /** metrics.jsonl without its timing fields (wall time and throughput differ between any two runs). */
    static List<ObjectNode> metrics(Path out) throws Exception {
        List<ObjectNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            ObjectNode o = (ObjectNode) Json.MAPPER.readTree(line);
            o.remove(List.of("time_s", "tokens_per_s"));
            rows.add(o);
        }
        return rows;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sft", "dpo", "grpo", "ppo"})
    void sigkillThenResumeEqualsAnUninterruptedRun(String trainer) throws Exception {
        Path a = dir.resolve("uninterrupted"), b = dir.resolve("killed");
        assertEquals(0, start(trainer, a).waitFor(), () -> read(log(a)));
        byte[] want = Files.readAllBytes(a.resolve("final/model.safetensors"));

        // kill at a moment that is not a step boundary: a few ms after the middle checkpoint appears
        int killAfter = trainer.equals("grpo") || trainer.equals("ppo") ? 9 : 15;
        Process p = start(trainer, b);
        long deadline = System.currentTimeMillis() + 180_000;
        while (!Files.exists(b.resolve("checkpoint-" + killAfter)) && p.isAlive() && System.currentTimeMillis() < deadline) Thread.sleep(2);
        Thread.sleep(30);
        assertTrue(p.isAlive(), "the run finished before it could be killed; see " + log(b));
        p.destroyForcibly().waitFor();                     // SIGKILL: no shutdown hooks, no cleanup
        assertFalse(Files.exists(b.resolve("final")), "killed before the end");
        // no half-written checkpoint is ever visible: every checkpoint-N directory is complete
        try (var s = Files.list(b)) {
            for (Path c : s.filter(x -> x.getFileName().toString().startsWith("checkpoint-")).toList())
                assertTrue(Files.exists(c.resolve("trainer_state.json")) && Files.exists(c.resolve("model.safetensors"))
                        && Files.exists(c.resolve("optimizer.safetensors")) && Files.exists(c.resolve("metrics.jsonl")), c + " is incomplete");
        }
        assertEquals(0, start(trainer, b, "--resume").waitFor(), () -> read(log(b)));
        assertTrue(read(log(b)).contains("resumed from"));
        assertArrayEquals(want, Files.readAllBytes(b.resolve("final/model.safetensors")), trainer + ": resumed weights differ from the uninterrupted run");
        if (trainer.equals("ppo")) // the critic and the adaptive β went through the kill too
            assertArrayEquals(Files.readAllBytes(a.resolve("checkpoint-24/critic/model.safetensors")),
                    Files.readAllBytes(b.resolve("checkpoint-24/critic/model.safetensors")), "ppo: resumed critic differs");
        assertEquals(metrics(a), metrics(b), trainer + ": metrics.jsonl differs (a step logged twice or missing?)");
    }

    static String read(Path p) {
        try { return Files.readString(p); } catch (Exception e) { return e.toString(); }
    }
}
