package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.train.Checkpoints;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Data-parallel training across processes: starts {@code --nproc} copies of a training command on this machine, each a
 * JVM with this one's classpath and torchrun's environment contract (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT), which makes the command join one process group ({@link dev.align4j.core.Distributed}).
 * It watches them: the first rank to fail ends the job on every rank, with one line naming it and the last good
 * checkpoint. Not a scheduler: on several machines, run one launch per machine with its {@code --node-rank}.
 */
@Command(name = "launch", sortOptions = false, description = {
        "Data-parallel training: run a training command as N processes (ranks) that average their gradients over PyTorch's c10d (Gloo).",
        "Each rank takes its share of every global batch (--batch-size, --prompts-per-step); rank 0 writes checkpoints, metrics and final/.",
        "A rank that fails ends the job on every rank; continue it with the same command and --resume.",
        "Example: ./align4j launch --nproc 2 sft --init tiny --task arithmetic --batch-size 64 --threads 1 --output out/sft-ddp"})
final class LaunchCommand implements java.util.concurrent.Callable<Integer> {
    @Option(names = "--nproc", paramLabel = "N", description = "Processes (ranks) on this machine (default: ${DEFAULT-VALUE}).")
    int nproc = 2;
    @Option(names = "--nnodes", paramLabel = "M", description = "Machines in the job, each running its own launch (default: ${DEFAULT-VALUE}).")
    int nnodes = 1;
    @Option(names = "--node-rank", paramLabel = "R", description = "This machine's index in [0, M); its ranks are R·N … R·N + N − 1 (default: ${DEFAULT-VALUE}).")
    int nodeRank = 0;
    @Option(names = "--master-addr", paramLabel = "A", description = "Address of the machine of rank 0, where the rendezvous store listens (default: ${DEFAULT-VALUE}).")
    String masterAddr = "127.0.0.1";
    @Option(names = "--master-port", paramLabel = "P", description = "Port of the rendezvous store; 0 = a free port (one machine) or 29500 (several) (default: ${DEFAULT-VALUE}).")
    int masterPort = 0;
    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The training command and its flags, e.g. sft --init tiny --task arithmetic --output out/x.")
    List<String> command;

    /** The commands whose every write goes through rank 0 (the loop's checkpoints and metrics, TrainRun's final model). */
    static final List<String> TRAINERS = List.of("sft", "dpo", "kto", "listwise", "grpo", "rloo", "reinforce++", "ppo", "online-dpo", "sppo", "inpo", "nash-md");

    @Override
    public Integer call() throws Exception {
        if (nproc < 1 || nnodes < 1) throw new UserError("--nproc and --nnodes must be >= 1");
        if (nodeRank < 0 || nodeRank >= nnodes) throw new UserError("--node-rank must be in [0, --nnodes " + nnodes + "): " + nodeRank);
        if (command.get(0).startsWith("-") || command.get(0).equals("launch"))
            throw new UserError("launch needs a training command after its own flags (e.g. sft, dpo, grpo), not '" + command.get(0) + "'");
        if (!TRAINERS.contains(command.get(0)))
            throw new UserError("launch runs the trainers " + String.join(", ", TRAINERS) + "; '" + command.get(0)
                    + "' writes its outputs from every process and runs in one process only");
        int world = nnodes * nproc;
        int port = masterPort > 0 ? masterPort : nnodes == 1 ? freePort() : 29500;
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib:jdwp") && !a.startsWith("-Dalign4j.rank=")).toList();

        List<Process> children = new ArrayList<>();
        BlockingQueue<Integer> exited = new LinkedBlockingQueue<>();      // local indices in the order the ranks ended
        Thread stopper = new Thread(() -> children.forEach(Process::destroy));
        Runtime.getRuntime().addShutdownHook(stopper);                     // Ctrl-C or SIGTERM on the launcher ends every rank
        System.err.printf("launch: %d ranks (%d on this machine) of: %s; rendezvous %s:%d%n", world, nproc, String.join(" ", command), masterAddr, port);
        for (int i = 0; i < nproc; i++) {
            int rank = nodeRank * nproc + i;
            List<String> cmd = new ArrayList<>(List.of(java));
            cmd.addAll(jvm);
            cmd.add("-Dalign4j.rank=" + rank);                             // shows in ps; the environment is the contract
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
            cmd.addAll(command);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("RANK", String.valueOf(rank));
            pb.environment().put("WORLD_SIZE", String.valueOf(world));
            pb.environment().put("LOCAL_RANK", String.valueOf(i));
            pb.environment().put("LOCAL_WORLD_SIZE", String.valueOf(nproc));
            pb.environment().put("MASTER_ADDR", masterAddr);
            pb.environment().put("MASTER_PORT", String.valueOf(port));
            if (rank == 0) pb.inheritIO();                                 // rank 0's result (stdout) and logs pass through
            else pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectInput(ProcessBuilder.Redirect.INHERIT);
            Process p = pb.start();
            children.add(p);
            System.err.printf("launch: rank %d is pid %d%n", rank, p.pid());
            if (rank != 0) prefix(p, "[rank " + rank + "] ");
            int local = i;
            p.onExit().thenRun(() -> exited.add(local));
        }
        try {
            for (int done = 0; done < nproc; done++) {
                int i = exited.take();
                int code = children.get(i).exitValue();
                if (code == 0) continue;
                int rank = nodeRank * nproc + i;
                for (Process p : children) p.destroy();                    // SIGTERM, then SIGKILL for any that hangs in a collective
                for (Process p : children) if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
                System.err.println("launch: rank " + rank + " (pid " + children.get(i).pid() + ") failed with exit code " + code + describe(code)
                        + "; stopped the other ranks; last good checkpoint: " + lastCheckpoint() + " (continue with the same command and --resume)");
                return code == 2 ? 2 : 1;
            }
            return 0;
        } finally {
            Runtime.getRuntime().removeShutdownHook(stopper);
        }
    }

    private static String describe(int code) {
        return code > 128 && code < 160 ? " (killed by signal " + (code - 128) + ")" : code == 2 ? " (a user error: see its message above)" : "";
    }

    /** The newest complete checkpoint in the command's --output, as rank 0 wrote it. */
    private String lastCheckpoint() {
        Path out = null;
        for (int i = 0; i < command.size(); i++) {
            if (command.get(i).equals("--output") && i + 1 < command.size()) out = Path.of(command.get(i + 1));
            else if (command.get(i).startsWith("--output=")) out = Path.of(command.get(i).substring("--output=".length()));
        }
        if (out == null) return "none (no --output)";
        List<Path> all = Checkpoints.list(out);
        return all.isEmpty() ? "none" : all.get(all.size() - 1).toString();
    }

    /** Copies a rank's stderr to ours, each line prefixed with the rank. */
    private static void prefix(Process p, String tag) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) System.err.println(tag + line);
            } catch (IOException ignored) {
                // the rank ended
            }
        }, "launch-" + tag.trim());
        t.setDaemon(true);
        t.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
