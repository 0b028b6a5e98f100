package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.model.Safetensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Data-parallel training through {@code ./align4j launch}: two ranks of one thread each on loopback end with the weights
 * of one process given the same global batch (SFT, DPO, GRPO), and a rank killed mid-run ends the job on every rank
 * with one line naming it and the last good checkpoint, after which --resume finishes the run where the single process
 * would have ended. Each run is a child JVM (the launcher then starts its ranks), as a user would start them.
 */
class LaunchTest {
    @TempDir Path dir;

    static final Map<String, List<String>> COMMANDS = Map.of(
            "sft", List.of("sft", "--init", "nano", "--task", "sort", "--examples", "256", "--eval-prompts", "4", "--steps", "6",
                    "--batch-size", "8", "--lr", "3e-3", "--warmup-steps", "0"),
            "dpo", List.of("dpo", "--init", "nano", "--task", "sort", "--pairs", "64", "--eval-prompts", "4", "--steps", "5",
                    "--batch-size", "4", "--warmup-steps", "0"),
            // DPO at its own lr (5e-5): its gradient on the prompt tokens is a near-cancelling difference of the chosen and the
            // rejected terms, whose rounding depends on how the batch is split; Adam passes that relative error on as a share
            // of lr per step. Measured: 2e-7 after 5 steps at 5e-5, 1.2e-5 at 3e-3.
            "grpo", List.of("grpo", "--init", "nano", "--task", "sort", "--prompts-per-step", "4", "--group-size", "4", "--max-new-tokens", "8",
                    "--eval-prompts", "4", "--steps", "4", "--updates-per-rollout", "2", "--beta", "0.04", "--lr", "3e-3", "--warmup-steps", "0"),
            // REINFORCE++ whitens its token advantages over the whole batch: under launch, with statistics summed over the ranks
            "reinforce++", List.of("reinforce++", "--init", "nano", "--task", "sort", "--reward", "partial", "--prompts-per-step", "4", "--group-size", "2", "--max-new-tokens", "8",
                    "--eval-prompts", "4", "--steps", "4", "--beta", "0.04", "--lr", "3e-3", "--warmup-steps", "0"),
            // online DPO shards its prompts; a rank's pairs weigh by their share of all ranks' pairs (ties leave unequal counts)
            //   (the length reward breaks most ties of a random model's samples: 4-7 of 8 prompts make a pair each step)
            "online-dpo", List.of("online-dpo", "--init", "nano", "--task", "sort", "--reward", "partial,length", "--prompts-per-step", "8", "--samples-per-prompt", "2",
                    "--max-new-tokens", "24", "--temperature", "1.5", "--eval-prompts", "4", "--steps", "4", "--warmup-steps", "0"),
            // PPO shards its prompts; every rank shuffles the whole rollout alike and trains its rows of each minibatch (uneven
            // counts, weighted by tokens); whitening, the KL mean of the adaptive controller and the explained variance are global.
            // Step 1's metrics agree to 1e-7 relative; Adam passes the split's rounding on as a share of lr per update (12 here):
            // measured 2.9e-7 at lr 1e-3, 1.7e-6 at 3e-3 (critic at 2 x lr)
            "ppo", List.of("ppo", "--init", "nano", "--task", "sort", "--reward", "partial,length", "--prompts-per-step", "4", "--samples-per-prompt", "2",
                    "--max-new-tokens", "12", "--eval-prompts", "4", "--steps", "3", "--ppo-epochs", "2", "--mini-batches", "2", "--beta", "0.05",
                    "--kl-target", "0.1", "--lr", "1e-3", "--warmup-steps", "0"));

    /** {@code java -cp … Main [launch --nproc N] COMMAND … --output OUT}, one thread a rank, output in OUT.log. */
    static Process start(int nproc, List<String> command, Path out, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.align4j.cli.Main"));
        if (nproc > 1) cmd.addAll(List.of("launch", "--nproc", String.valueOf(nproc)));
        cmd.addAll(command);
        cmd.addAll(List.of("--threads", "1", "--output", out.toString()));
        cmd.addAll(List.of(extra));
        Files.createDirectories(out.getParent());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log(out).toFile());
        pb.environment().remove("WORLD_SIZE");                             // a test runner under launch must not leak its rank
        return pb.start();
    }

    static Path log(Path out) { return out.resolveSibling(out.getFileName() + ".log"); }

    static String read(Path p) {
        try { return Files.readString(p); } catch (Exception e) { return e.toString(); }
    }

    static Map<String, Tensor> weights(Path model) {
        Torch.init();
        Map<String, Tensor> w = new TreeMap<>();
        Safetensors.read(model.resolve("model.safetensors"), ScalarType.Float, w::put);
        return w;
    }

    /** The largest element-wise difference between two models' weights. */
    static double maxDiff(Path a, Path b) {
        Map<String, Tensor> x = weights(a), y = weights(b);
        assertEquals(x.keySet(), y.keySet());
        double d = 0;
        for (String k : x.keySet()) d = Math.max(d, Torch.item(x.get(k).sub(y.get(k)).abs().max()));
        return d;
    }

    static List<JsonNode> rows(Path out, String stage) throws Exception {
        List<JsonNode> r = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode o = Json.MAPPER.readTree(line);
            if (o.path("stage").asText().equals(stage)) r.add(o);
        }
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sft", "dpo", "grpo", "reinforce++", "online-dpo", "ppo"})
    void twoRanksEqualOneProcessWithTheSameGlobalBatch(String trainer) throws Exception {
        assertTwoRanksEqualOne(trainer, COMMANDS.get(trainer));
    }

    /**
     * The self-play trainers shard their prompts (Nash-MD its mixture opponents too; INPO skips the label draws of the
     * earlier ranks' pairs). Their judge here is a random Bradley–Terry reward model: a random policy's sort answers all
     * score 0 under the gold judge, and ties teach nothing. Three steps at lr 1e-4 (SPPO's second round starts at step 3):
     * their losses regress log π − log π_t, a difference of two float32 sums near −38 nats, onto targets of a few
     * thousandths, so the rounding of a batch split in two (1e-7 relative) is ~1e-3 of the gradient, and Adam turns the
     * near-zero gradient elements' rounding into steps of a share of lr. Measured for SPPO: 3.7e-9 after 1 and 2 steps,
     * 5.6e-9 after 3, 1.0e-6 after 4 (6.5e-6 after 4 at lr 1e-3), with the same samples and step 1's gradient norm equal
     * to every digit; a sharding error shows at step 1.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sppo", "inpo", "nash-md"})
    void selfPlayTwoRanksEqualOneProcess(String trainer) throws Exception {
        Path rm = dir.resolve("rm");
        CliTest.Result r = CliTest.run("reward", "--init", "nano", "--task", "sort", "--pairs", "16", "--steps", "1", "--batch-size", "4", "--eval-prompts", "4",
                "--threads", "1", "--output", rm.toString());
        assertEquals(0, r.code(), r.err());
        List<String> cmd = new ArrayList<>(List.of(trainer, "--init", "nano", "--task", "sort", "--judge", "rm:" + rm.resolve("final"), "--prompts-per-step", "4",
                "--samples-per-prompt", "2", "--max-new-tokens", "8", "--steps", "3", "--eval-prompts", "4", "--lr", "1e-4", "--warmup-steps", "0"));
        if (!trainer.equals("nash-md")) cmd.addAll(List.of("--iterations", "2"));
        assertTwoRanksEqualOne(trainer, cmd);
    }

    void assertTwoRanksEqualOne(String trainer, List<String> command) throws Exception {
        Path one = dir.resolve("one"), two = dir.resolve("two");
        Process p1 = start(1, command, one), p2 = start(2, command, two);
        assertEquals(0, p1.waitFor(), () -> read(log(one)));
        assertEquals(0, p2.waitFor(), () -> read(log(two)));
        assertTrue(read(log(two)).contains("launch: rank 1 is pid"), read(log(two)));

        // the single run trained: some step had a gradient
        String stage = command.get(0);                                   // the command, which names the metrics stage
        List<JsonNode> r1 = rows(one, stage), r2 = rows(two, stage);
        assertTrue(r1.stream().anyMatch(o -> o.path("grad_norm").asDouble() > 0), trainer + ": no step had a gradient; the comparison would prove nothing");
        double d = maxDiff(one.resolve("final"), two.resolve("final"));
        System.out.printf("LaunchTest %s: 2 ranks vs 1 process, max |Δw| = %.2e%n", trainer, d);
        assertTrue(d <= 1e-6, trainer + ": 2 ranks vs 1 process, max |Δw| = " + d);
        // rank 0 logged the job's mean loss: the single process's, to float precision
        JsonNode last1 = r1.get(r1.size() - 1), last2 = r2.get(r2.size() - 1);
        assertEquals(last1.path("step").asLong(), last2.path("step").asLong());
        assertEquals(last1.path("loss").asDouble(), last2.path("loss").asDouble(), 1e-5 * Math.max(1, Math.abs(last1.path("loss").asDouble())));
        // rank 0 alone wrote: one metrics file, one final model, the config once
        assertTrue(Files.exists(two.resolve("final/model.safetensors")) && Files.exists(two.resolve(stage + "_config.json")));
    }


    /**
     * Two "machines" on loopback: two launches of one rank each, --nnodes 2 with node ranks 0 and 1, meeting at one
     * rendezvous port, each writing into its own directory (as machines without a shared file system would); the job
     * equals one process, and only node 0's rank writes.
     */
    @Test
    void twoNodesOnLoopbackEqualOneProcess() throws Exception {
        List<String> sft = COMMANDS.get("sft");
        int port;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) { port = ss.getLocalPort(); }
        Path one = dir.resolve("one"), n0 = dir.resolve("node0"), n1 = dir.resolve("node1");
        Process single = start(1, sft, one);
        List<Process> nodes = new ArrayList<>();
        for (int node = 0; node < 2; node++) {
            List<String> cmd = new ArrayList<>(List.of("launch", "--nnodes", "2", "--node-rank", String.valueOf(node), "--nproc", "1",
                    "--master-addr", "127.0.0.1", "--master-port", String.valueOf(port)));
            cmd.addAll(sft);
            nodes.add(start(1, cmd, node == 0 ? n0 : n1));
        }
        for (int node = 0; node < 2; node++) {
            Path out = node == 0 ? n0 : n1;
            assertEquals(0, nodes.get(node).waitFor(), () -> read(log(out)));
        }
        assertEquals(0, single.waitFor(), () -> read(log(one)));
        assertTrue(read(log(n1)).contains("launch: 2 ranks (1 on this machine)"), read(log(n1)));
        double d = maxDiff(one.resolve("final"), n0.resolve("final"));
        System.out.printf("LaunchTest two nodes: 2 ranks on 2 launches vs 1 process, max |Δw| = %.2e%n", d);
        assertTrue(d <= 1e-6, "two nodes vs 1 process, max |Δw| = " + d);
        assertFalse(Files.exists(n1.resolve("final")) || Files.exists(n1.resolve("metrics.jsonl")), "node 1's rank wrote outputs");
    }

    @Test
    void launchRefusesWhatItCannotRunWithOneLine() {
        CliTest.Result r = CliTest.run("launch", "--nproc", "2", "reward", "--init", "nano", "--task", "sort", "--output", dir.resolve("r").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("error: launch runs the trainers sft, dpo") && r.err().contains("'reward' writes its outputs from every process"), r.err());
        r = CliTest.run("launch", "--nproc", "2", "--lr", "1e-3");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("launch needs a training command after its own flags"), r.err());
        r = CliTest.run("launch", "--nproc", "2", "--node-rank", "1", "sft");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--node-rank must be in [0, --nnodes 1): 1"), r.err());
    }

    @Test
    void aKilledRankEndsTheJobWithOneLineAndResumeFinishesIt() throws Exception {
        List<String> sft = List.of("sft", "--init", "nano", "--task", "sort", "--examples", "256", "--eval-prompts", "4", "--steps", "40",
                "--batch-size", "8", "--lr", "3e-3", "--warmup-steps", "0", "--save-every", "5", "--keep", "2");
        Path ref = dir.resolve("uninterrupted"), out = dir.resolve("killed");
        Process single = start(1, sft, ref);
        Process p = start(2, sft, out);
        long deadline = System.currentTimeMillis() + 120_000;
        while (!Files.exists(out.resolve("checkpoint-10")) && p.isAlive() && System.currentTimeMillis() < deadline) Thread.sleep(5);
        assertTrue(p.isAlive(), "the job ended before a rank could be killed: " + read(log(out)));
        Matcher m = Pattern.compile("launch: rank 1 is pid (\\d+)").matcher(read(log(out)));
        assertTrue(m.find(), read(log(out)));
        long pid = Long.parseLong(m.group(1));
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();             // SIGKILL rank 1 mid-run
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the launcher did not end after a rank was killed");
        String log = read(log(out));
        assertNotEquals(0, p.exitValue(), log);
        Matcher fail = Pattern.compile("launch: rank 1 \\(pid " + pid + "\\) failed with exit code 137 \\(killed by signal 9\\); stopped the other ranks; "
                + "last good checkpoint: (\\S+) \\(continue with the same command and --resume\\)").matcher(log);
        assertTrue(fail.find(), log);
        assertTrue(Path.of(fail.group(1)).getFileName().toString().matches("checkpoint-\\d+") && Files.exists(Path.of(fail.group(1), "trainer_state.json")), log);
        assertEquals(1, log.split("failed with exit code", -1).length - 1, "one failure line: " + log);
        assertFalse(Files.exists(out.resolve("final")), "killed before the end");
        assertTrue(ProcessHandle.allProcesses().noneMatch(h -> h.info().arguments().map(a -> String.join(" ", a).contains(out.toString())).orElse(false)),
                "a rank outlived the job");

        Files.move(log(out), dir.resolve("killed-first.log"));
        Process resumed = start(2, sft, out, "--resume");
        assertEquals(0, resumed.waitFor(), () -> read(log(out)));
        assertTrue(read(log(out)).contains("resumed from " + fail.group(1)), read(log(out)));
        assertEquals(0, single.waitFor(), () -> read(log(ref)));
        double d = maxDiff(ref.resolve("final"), out.resolve("final"));
        System.out.printf("LaunchTest kill + resume: 2 ranks vs 1 uninterrupted process, max |Δw| = %.2e%n", d);
        assertTrue(d <= 1e-6, "killed + resumed on 2 ranks vs 1 uninterrupted process: max |Δw| = " + d);
        List<JsonNode> rows = rows(out, "sft");
        assertEquals(rows(ref, "sft").size(), rows.size(), "each logged step once");
    }
}
