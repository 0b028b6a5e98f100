package dev.align4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** `align4j study`: its help, and bad input refused with one line naming the flag before any work. */
class StudyCommandTest {
    @TempDir Path dir;

    @Test
    void helpShowsTheStudyDefaults() {
        CliTest.Result r = CliTest.run("study", "--help");
        assertEquals(0, r.code(), r.err());
        String help = r.out().replaceAll("\\s+", " ");
        assertTrue(help.contains("overoptimization") && help.contains("--bon-max") && help.contains("(default: sort)") && help.contains("(default: 64)"), help);
    }

    @Test
    void badInputIsAOneLineUserError() {
        CliTest.Result r = CliTest.run("study", "reward-hacking", "--output", dir.resolve("a").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown study; expected one of overoptimization"), r.err());

        r = CliTest.run("study", "overoptimization", "--task", "chess", "--output", dir.resolve("b").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--task chess: unknown task"), r.err());

        r = CliTest.run("study", "overoptimization", "--model", dir.resolve("missing").toString(), "--output", dir.resolve("c").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--model " + dir.resolve("missing") + ": not a model directory"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());

        r = CliTest.run("study", "overoptimization", "--bon-max", "6", "--output", dir.resolve("d").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("bon-max must be a power of two"), r.err());
    }
}
