package dev.align4j.core;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Data-parallel training across processes on PyTorch's own c10d (through the JavaCPP presets): a {@code TCPStore}
 * for the rendezvous (rank 0 serves it at MASTER_ADDR:MASTER_PORT) and {@code ProcessGroupGloo} for the collectives
 * on CPU tensors. A process joins when started with torchrun's environment contract (RANK, WORLD_SIZE, LOCAL_RANK,
 * MASTER_ADDR, MASTER_PORT; {@code ./align4j launch} sets it); without WORLD_SIZE &gt; 1 it is the single process
 * {@link #SINGLE}, and every method below is the identity.
 *
 * <p>What the rest of align4j asks of it: its contiguous {@link #shard} of a global batch, gradients averaged over the
 * ranks in buckets ({@link #averageGradients}: coalesced all-reduce of flattened buckets, the scheme of PyTorch's DDP
 * Reducer without its autograd hooks), scalar metrics averaged and small vectors gathered. Only rank 0 writes
 * (checkpoints, metrics, final model). This class is not a transport of its own: every byte goes through c10d.
 *
 * <p>GPUs: gradients in CUDA tensors are reduced by {@code ProcessGroupNCCL} ({@code org.bytedeco.pytorch.nccl}), created
 * on first use over the same store. The presets expose the class, but the CPU build in use has no NCCL behind it, so
 * that branch is untested here (it fails with a message saying so).
 */
public final class Distributed implements AutoCloseable {
    /** The process when nothing was launched: rank 0 of 1. */
    public static final Distributed SINGLE = new Distributed(0, 1, 0, null, null);

    /** Bytes per all-reduce bucket (PyTorch DDP's default bucket_cap_mb is 25). */
    static final long BUCKET_BYTES = 25L << 20;

    private static Distributed current = SINGLE;

    public final int rank, world, localRank;
    private final TCPStore store;
    private final Backend pg;
    private Backend nccl;                                                    // for CUDA tensors, created on first use

    private Distributed(int rank, int world, int localRank, TCPStore store, Backend pg) {
        this.rank = rank;
        this.world = world;
        this.localRank = localRank;
        this.store = store;
        this.pg = pg;
    }

    /** Rank {@code rank} of {@code world} without a process group: for tests of the sharding arithmetic. */
    static Distributed forTest(int rank, int world) { return new Distributed(rank, world, rank, null, null); }

    /** This process's place in the job: {@link #SINGLE} unless {@link #init} joined a process group. */
    public static Distributed get() { return current; }

    /** True on rank 0, the rank that writes checkpoints, metrics and logs. */
    public boolean isMain() { return rank == 0; }

    public boolean isDistributed() { return world > 1; }

    /**
     * Joins the process group described by the environment (torchrun's contract) once; a process without WORLD_SIZE
     * (or with WORLD_SIZE=1) stays single. A malformed variable is a user error naming it.
     */
    public static synchronized Distributed init() { return init(System.getenv()); }

    static synchronized Distributed init(Map<String, String> env) {
        if (current != SINGLE) return current;
        int world = intVar(env, "WORLD_SIZE", 1);
        if (world <= 1) return current;
        UserError.check(!Torch.onCuda(), "launch runs its ranks on the CPU (Gloo); data parallel on CUDA (NCCL) is not built yet: run each rank with --device cpu");
        int rank = intVar(env, "RANK", -1);
        UserError.check(rank >= 0 && rank < world, "RANK must be in [0, WORLD_SIZE=%s): %s", world, env.get("RANK"));
        String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        int port = intVar(env, "MASTER_PORT", 29500);
        UserError.check(port > 0 && port < 65536, "MASTER_PORT must be a TCP port: %s", port);
        int timeoutMs = intVar(env, "ALIGN4J_DIST_TIMEOUT_S", 300) * 1000;
        Torch.init();
        TCPStoreOptions opts = new TCPStoreOptions();
        opts.port((short) port);                                           // a C++ uint16_t: ports above 32767 wrap to negative shorts
        opts.isServer(rank == 0);
        opts.waitWorkers(false);
        opts.timeout(new Milliseconds(timeoutMs));
        TCPStore store;
        try {
            if (rank > 0) awaitListening(addr, port, timeoutMs);
            store = new TCPStore(addr, opts);
        } catch (RuntimeException e) {
            throw new UserError("rank " + rank + ": cannot reach the rendezvous at " + addr + ":" + port + " (MASTER_ADDR, MASTER_PORT): " + e.getMessage(), e);
        }
        ProcessGroupGloo.Options o = ProcessGroupGloo.Options.create(new Milliseconds(timeoutMs));
        o.devices(new GlooDeviceVector(glooDevice(env, addr)));
        Backend pg = new ProcessGroupGloo(store, rank, world, o);
        current = new Distributed(rank, world, intVar(env, "LOCAL_RANK", rank), store, pg);
        return current;
    }

    /**
     * Waits until rank 0's store accepts connections: a TCPStore client that finds no server backs off for seconds
     * before it tries again, which made a two-rank start take 20 s instead of 2.
     */
    private static void awaitListening(String addr, int port, int timeoutMs) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress(addr, port), 1000);
                return;
            } catch (java.io.IOException e) {
                try { Thread.sleep(50); } catch (InterruptedException ie) { Thread.currentThread().interrupt(); return; }
            }
        }
    }

    /** The network device Gloo binds: GLOO_SOCKET_IFNAME if set, loopback when the master is local, else this host's name. */
    private static org.bytedeco.pytorch.gloo.Device glooDevice(Map<String, String> env, String masterAddr) {
        String ifname = env.get("GLOO_SOCKET_IFNAME");
        if (ifname != null && !ifname.isBlank()) return ProcessGroupGloo.createDeviceForInterface(ifname);
        if (masterAddr.equals("127.0.0.1") || masterAddr.equals("localhost")) return ProcessGroupGloo.createDeviceForHostname("127.0.0.1");
        return ProcessGroupGloo.createDefaultDevice();
    }

    private static int intVar(Map<String, String> env, String name, int dflt) {
        String v = env.get(name);
        if (v == null || v.isBlank()) return dflt;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UserError(name + " must be an integer: '" + v + "'");
        }
    }

    /**
     * This rank's contiguous share of a global batch of {@code idx.length} rows: rows [rank·n/W, (rank+1)·n/W). The batch
     * must split evenly, so that the ranks' per-row means average to the single process's mean.
     */
    public int[] shard(int[] idx, String what) {
        if (world == 1) return idx;
        UserError.check(idx.length % world == 0, "%s %s is the global batch and must split evenly over the %s ranks", what, idx.length, world);
        int n = idx.length / world;
        return java.util.Arrays.copyOfRange(idx, rank * n, (rank + 1) * n);
    }

    /** The first item and the count of this rank's contiguous share of {@code n} items (n must split evenly). */
    public int[] range(int n, String what) {
        UserError.check(n % world == 0, "%s %s must split evenly over the %s ranks", what, n, world);
        return new int[]{rank * (n / world), n / world};
    }

    /**
     * Averages the gradients of {@code params} over the ranks, in place, before clipping: the gradients are flattened
     * into buckets of up to {@link #BUCKET_BYTES}, each bucket all-reduced (sum) as one tensor, divided by W and copied
     * back. Every parameter must have a gradient on every rank (a rank without one would not step it while the others do).
     */
    public void averageGradients(Collection<Tensor> params) {
        if (world == 1) return;
        try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            List<List<Tensor>> buckets = new ArrayList<>();
            List<Tensor> bucket = new ArrayList<>();
            long bytes = 0;
            for (Tensor p : params) {
                long b = p.numel() * p.element_size();
                if (!bucket.isEmpty() && bytes + b > BUCKET_BYTES) { buckets.add(bucket); bucket = new ArrayList<>(); bytes = 0; }
                bucket.add(p);
                bytes += b;
            }
            if (!bucket.isEmpty()) buckets.add(bucket);
            List<Tensor> flats = new ArrayList<>();
            List<Work> works = new ArrayList<>();
            for (List<Tensor> ps : buckets) {                              // launch every bucket's all-reduce, then wait
                Tensor[] parts = new Tensor[ps.size()];
                for (int i = 0; i < parts.length; i++) {
                    Tensor p = ps.get(i), g = p.grad();
                    if (!g.defined()) throw new IllegalStateException("rank " + rank + ": a parameter of shape " + java.util.Arrays.toString(Torch.shape(p))
                            + " has no gradient; data-parallel training needs every trained parameter in every rank's loss");
                    parts[i] = g.reshape(-1);
                }
                Tensor flat = torch.cat(new TensorVector(parts));
                flats.add(flat);
                works.add(backendFor(flat).allreduce(new TensorVector(flat), new AllreduceOptions()));
            }
            for (int k = 0; k < buckets.size(); k++) {
                works.get(k)._wait();
                Tensor flat = flats.get(k).div_(Torch.s((double) world));
                long off = 0;
                for (Tensor p : buckets.get(k)) {
                    Tensor avg = flat.narrow(0, off, p.numel()).view(p.sizes());
                    p.grad().copy_(avg);
                    off += p.numel();
                }
            }
        }
    }

    /** Gloo for CPU tensors; NCCL for CUDA tensors (untested: the CPU build in use has no NCCL). */
    private synchronized Backend backendFor(Tensor t) {
        if (!t.is_cuda()) return pg;
        if (nccl == null)
            try {
                nccl = new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(store, rank, world);
            } catch (Throwable e) {
                throw new UserError("rank " + rank + ": CUDA tensors need ProcessGroupNCCL, which this build of the PyTorch presets cannot create: " + e.getMessage());
            }
        return nccl;
    }

    /**
     * A loss that is a mean over this rank's {@code localCount} items (tokens), rescaled so that averaging the ranks'
     * gradients gives the gradient of the mean over all ranks' items: × W·n_r / Σ n. The identity in one process.
     * (A mean over a fixed number of rows per rank needs no rescaling: the shards are equal.)
     */
    public Tensor asGlobalMean(Tensor localMean, double localCount) {
        if (world == 1) return localMean;
        return localMean.mul(Torch.s(meanWeight(localCount)));
    }

    /**
     * W·n_r / Σ n: the factor that turns this rank's mean over its n_r items into its share of the mean over every rank's
     * items, once the ranks' values are averaged (gradients by all-reduce, metrics by the loop): (1/W)·Σ_r W·(n_r/N)·mean_r =
     * Σ_r n_r·mean_r / N. 1 in one process; 0 when no rank has an item. A collective: every rank calls it.
     */
    public double meanWeight(double localCount) {
        if (world == 1) return 1.0;
        double total = sum(localCount);
        return total > 0 ? world * localCount / total : 0.0;
    }

    /** Element-wise sum of {@code values} over the ranks (float64, exact for counts). */
    public double[] sum(double[] values) {
        if (world == 1 || values.length == 0) return values;
        try (PointerScope scope = new PointerScope()) {
            Tensor t = Torch.doubles(values, values.length);
            pg.allreduce(new TensorVector(t), new AllreduceOptions())._wait();
            return Torch.toDoubles(t);
        }
    }

    public double sum(double value) { return sum(new double[]{value})[0]; }

    /** The mean of {@code value} over the ranks. */
    public double mean(double value) { return world == 1 ? value : sum(value) / world; }

    /**
     * Every rank's {@code local} concatenated in rank order (all ranks pass the same length). Gathered with one
     * all-reduce of a zero-filled W·n vector in which each rank fills its own slot: adding zeros is exact.
     */
    public double[] allGather(double[] local) {
        if (world == 1) return local;
        double[] all = new double[local.length * world];
        System.arraycopy(local, 0, all, rank * local.length, local.length);
        return sum(all);
    }

    /**
     * Averages a step's metrics over the ranks in place. Every rank must log the same names in the same order; a
     * mismatch (a rank that skipped some work) is an internal error, not a silent average of different things.
     */
    public void averageMetrics(Map<String, Double> m) {
        if (world == 1) return;
        double[] v = new double[m.size() + 1];
        int i = 0;
        for (var e : m.entrySet()) v[i++] = e.getValue();
        v[i] = String.join(",", m.keySet()).hashCode();
        double[] s = sum(v);
        if (s[i] != v[i] * world) throw new IllegalStateException("rank " + rank + ": the ranks logged different metrics (" + m.keySet() + ")");
        i = 0;
        for (var e : m.entrySet()) e.setValue(s[i++] / world);
    }

    /** Waits until every rank got here. */
    public void barrier() {
        if (world > 1) pg.barrier()._wait();
    }

    @Override
    public synchronized void close() {
        if (this == SINGLE) return;
        current = SINGLE;
        if (nccl != null) nccl.close();
        pg.close();
        store.close();
    }
}
