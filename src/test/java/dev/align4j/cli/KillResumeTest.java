package dev.align4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A training process killed with SIGKILL at an arbitrary moment and resumed with --resume ends with the same
 * weights, bit for bit, as an uninterrupted run (one intra-op thread, so reductions are deterministic).
 */
class KillResumeTest {
    @TempDir Path dir;

    static Process start(Path out, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.align4j.cli.Main", "sft", "--init", "nano", "--task", "sort",
                "--examples", "256", "--eval-prompts", "4", "--steps", "40", "--batch-size", "8", "--save-every", "5", "--keep", "2",
                "--output", out.toString()));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile());
        pb.environment().put("ALIGN4J_THREADS", "1");
        Files.createDirectories(out);
        return pb.start();
    }

    @Test
    void sigkillThenResumeEqualsAnUninterruptedRun() throws Exception {
        Path a = dir.resolve("uninterrupted"), b = dir.resolve("killed");
        assertEquals(0, start(a).waitFor());
        byte[] want = Files.readAllBytes(a.resolve("final/model.safetensors"));

        Process p = start(b);
        long deadline = System.currentTimeMillis() + 120_000;
        while (!Files.exists(b.resolve("checkpoint-15")) && p.isAlive() && System.currentTimeMillis() < deadline) Thread.sleep(5);
        assertTrue(p.isAlive(), "the run finished before it could be killed; see " + b + ".log");
        p.destroyForcibly().waitFor();                     // SIGKILL: no shutdown hooks, no cleanup
        assertFalse(Files.exists(b.resolve("final")), "killed before the end");
        // no half-written checkpoint is ever visible: every checkpoint-N directory is complete
        try (var s = Files.list(b)) {
            for (Path c : s.filter(x -> x.getFileName().toString().startsWith("checkpoint-")).toList())
                assertTrue(Files.exists(c.resolve("trainer_state.json")) && Files.exists(c.resolve("model.safetensors"))
                        && Files.exists(c.resolve("optimizer.safetensors")), c + " is incomplete");
        }
        assertEquals(0, start(b, "--resume").waitFor(), Files.readString(b.resolveSibling("killed.log")));
        assertTrue(Files.readString(b.resolveSibling("killed.log")).contains("resumed from"));
        assertArrayEquals(want, Files.readAllBytes(b.resolve("final/model.safetensors")), "resumed weights differ from the uninterrupted run");
    }
}
