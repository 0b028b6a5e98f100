package dev.align4j.core;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.List;

/**
 * The one door to libtorch: safe native loading, thread settings and small helpers that move data
 * between Java arrays and tensors. Deliberately not a tensor library: model and loss code call
 * {@code org.bytedeco.pytorch.global.torch} directly.
 */
public final class Torch {
    private static volatile boolean loaded;
    static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";
    static final String EXTENSION = "org.bytedeco.javacpp.platform.extension";
    private static volatile Device device;          // null: the CPU (the default); else a CUDA device ({@link #useDevice})

    private Torch() {}

    /**
     * Loads the natives once. On a cold JavaCPP cache the first load can SIGSEGV; extracting the
     * native resource folders first avoids it (see BACKEND-NOTES.md). Intra-op threads default to all
     * cores; the {@code ALIGN4J_THREADS} environment variable or {@link #setThreads} overrides.
     *
     * <p>JavaCPP's physical-memory guard is switched off ({@code org.bytedeco.javacpp.maxPhysicalBytes=0})
     * unless the caller set it: with the guard on, every native object JavaCPP allocates (each tensor handle,
     * optional, scalar) reads the process's resident size first, which tripled the cost of a small libtorch
     * call (x.mul(g) on 384 floats: 6.2 → 2.0 µs; docs/benchmarks.md). align4j frees native memory through
     * scopes, not through the guard's forced garbage collections. It must be set before JavaCPP's
     * {@code Pointer} class initialises, hence here, first.
     */
    public static synchronized void init() {
        if (loaded) return;
        if (System.getProperty(MAX_PHYSICAL_BYTES) == null && System.getProperty(MAX_PHYSICAL_BYTES.toLowerCase()) == null)
            System.setProperty(MAX_PHYSICAL_BYTES, "0");
        // The CUDA build (mvn -Pcuda: pytorch's linux-x86_64-gpu jar and the CUDA runtime) keeps its natives under the
        // "-gpu" platform extension; JavaCPP loads them only when told so.
        boolean gpuBuild = Torch.class.getResource("/org/bytedeco/pytorch/linux-x86_64-gpu/") != null;
        if (gpuBuild && System.getProperty(EXTENSION) == null) System.setProperty(EXTENSION, "-gpu");
        try {
            List<String> dirs = gpuBuild
                    ? List.of("/org/bytedeco/openblas/linux-x86_64/", "/org/bytedeco/cuda/linux-x86_64/", "/org/bytedeco/pytorch/linux-x86_64-gpu/")
                    : List.of("/org/bytedeco/openblas/linux-x86_64/", "/org/bytedeco/pytorch/linux-x86_64/");
            for (String dir : dirs)
                if (Torch.class.getResource(dir) != null) Loader.cacheResources(Loader.class, dir);
        } catch (Exception e) {
            throw new IllegalStateException("could not extract libtorch natives into the JavaCPP cache: " + e, e);
        }
        Loader.load(torch.class);
        String env = System.getenv("ALIGN4J_THREADS");
        int threads = env != null && !env.isBlank() ? Integer.parseInt(env.trim()) : defaultThreads();
        torch.set_num_threads(threads);
        loaded = true;
    }

    /**
     * All cores when OpenMP threads wait passively; otherwise 1. With the default (spinning) wait policy,
     * OpenMP workers fight the JVM's own threads and 2 threads ran 10x slower than 1 on a 2-core machine.
     * The policy is read when libgomp loads, so it must come from the environment: the {@code align4j}
     * launcher and the test runner set {@code OMP_WAIT_POLICY=PASSIVE}.
     */
    static int defaultThreads() {
        String policy = System.getenv("OMP_WAIT_POLICY");
        return policy != null && policy.equalsIgnoreCase("passive") ? Runtime.getRuntime().availableProcessors() : 1;
    }

    public static void setThreads(int n) {
        init();
        if (n <= 0) throw new IllegalArgumentException("threads must be > 0: " + n);
        torch.set_num_threads(n);
    }

    public static int threads() { init(); return torch.get_num_threads(); }

    /**
     * Bitwise-reproducible mode: one intra-op thread (so every reduction adds in the same order) and
     * libtorch's deterministic algorithms. Slower; used by {@code --deterministic} and the kill/resume tests.
     */
    public static void deterministic() {
        init();
        torch.set_num_threads(1);
        torch.globalContext().setDeterministicAlgorithms(true, false);
    }

    /** Steps between returns of freed native memory to the operating system ({@link #releaseFreedMemory(long)}). */
    public static final int RELEASE_EVERY = 10;

    /**
     * Every {@link #RELEASE_EVERY} steps, hands memory that libtorch has freed back to the operating system
     * ({@code malloc_trim(0)} through JavaCPP). glibc keeps freed blocks in its arenas, and as tensors of many sizes
     * come and go the free holes between live blocks add up: a training loop's resident memory grew by 24% from
     * step 50 to step 500 without this, and stays within a few percent with it (docs/benchmarks.md). One call
     * costs about 15 ms; every trainer calls this once per step.
     */
    public static void releaseFreedMemory(long step) {
        if (step % RELEASE_EVERY == 0) org.bytedeco.javacpp.Pointer.trimMemory();
    }

    public static Scalar s(double v) { return new Scalar(v); }

    public static Scalar s(long v) { return new Scalar(v); }

    // ------------------------------------------------------------------------------------------ device

    /**
     * Chooses where tensors live and compute: {@code cpu}, {@code cuda} / {@code cuda:N}, or {@code auto} (CUDA when
     * this build and machine have it, else the CPU). The default build is CPU-only; {@code mvn -Pcuda package} brings
     * libtorch's CUDA build (README, "CUDA"). Call before building models: tensors made earlier stay where they are.
     */
    public static void useDevice(String spec) {
        init();
        String s = spec == null ? "auto" : spec.trim().toLowerCase(java.util.Locale.ROOT);
        boolean cuda = torch.cuda_is_available();
        if (s.equals("cpu") || (s.equals("auto") && !cuda)) {
            device = null;
            return;
        }
        if (s.equals("auto")) s = "cuda";
        if (!s.matches("cuda(:[0-9]+)?"))
            throw new UserError("--device: expected cpu, cuda, cuda:N or auto, got '" + spec + "'");
        if (!cuda)
            throw new UserError("--device " + spec + ": no CUDA device is available to libtorch here"
                    + (Torch.class.getResource("/org/bytedeco/pytorch/linux-x86_64-gpu/") == null
                    ? " (this is the CPU-only build; build the CUDA one with: mvn -Pcuda -DskipTests package)" : " (a CUDA build, but no GPU or driver was found)"));
        int index = s.contains(":") ? Integer.parseInt(s.substring(5)) : 0;
        int count = torch.cuda_device_count();
        if (index >= count) throw new UserError("--device " + spec + ": this machine has " + count + " CUDA device(s)");
        device = new Device(torch.DeviceType.CUDA, (byte) index);
        device.retainReference();                                              // process-lifetime
    }

    /** Waits for the compute device's queued work (CUDA runs asynchronously; timing needs it); nothing on the CPU. */
    public static void sync() { if (device != null) torch.cuda_synchronize(); }

    /** True when tensors are made on a CUDA device ({@link #useDevice}). */
    public static boolean onCuda() { return device != null; }

    /** The compute device as text: "cpu" or "cuda:N". */
    public static String deviceName() { return device == null ? "cpu" : "cuda:" + device.index(); }

    /** {@code t} on the compute device (itself when it is there already). */
    public static Tensor toDevice(Tensor t) { return device == null || t.device().is_cuda() ? t : t.to(device, t.scalar_type()); }

    /** Options for a new tensor of dtype {@code t} on the compute device. */
    public static TensorOptions opts(ScalarType t) {
        TensorOptions o = new TensorOptions(t);
        return device == null ? o : o.device(new DeviceOptional(device));
    }

    /** Options for a new tensor on the CPU: host data, and draws from a CPU generator (moved with {@link #toDevice}). */
    public static TensorOptions cpuOpts(ScalarType t) { return new TensorOptions(t); }

    /** A new tensor (owned by the caller, on the compute device) holding a copy of {@code data} with the given shape. */
    public static Tensor longs(long[] data, long... shape) {
        try (LongPointer p = new LongPointer(data)) {
            return toDevice(torch.from_blob(p, shape, cpuOpts(ScalarType.Long)).clone());
        }
    }

    public static Tensor floats(float[] data, long... shape) {
        try (FloatPointer p = new FloatPointer(data)) {
            return toDevice(torch.from_blob(p, shape, cpuOpts(ScalarType.Float)).clone());
        }
    }

    public static Tensor doubles(double[] data, long... shape) {
        try (DoublePointer p = new DoublePointer(data)) {
            return toDevice(torch.from_blob(p, shape, cpuOpts(ScalarType.Double)).clone());
        }
    }

    /** {@code t} detached and on the CPU (itself, detached, when it is there already): for reading values into Java. */
    public static Tensor host(Tensor t) { return t.device().is_cpu() ? t.detach() : t.detach().cpu(); }

    /** A copy of the tensor's values as doubles (any floating dtype, any shape, row-major). */
    public static double[] toDoubles(Tensor t) {
        try (Tensor c = host(t).to(ScalarType.Double).contiguous()) {
            double[] out = new double[(int) c.numel()];
            if (out.length > 0) c.data_ptr_double().get(out);
            return out;
        }
    }

    public static Tensor bools(boolean[] data, long... shape) {
        byte[] b = new byte[data.length];
        for (int i = 0; i < data.length; i++) b[i] = (byte) (data[i] ? 1 : 0);
        try (BytePointer p = new BytePointer(b)) {
            return toDevice(torch.from_blob(p, shape, cpuOpts(ScalarType.Bool)).clone());
        }
    }

    /** A copy of the tensor's values as floats (any floating dtype, any shape, row-major). */
    public static float[] toFloats(Tensor t) {
        try (Tensor c = host(t).to(ScalarType.Float).contiguous()) {
            float[] out = new float[(int) c.numel()];
            if (out.length > 0) c.data_ptr_float().get(out);
            return out;
        }
    }

    public static long[] toLongs(Tensor t) {
        try (Tensor c = host(t).to(ScalarType.Long).contiguous()) {
            long[] out = new long[(int) c.numel()];
            if (out.length > 0) c.data_ptr_long().get(out);
            return out;
        }
    }

    public static double item(Tensor t) {
        try (Tensor c = t.detach().to(ScalarType.Double)) {
            return c.item_double();
        }
    }

    public static long[] shape(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) s[i] = t.size(i);
        return s;
    }

    /**
     * The tensor's dtype as the canonical enum constant. JavaCPP's {@code scalar_type()} returns a new
     * enum instance (right {@code value}, wrong ordinal), so {@code ==} and {@code switch} on it are wrong.
     */
    public static ScalarType dtypeOf(Tensor t) {
        int v = t.scalar_type().value;
        for (ScalarType s : ScalarType.values()) if (s.value == v) return s;
        throw new IllegalStateException("unknown scalar type " + v);
    }

    public static ScalarType dtype(String name) {
        return switch (name.toLowerCase()) {
            case "float32", "fp32", "float", "f32" -> ScalarType.Float;
            case "bfloat16", "bf16" -> ScalarType.BFloat16;
            case "float16", "fp16", "half", "f16" -> ScalarType.Half;
            default -> throw new UserError("unknown dtype '" + name + "': expected float32, bfloat16 or float16");
        };
    }

    public static String dtypeName(ScalarType t) {
        return switch (t) {
            case Float -> "float32";
            case BFloat16 -> "bfloat16";
            case Half -> "float16";
            default -> t.name().toLowerCase();
        };
    }
}
