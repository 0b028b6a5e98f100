package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.cli.CliTestAccess;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.train.offline.Sft;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A real full disk: a small tmpfs is mounted (the test needs root, as on the CI machines; elsewhere it is
 * skipped with the reason). Too little space is reported before training; a disk that fills up mid-run fails
 * the next checkpoint with a message naming the last good one, leaves no partial directory, and the run
 * resumes from that checkpoint to the same weights as an uninterrupted run.
 */
class FullDiskTest {
    @TempDir Path dir;
    private final List<Path> mounts = new ArrayList<>();

    Path mount(String name, long bytes) throws Exception {
        Path m = dir.resolve(name);
        Files.createDirectories(m);
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + bytes, "tmpfs", m.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        Assumptions.assumeTrue(p.waitFor() == 0, "cannot mount a tmpfs here (needs root): " + out.trim());
        mounts.add(m);
        return m;
    }

    @AfterEach
    void unmount() throws Exception {
        for (Path m : mounts) new ProcessBuilder("umount", "-l", m.toString()).start().waitFor();
    }

    @Test
    void tooLittleSpaceIsReportedBeforeTraining() throws Exception {
        Path disk = mount("tiny-disk", 256 * 1024);
        var r = CliTestAccess.run("sft", "--init", "small", "--task", "sort", "--steps", "5", "--output", disk.resolve("run").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("MB free on its disk") && r.err().contains("checkpoints"), r.err());
        assertFalse(Files.exists(disk.resolve("run/metrics.jsonl")), "nothing trained");
    }

    @Test
    void aDiskThatFillsUpMidRunLosesOnlyTheStepsSinceTheLastCheckpoint() throws Exception {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        Sft.Config cfg = Configs.with(Sft.Config.DEFAULTS, "steps", 12, "batchSize", 8, "gradAccum", 1, "lr", 5e-3, "weightDecay", 0.01, "warmupSteps", 2, "maxGradNorm", 1.0, "maxLength", 32, "evalEvery", 4, "saveEvery", 4, "keep", 3, "seed", 3L, "onNonFinite", NonFinite.STOP);
        Map<String, float[]> want;
        try (LlamaModel m = TrainerTest.nano(2)) {
            Sft.train(m, TrainerTest.copyTask(), cfg, new Session(tok, dir.resolve("reference"), Metrics.inMemory().quiet(true), null, null));
            want = TrainerTest.snapshot(m);
        }
        Path disk;
        try (LlamaModel m = TrainerTest.nano(2)) {
            disk = mount("disk", 8 * Checkpoints.checkpointBytes(m));
        }
        Path out = disk.resolve("run"), filler = disk.resolve("filler");
        // at step 8, just before checkpoint-8 is written, something else fills the disk
        EvalHook fill = step -> {
            if (step == 8) fillUp(filler);
            return Map.of();
        };
        try (LlamaModel m = TrainerTest.nano(2); Metrics metrics = new Metrics(out).quiet(true)) {
            UserError e = assertThrows(UserError.class, () -> Sft.train(m, TrainerTest.copyTask(), cfg, new Session(tok, out, metrics, fill, null)));
            assertTrue(e.getMessage().contains("checkpoint-8") && e.getMessage().contains("disk is full")
                    && e.getMessage().contains("last good checkpoint: " + out.resolve("checkpoint-4")), e.getMessage());
        }
        try (Stream<Path> s = Files.list(out)) {
            List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> n.contains("checkpoint")).sorted().toList();
            assertEquals(List.of("checkpoint-4"), names, "no partial or temporary checkpoint is left behind");
        }
        Files.delete(filler);
        try (LlamaModel m = TrainerTest.nano(99); Metrics metrics = new Metrics(out).quiet(true)) {
            Sft.train(m, TrainerTest.copyTask(), cfg, new Session(tok, out, metrics, null, Path.of("")));   // resume the newest checkpoint
            for (var e : want.entrySet())
                assertArrayEquals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey())), 1e-6f, e.getKey());
        }
    }

    static void fillUp(Path filler) {
        byte[] block = new byte[64 * 1024];
        try (OutputStream o = Files.newOutputStream(filler)) {
            while (true) o.write(block);
        } catch (IOException full) {
            assertTrue(String.valueOf(full.getMessage()).contains("No space left"), full.toString());
        }
    }
}
