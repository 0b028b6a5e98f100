package dev.align4j;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The example projects under examples/ compile against this build of align4j and run: CI builds them here, with the
 * test classpath standing in for their Maven dependency on align4j.
 */
class ExamplesTest {
    @TempDir Path dir;

    @Test
    void customRewardExampleCompilesAndItsJavaRewardRisesUnderGrpo() throws Exception {
        Path src = Path.of("examples/custom-reward/src/main/java");
        List<String> args = new ArrayList<>(List.of("-d", dir.resolve("classes").toString(), "-cp", System.getProperty("java.class.path"), "--release", "17"));
        try (Stream<Path> files = Files.walk(src)) { files.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString())); }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, javac.run(null, null, err, args.toArray(new String[0])), err.toString());
        try (URLClassLoader loader = new URLClassLoader(new URL[]{dir.resolve("classes").toUri().toURL()}, getClass().getClassLoader())) {
            double[] r = (double[]) loader.loadClass("example.CustomRewardGrpo").getMethod("run", Path.class, int.class).invoke(null, dir.resolve("out"), 25);
            assertTrue(r[1] > r[0] + 0.2, "the Java reward rose from " + r[0] + " to " + r[1]);
        }
    }

    @Test
    void theRewardProcessExampleAnswersAlign4jsRequests() throws Exception {
        Path python = Stream.of("/usr/bin/python3", "/usr/local/bin/python3", System.getProperty("user.home") + "/.pyenv/shims/python3")
                .map(Path::of).filter(Files::isExecutable).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(python != null, "python3 is not installed");
        var samples = List.of(new dev.align4j.reward.RewardFunction.Sample(new dev.align4j.task.Task.Example("12+30=", "", (com.fasterxml.jackson.databind.node.ObjectNode)
                        dev.align4j.core.Json.MAPPER.readTree("{\"solution\": \"42\"}")), "42", 2, false),
                new dev.align4j.reward.RewardFunction.Sample(new dev.align4j.task.Task.Example("7+8=", "", (com.fasterxml.jackson.databind.node.ObjectNode)
                        dev.align4j.core.Json.MAPPER.readTree("{\"solution\": \"15\"}")), "14", 2, false));
        var fn = dev.align4j.reward.ExternalRewards.process("cmd", python + " examples/reward-process/reward.py", java.time.Duration.ofSeconds(20));
        try {
            assertArrayEquals(new double[]{1, 0}, fn.score(samples), 1e-12);
        } finally {
            ((AutoCloseable) fn).close();
        }
    }
}
