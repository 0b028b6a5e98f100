package dev.align4j.cli;

import dev.align4j.model.*;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The CLI contract: stdout carries only the result, user errors exit 2 with one line, the natives load cold. */
class CliTest {
    @TempDir Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try (PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream pe = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(ps);
            System.setErr(pe);
            int code = Main.run(args, new PrintWriter(ps, true), new PrintWriter(pe, true));
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    Path model() {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTestAccess.random(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 1)) {
            Path out = dir.resolve("m");
            HfModel.save(out, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            return out;
        }
    }

    @Test
    void infoDescribesTheModel() {
        Result r = run("info", "--model", model().toString(), "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"architecture\":\"LlamaForCausalLM\""), r.out());
        assertTrue(r.out().contains("\"eos_token_ids\":\"[2]\""), r.out());
    }

    @Test
    void generatePrintsOnlyTheCompletionAndIsDeterministicWhenGreedy() {
        Path m = model();
        Result a = run("generate", "--model", m.toString(), "--prompt", "12+3=", "--max-new-tokens", "8", "--temperature", "0");
        Result b = run("generate", "--model", m.toString(), "--prompt", "12+3=", "--max-new-tokens", "8", "--temperature", "0");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        assertEquals(1, a.out().split("\n", -1).length - 1, "exactly one line of output: " + a.out());
        Result j = run("generate", "--model", m.toString(), "--prompt", "12+3=", "--max-new-tokens", "8", "--temperature", "0", "--json");
        assertTrue(j.out().startsWith("{\"text\":"), j.out());
    }

    @Test
    void userErrorsExitTwoWithOneLineNamingTheFile() throws Exception {
        Path m = model();
        try (RandomAccessFile raf = new RandomAccessFile(m.resolve("model.safetensors").toFile(), "rw")) { raf.setLength(raf.length() / 2); }
        Result r = run("info", "--model", m.toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.err().contains("model.safetensors"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());

        Result missing = run("info", "--model", dir.resolve("nope").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("nope"), missing.err());

        Result badFlag = run("generate", "--model", m.toString(), "--prompt", "x", "--temperature", "-1");
        assertEquals(2, badFlag.code());
        assertTrue(badFlag.err().contains("temperature"), badFlag.err());

        Result unknown = run("generate", "--bogus");
        assertEquals(2, unknown.code());

        // fewer memory steps than the two 50-step windows it compares: a user error before any benchmark runs
        Result shortMemory = run("bench", "--sizes", "nano", "--memory-steps", "10");
        assertEquals(2, shortMemory.code());
        assertTrue(shortMemory.err().contains("--memory-steps"), shortMemory.err());
    }

    @Test
    void everySubcommandAnswersHelpWithItsUsage() {
        picocli.CommandLine cl = new picocli.CommandLine(new Main());
        for (String name : cl.getSubcommands().keySet()) {
            if (name.equals("help")) continue;
            Result r = run(name, "--help");
            assertEquals(0, r.code(), name + " --help: " + r.err());
            assertTrue(r.out().contains("Usage: align4j " + name), name + " --help printed: " + r.out() + r.err());
        }
    }

    @Test
    void firstRunOnAnEmptyNativeCacheWorks() throws Exception {
        Path m = model();
        Path cache = Files.createDirectories(dir.resolve("empty-javacpp-cache"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.bytedeco.javacpp.cachedir=" + cache, "-cp", System.getProperty("java.class.path"),
                "dev.align4j.cli.Main", "generate", "--model", m.toString(), "--prompt", "1+1=", "--max-new-tokens", "4", "--temperature", "0"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        try (var s = Files.walk(cache)) {
            assertTrue(s.anyMatch(f -> f.getFileName().toString().startsWith("libtorch_cpu")), "natives were extracted into the empty cache");
        }
    }
}
