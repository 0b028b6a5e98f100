package dev.align4j.train;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Locale;

/**
 * How a training run computes ({@code --dtype}): in fp32, or in bf16 mixed precision, or whichever a short probe
 * finds faster on this CPU ({@link #AUTO}, the default).
 *
 * <p>bf16 mixed precision is libtorch's CPU autocast, as {@code torch.autocast("cpu", torch.bfloat16)} around the
 * training step: the model's weights stay fp32 (they are the master weights, and AdamW's moments are fp32 like
 * them), and while a step runs, matrix products, linear layers and attention cast their inputs to bf16 and return
 * bf16. Everything else runs in its inputs' dtype, which keeps the rest in fp32: the residual stream (embedding +
 * fp32 + bf16 promotes to fp32), so every RMSNorm; rotary embeddings; the logits (cast to fp32 by the LM and score
 * heads), so log-softmax, log-probs and every loss. Backward runs the bf16 products in bf16 and returns fp32
 * gradients to the fp32 weights; clipping and AdamW are fp32. No second (bf16) copy of the model is kept: each step
 * casts the weights afresh (autocast's weight-cast cache is switched off, because libtorch's C++ API as exposed here
 * cannot clear it, and a cached cast would go stale after the optimizer step).
 *
 * <p>Not here: the loop ({@link Loop} opens {@link #autocast()} around each step) and pure-bf16 weights
 * (inference commands' {@code --dtype bfloat16} loads weights in bf16; training never does).
 */
public enum Precision {
    /** bf16 mixed precision when the probe measures bf16 products at least {@link #MIN_SPEEDUP}× faster than fp32; fp32 otherwise. */
    AUTO,
    /** Everything in fp32. */
    FLOAT32,
    /** bf16 compute under autocast, fp32 master weights, optimizer state, norms and losses. */
    BFLOAT16;

    /**
     * How much faster a bf16 product must measure than an fp32 one for {@link #AUTO} to choose bf16. A training step
     * is not all products (it also casts weights and activations, and runs fp32 norms, softmaxes and AdamW), so a
     * small GEMM advantage does not survive in the step; 1.5× is a clear margin, well above the probe's noise.
     */
    public static final double MIN_SPEEDUP = 1.5;

    /** {@code --dtype} values: auto, float32 (fp32), bfloat16 (bf16). */
    public static Precision parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "float32", "fp32", "float", "f32" -> FLOAT32;
            case "bfloat16", "bf16" -> BFLOAT16;
            default -> throw new UserError("dtype must be auto, float32 or bfloat16, got '" + s + "'");
        };
    }

    /** The spelling {@code --dtype} takes. */
    public String flag() { return name().toLowerCase(Locale.ROOT); }

    /**
     * The decision of {@link #AUTO}, a pure function of the probe's two rates (GFLOP/s): bf16 when it is at least
     * {@link #MIN_SPEEDUP}× fp32, fp32 otherwise (and when either rate is not a positive number).
     */
    public static Precision choose(double fp32Gflops, double bf16Gflops) {
        if (!(fp32Gflops > 0) || !(bf16Gflops > 0) || Double.isInfinite(fp32Gflops) || Double.isInfinite(bf16Gflops)) return FLOAT32;
        return bf16Gflops >= MIN_SPEEDUP * fp32Gflops ? BFLOAT16 : FLOAT32;
    }

    /** The environment variable that fixes what {@link #AUTO} resolves to, without probing (the test runner sets it to float32). */
    public static final String AUTO_ENV = "ALIGN4J_AUTO_DTYPE";

    /** The probe's measurement: GFLOP/s of the same product in fp32 and in bf16. */
    public record Rates(double fp32Gflops, double bf16Gflops) {}

    private static volatile Precision autoChoice;

    /** This precision with {@link #AUTO} resolved: by {@value #AUTO_ENV} when set, else by the probe (once per process, printing one line). */
    public Precision resolve() {
        if (this != AUTO) return this;
        Precision p = autoChoice;
        if (p != null) return p;
        synchronized (Precision.class) {
            if (autoChoice != null) return autoChoice;
            String env = System.getenv(AUTO_ENV);
            if (env != null && !env.isBlank()) {
                Precision fixed = parse(env);
                if (fixed == AUTO) throw new UserError("environment variable " + AUTO_ENV + ": expected float32 or bfloat16, got '" + env + "'");
                System.err.println("dtype auto: " + fixed.describe() + " (set by " + AUTO_ENV + ")");
                return autoChoice = fixed;
            }
            if (Torch.onCuda()) {                                     // bf16 tensor cores on every CUDA GPU since Ampere
                System.err.println("dtype auto: " + BFLOAT16.describe() + " (on " + Torch.deviceName() + ")");
                return autoChoice = BFLOAT16;
            }
            Rates r = probe();
            Precision c = choose(r.fp32Gflops(), r.bf16Gflops());
            System.err.printf(Locale.ROOT, "dtype auto: %s (probe, %d threads: %d^3 product bf16 %.1f GFLOP/s vs fp32 %.1f GFLOP/s, %.2fx; bf16 needs >= %.1fx)%n",
                    c.describe(), Torch.threads(), PROBE_N, r.bf16Gflops(), r.fp32Gflops(), r.bf16Gflops() / r.fp32Gflops(), MIN_SPEEDUP);
            return autoChoice = c;
        }
    }

    /** "float32" or "bfloat16 mixed precision" (for logs). */
    public String describe() {
        return this == BFLOAT16 ? "bfloat16 mixed precision" : flag();
    }

    /** Side of the probe's square product: small enough that a CPU without bf16 units (~0.8 GFLOP/s) costs ~40 ms a product. */
    static final int PROBE_N = 256;

    /** Wall-clock budget of the probe's timed repeats. */
    static final long PROBE_BUDGET_NANOS = 150_000_000L;

    /**
     * Times a {@value #PROBE_N}³ matrix product in fp32 and in bf16 on the current intra-op threads: one untimed warm-up
     * each (oneDNN compiles its bf16 kernel on the first call, ~10 ms, which must not count), then fp32 and bf16
     * alternately (so both see the same machine state) for up to 8 rounds within {@link #PROBE_BUDGET_NANOS}, keeping
     * each dtype's fastest run (the peak, robust to other processes' bursts), and at least 2 rounds whatever the clock
     * says: one pre-empted product must not decide. On a CPU without bf16 units (~40 ms a bf16 product) that is about
     * 0.2 s; elsewhere tens of milliseconds (up to ~0.7 s for a first probe measured on a 2-core machine at load 36).
     */
    public static Rates probe() {
        Torch.init();
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            long n = PROBE_N;
            Tensor a = torch.randn(n, n), b = torch.randn(n, n);
            Tensor a16 = a.to(ScalarType.BFloat16), b16 = b.to(ScalarType.BFloat16);
            return rounds(bf16 -> bf16 ? seconds(a16, b16) : seconds(a, b), 2.0 * n * n * n, PROBE_BUDGET_NANOS);
        }
    }

    /** The probe's schedule over {@code time} (seconds of one fp32 or bf16 product of {@code flops}); see {@link #probe}. */
    static Rates rounds(java.util.function.ToDoubleFunction<Boolean> time, double flops, long budgetNanos) {
        time.applyAsDouble(false);                                      // warm-ups, not counted
        time.applyAsDouble(true);
        double bestF = Double.MAX_VALUE, bestB = Double.MAX_VALUE;
        long deadline = System.nanoTime() + budgetNanos;
        for (int i = 0; i < 8 && (i < 2 || System.nanoTime() < deadline); i++) {
            bestF = Math.min(bestF, time.applyAsDouble(false));
            bestB = Math.min(bestB, time.applyAsDouble(true));
        }
        return new Rates(flops / bestF / 1e9, flops / bestB / 1e9);
    }

    private static double seconds(Tensor a, Tensor b) {
        long t0 = System.nanoTime();
        try (PointerScope in = new PointerScope()) {
            a.matmul(b);
        }
        return Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Opens this precision's compute mode on the calling thread until closed: for {@link #BFLOAT16}, CPU autocast to
     * bf16 with the weight-cast cache off; for {@link #FLOAT32} nothing. Closing restores the previous state. Must be
     * resolved ({@link #resolve}) first.
     */
    public Autocast autocast() {
        if (this == AUTO) throw new IllegalStateException("resolve() the precision first");
        return new Autocast(this == BFLOAT16);
    }

    /** An open compute mode ({@link #autocast()}); thread-local, as libtorch's autocast state is. */
    public static final class Autocast implements AutoCloseable {
        private final boolean on, wasEnabled, wasCaching;
        private final ScalarType wasDtype;
        private final DeviceType device = Torch.onCuda() ? DeviceType.CUDA : DeviceType.CPU;   // autocast of the compute device

        private Autocast(boolean on) {
            this.on = on;
            if (!on) {
                wasEnabled = wasCaching = false;
                wasDtype = null;
                return;
            }
            wasEnabled = torch.is_autocast_enabled(device);
            wasDtype = torch.get_autocast_dtype(device);
            wasCaching = torch.is_autocast_cache_enabled();
            torch.set_autocast_dtype(device, ScalarType.BFloat16);
            torch.set_autocast_cache_enabled(false);
            torch.set_autocast_enabled(device, true);
        }

        @Override
        public void close() {
            if (!on) return;
            torch.set_autocast_enabled(device, wasEnabled);
            torch.set_autocast_dtype(device, wasDtype);
            torch.set_autocast_cache_enabled(wasCaching);
        }
    }
}
