package dev.align4j.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.generate.Sampler;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.loss.SftLoss;
import dev.align4j.model.*;
import dev.align4j.train.AdamW;
import dev.align4j.train.Precision;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.*;

/**
 * Speed measurements, all in one run so the numbers are comparable: the GEMM GFLOP/s libtorch reaches
 * here (1024³, fp32 and bf16; the best of the repeats, as a peak), then per model size the forward
 * tokens/s, the SFT training step (forward + backward + clip + AdamW) and the DPO step (policy forward +
 * backward on chosen and rejected, reference forward, sigmoid loss, clip + AdamW), each in fp32 and in bf16
 * mixed precision ({@link Precision#BFLOAT16}: bf16 autocast over fp32 weights, the two alternating within every
 * repeat so that both see the same machine state), with model-FLOPs utilisation against the faster of the two
 * GEMM figures, and KV-cache generation tokens/s at several batch sizes.
 * Model FLOPs per token: 2·N forward, 6·N training (N = non-embedding parameters + LM head),
 * attention terms included; a DPO token costs 6·N (policy) + 2·N (reference).
 */
public final class Bench {
    private Bench() {}

    public record Options(List<String> sizes, int seqLen, int trainBatch, List<Integer> genBatches, int genTokens, int repeats,
                          int memorySteps, String loraSize, int loraSteps, String loraArms, boolean gradientCheckpointing) {
        public Options {
            dev.align4j.core.UserError.check(memorySteps == 0 || memorySteps >= 100,
                    "--memory-steps must be 0 (skip) or at least 100 (it compares the first 50 steps with the last 50), got " + memorySteps);
        }
    }

    public static ObjectNode run(Options o) {
        Torch.init();
        ObjectNode out = Json.object();
        out.put("threads", Torch.threads());
        out.put("cores", Runtime.getRuntime().availableProcessors());
        double gemm32 = gemm(ScalarType.Float, o.repeats()), gemm16 = gemm(ScalarType.BFloat16, o.repeats());
        double gemm = Math.max(gemm32, gemm16);                                     // the MFU denominator: the faster GEMM
        out.put("gemm_fp32_gflops", gemm32);
        out.put("gemm_bf16_gflops", gemm16);
        out.put("gemm_peak_gflops", gemm);
        // bf16 steps where bf16 products run at least at a quarter of fp32's speed; on a CPU without bf16 units (~0.8 GFLOP/s) one step would take minutes
        boolean bf16Steps = gemm16 >= 0.25 * gemm32;
        System.err.printf("GEMM 1024^3: fp32 %.1f GFLOP/s, bf16 %.1f GFLOP/s (%d threads); MFU against %.1f%s%n", gemm32, gemm16, Torch.threads(), gemm,
                bf16Steps ? "" : "; bf16 training steps skipped (bf16 GEMM below a quarter of fp32)");
        // memory first: measured after the model sizes, the baseline would be the allocator's leftovers from the largest one
        if (o.memorySteps() > 0) out.set("memory", memory(o.memorySteps()));
        if (o.loraSize() != null && o.loraSteps() > 0) out.set("lora_dpo_memory", loraDpoMemory(o.loraSize(), o.trainBatch(), o.seqLen(), o.loraSteps(), LORA, o.loraArms(), o.gradientCheckpointing()));
        ArrayNode models = out.putArray("models");
        for (String size : o.sizes()) {
            if (size.equals("none")) continue;                                  // --sizes none: only the memory measurements
            ModelConfig c = ModelConfig.builtin(size, 32_000, 1, new int[]{2}, 0);
            ObjectNode r = models.addObject();
            r.put("size", size);
            r.put("parameters", c.parameterCount());
            double flopsPerToken = 2.0 * nonEmbedding(c) + 2.0 * c.numLayers() * o.seqLen() * c.numHeads() * c.headDim(); // fwd
            try (LlamaModel m = LlamaModel.init(c, 0, ScalarType.Float)) {
                int b = o.trainBatch(), t = o.seqLen();
                Random rng = new Random(0);
                long[] ids = new long[b * t];
                for (int i = 0; i < ids.length; i++) ids[i] = 3 + rng.nextInt(c.vocabSize() - 3);
                // forward
                double fwd = time(o.repeats(), () -> {
                    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                        Torch.item(m.logits(Torch.longs(ids, b, t), null).sum());
                    }
                });
                double fwdTps = b * t / fwd;
                r.put("forward_tokens_per_s", fwdTps);
                r.put("forward_mfu", fwdTps * flopsPerToken / 1e9 / gemm);
                // training step: forward + backward + AdamW
                m.requiresGrad(true);
                try (AdamW opt = new AdamW(m.parameters(), 0.01)) {
                    List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
                    for (int i = 0; i < b; i++) {
                        int[] p = new int[t / 2], q = new int[t - t / 2];
                        for (int j = 0; j < p.length; j++) p[j] = (int) ids[i * t + j];
                        for (int j = 0; j < q.length; j++) q[j] = (int) ids[i * t + p.length + j];
                        prompts.add(p);
                        comps.add(q);
                    }
                    Runnable sft = () -> sftStep(m, opt, prompts, comps);
                    double[][] steps = paired(o.repeats(), sft, bf16Steps ? mixed(sft) : null);
                    put(r, "train", b * t, steps, 3 * flopsPerToken, gemm);
                    // DPO step: b/2 pairs = b sequences, the same tokens as the SFT step
                    try (LlamaModel ref = m.copy(ScalarType.Float)) {
                        List<int[]> dpoPrompts = new ArrayList<>(prompts.subList(0, b / 2)), dpoComps = new ArrayList<>(comps.subList(0, b / 2));
                        dpoPrompts.addAll(prompts.subList(0, b / 2));
                        dpoComps.addAll(comps.subList(b / 2, b));               // rows 0..b/2−1 chosen, b/2..b−1 rejected
                        Runnable dpo = () -> {
                            try (PointerScope s = new PointerScope(); SeqBatch batch = SeqBatch.of(dpoPrompts, dpoComps, 0)) {
                                Tensor refSum;
                                try (NoGradGuard g = new NoGradGuard()) {
                                    refSum = Scoring.score(ref, batch, false).sum();
                                }
                                Tensor sum = Scoring.score(m, batch, false).sum();
                                int half = b / 2;
                                PreferenceLoss.compute(PreferenceLoss.Variant.SIGMOID, sum.narrow(0, 0, half), sum.narrow(0, half, half),
                                        refSum.narrow(0, 0, half), refSum.narrow(0, half, half), 0.1, 0, 0).losses().mean().backward();
                            }
                            opt.clipGradNorm(1.0);
                            opt.step(1e-4);
                            opt.zeroGrad();
                        };
                        put(r, "dpo", b * t, paired(o.repeats(), dpo, bf16Steps ? mixed(dpo) : null), 4 * flopsPerToken, gemm);
                    }
                }
                m.requiresGrad(false);
                // generation with the KV cache
                double[][] tps = generation(m, o.genBatches(), o.genTokens(), o.repeats());
                ObjectNode gen = r.putObject("generate_tokens_per_s"), speedup = r.putObject("generate_speedup_vs_first_batch");
                for (int k = 0; k < tps.length; k++) {
                    gen.put(String.valueOf(o.genBatches().get(k)), median(tps[k]));
                    double[] ratio = new double[o.repeats()];
                    for (int i = 0; i < ratio.length; i++) ratio[i] = tps[k][i] / tps[0][i];
                    speedup.put(String.valueOf(o.genBatches().get(k)), median(ratio));
                }
                System.err.printf("%-6s %,12d params  forward %,7.0f tok/s (MFU %4.1f%%)  SFT %,6.0f tok/s (MFU %4.1f%%)  DPO %,6.0f tok/s (MFU %4.1f%%)  %s generate %s tok/s, speedup over batch %d %s%n",
                        size, c.parameterCount(), fwdTps, 100 * r.get("forward_mfu").asDouble(), r.get("train_tokens_per_s").asDouble(),
                        100 * r.get("train_mfu").asDouble(), r.get("dpo_tokens_per_s").asDouble(), 100 * r.get("dpo_mfu").asDouble(),
                        !r.has("train_bf16_tokens_per_s") ? "" : String.format("bf16 mixed: SFT %,6.0f tok/s (MFU %4.1f%%, %.2fx)  DPO %,6.0f tok/s (MFU %4.1f%%, %.2fx) ",
                                r.get("train_bf16_tokens_per_s").asDouble(), 100 * r.get("train_bf16_mfu").asDouble(), r.get("train_bf16_speedup").asDouble(),
                                r.get("dpo_bf16_tokens_per_s").asDouble(), 100 * r.get("dpo_bf16_mfu").asDouble(), r.get("dpo_bf16_speedup").asDouble()),
                        rounded(gen, 1), o.genBatches().get(0), rounded(speedup, 2));
            }
        }
        return out;
    }

    /**
     * Resident memory (VmRSS) of this process after 50 and after {@code steps} training steps (forward,
     * backward, clip, AdamW) of the tiny model (8k vocabulary) at batch 8 × 64: a flat pattern shows that
     * every step's native tensors are released.
     */
    static ObjectNode memory(int steps) {
        ObjectNode r = Json.object();
        ModelConfig c = ModelConfig.builtin("tiny", 8_000, 1, new int[]{2}, 0);
        try (LlamaModel m = LlamaModel.init(c, 0, ScalarType.Float)) {
            m.requiresGrad(true);
            Random rng = new Random(1);
            double peakFirst = 0, peakLast = 0;   // high-water marks of the first and the last 50 steps
            try (AdamW opt = new AdamW(m.parameters(), 0.01)) {
                for (int step = 1; step <= steps; step++) {
                    memoryStep(m, opt, rng);
                    Torch.releaseFreedMemory(step);   // as every trainer does at the end of a step
                    double now = rssMb();
                    if (step <= 50) peakFirst = Math.max(peakFirst, now);
                    if (step > steps - 50) peakLast = Math.max(peakLast, now);
                    if (step == 50 || step == steps) {
                        // no System.gc(): a full collection itself touches new pages, and the young generation is small and fixed (the launcher's -Xmn)
                        double rss = rssMb();
                        Runtime rt = Runtime.getRuntime();
                        double heap = rt.totalMemory() / 1048576.0;
                        r.put("rss_mb_after_" + step, rss);
                        r.put("java_heap_committed_mb_after_" + step, heap);
                        r.put("native_mb_after_" + step, rss - heap);   // resident memory outside the Java heap: libtorch, JIT code, metaspace
                    }
                }
            }
            r.put("rss_mb_peak_steps_1_50", peakFirst);
            r.put("rss_mb_peak_last_50_steps", peakLast);
        }
        double a = r.get("rss_mb_after_50").asDouble(), b = r.get("rss_mb_after_" + steps).asDouble();
        double na = r.get("native_mb_after_50").asDouble(), nb = r.get("native_mb_after_" + steps).asDouble();
        r.put("growth_percent", 100 * (b - a) / a);
        r.put("native_growth_percent", 100 * (nb - na) / na);
        double pf = r.get("rss_mb_peak_steps_1_50").asDouble(), pl = r.get("rss_mb_peak_last_50_steps").asDouble();
        r.put("peak_growth_percent", 100 * (pl - pf) / pf);
        System.err.printf("memory (tiny with an 8k vocabulary, batch 8 x 64, training steps): RSS %.0f MB after 50 steps, %.0f MB after %d (%+.1f%%); "
                        + "highest in steps 1-50 %.0f MB, in the last 50 %.0f MB (%+.1f%%); outside the Java heap %.0f -> %.0f MB (%+.1f%%)%n",
                a, b, steps, 100 * (b - a) / a, pf, pl, 100 * (pl - pf) / pf, na, nb, 100 * (nb - na) / na);
        return r;
    }

    /** The benchmarked DPO step: reference forward without gradients, policy forward, sigmoid loss, backward, clip, AdamW (rows: chosen then rejected). */
    static void dpoStep(LlamaModel m, LlamaModel ref, AdamW opt, List<int[]> prompts, List<int[]> comps) {
        int half = prompts.size() / 2;
        try (PointerScope s = new PointerScope(); SeqBatch batch = SeqBatch.of(prompts, comps, 0)) {
            Tensor refSum;
            try (NoGradGuard g = new NoGradGuard()) {
                refSum = Scoring.score(ref, batch, false).sum();
            }
            Tensor sum = Scoring.score(m, batch, false).sum();
            Recompute.backward(PreferenceLoss.compute(PreferenceLoss.Variant.SIGMOID, sum.narrow(0, 0, half), sum.narrow(0, half, half),
                    refSum.narrow(0, 0, half), refSum.narrow(0, half, half), 0.1, 0, 0).losses().mean());   // the loop's backward
        }
        opt.clipGradNorm(1.0);
        opt.step(1e-4);
        opt.zeroGrad();
    }

    /** The adapters of the LoRA memory measurement: r = 16, α = 32 on every linear layer of the blocks (QLoRA's choice of layers). */
    static final Lora.Config LORA = new Lora.Config(16, 32, 0.0, List.of(Lora.ALL_LINEAR), false, false);

    /**
     * Peak resident memory of DPO steps with LoRA adapters against full DPO on the same model ({@code size}, 32k vocabulary,
     * {@code batch} rows = batch/2 pairs of {@code seqLen} tokens; the bench's DPO step, which keeps the reference for
     * every step as TRL does without precomputed reference log-probs). LoRA runs first, each on a fresh model: the
     * high-water mark (VmHWM) is reset through /proc/self/clear_refs before the steps. Reported per run: resident memory
     * before the model, after its weights, what creating the reference added (LoRA: the adapter-free view, no copy; full:
     * a deep copy), the peak over the steps, and the peak above the process's memory before the model (the training's own).
 * Both arms run once on the nano size first, so that libtorch's and the JIT's one-time allocations are made before either is measured.
     */
    static ObjectNode loraDpoMemory(String size, int batch, int seqLen, int steps, Lora.Config lc, String arms, boolean checkpointing) {
        if (!size.equals("nano")) loraDpoMemory("nano", 4, 16, 1, lc, "both", checkpointing);          // warm-up: lazy native initialisation would count against the first arm
        ObjectNode r = Json.object();
        ModelConfig c = ModelConfig.builtin(size, 32_000, 1, new int[]{2}, 0);
        r.put("size", size);
        r.put("parameters", c.parameterCount());
        r.put("batch", batch);
        r.put("seq_len", seqLen);
        r.put("steps", steps);
        r.put("lora", lc.toString());
        r.put("gradient_checkpointing", checkpointing);
        Random rng = new Random(2);
        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            int[] p = new int[seqLen / 2], q = new int[seqLen - seqLen / 2];
            for (int j = 0; j < p.length; j++) p[j] = 3 + rng.nextInt(31_990);
            for (int j = 0; j < q.length; j++) q[j] = 3 + rng.nextInt(31_990);
            prompts.add(i < batch / 2 ? p : prompts.get(i - batch / 2));             // rejected rows share the chosen rows' prompts
            comps.add(q);
        }
        for (boolean lora : new boolean[]{true, false}) {
            if (!arms.equals("both") && !arms.equals(lora ? "lora" : "full")) continue;
            ObjectNode o = r.putObject(lora ? "lora_dpo" : "full_dpo");
            org.bytedeco.javacpp.Pointer.trimMemory();
            double start = rssMb();
            o.put("rss_mb_before_model", start);
            try (LlamaModel m = LlamaModel.init(c, 0, ScalarType.Float)) {
                if (lora) m.attach(Lora.create(m, lc, null, 0));
                m.gradientCheckpointing(checkpointing);
                double weights = rssMb();
                o.put("rss_mb_after_weights", weights);
                o.put("trainable_parameters", m.trainableParameters().values().stream().mapToLong(Tensor::numel).sum());
                try (LlamaModel ref = m.reference()) {
                    double withRef = rssMb();
                    o.put("reference_mb", withRef - weights);
                    try (AdamW opt = new AdamW(m.trainableParameters(), 0.0)) {
                        m.requiresGrad(true);
                        resetPeak();
                        long t0 = System.nanoTime();
                        for (int s = 1; s <= steps; s++) {
                            dpoStep(m, ref, opt, prompts, comps);
                            Torch.releaseFreedMemory(s);
                        }
                        o.put("seconds_per_step", (System.nanoTime() - t0) / 1e9 / steps);
                        double peak = peakMb();
                        o.put("rss_mb_peak", peak);
                        o.put("peak_mb_above_start", peak - start);
                        m.requiresGrad(false);
                    }
                }
            }
        }
        ObjectNode l = (ObjectNode) r.get("lora_dpo"), f = (ObjectNode) r.get("full_dpo");
        if (l == null || f == null) {                                          // one arm (its own process: nothing left over from the other)
            ObjectNode a = l != null ? l : f;
            System.err.printf("lora dpo memory (%s, batch %d x %d, %d steps, %s arm%s): peak RSS %.0f MB, %.0f MB above the process before the model; reference adds %.1f MB%n",
                    size, batch, seqLen, steps, l != null ? "LoRA" : "full", checkpointing ? ", gradient checkpointing" : "", a.get("rss_mb_peak").asDouble(), a.get("peak_mb_above_start").asDouble(), a.get("reference_mb").asDouble());
            return r;
        }
        r.put("peak_ratio", l.get("rss_mb_peak").asDouble() / f.get("rss_mb_peak").asDouble());
        r.put("peak_above_start_ratio", l.get("peak_mb_above_start").asDouble() / f.get("peak_mb_above_start").asDouble());
        System.err.printf("lora dpo memory (%s, batch %d x %d, %d steps, %s): peak RSS LoRA %.0f MB vs full %.0f MB (%.1f%%); above the process before the model %.0f vs %.0f MB (%.1f%%); "
                        + "reference adds %.1f MB (LoRA view) vs %.1f MB (full copy)%n", size, batch, seqLen, steps, String.join(",", lc.modules()),
                l.get("rss_mb_peak").asDouble(), f.get("rss_mb_peak").asDouble(), 100 * r.get("peak_ratio").asDouble(),
                l.get("peak_mb_above_start").asDouble(), f.get("peak_mb_above_start").asDouble(), 100 * r.get("peak_above_start_ratio").asDouble(),
                l.get("reference_mb").asDouble(), f.get("reference_mb").asDouble());
        return r;
    }

    /** Resets this process's resident high-water mark (VmHWM) on Linux ({@code echo 5 > /proc/self/clear_refs}); elsewhere nothing. */
    static void resetPeak() {
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of("/proc/self/clear_refs"), "5");
        } catch (java.io.IOException | SecurityException e) {
            // not Linux: the peak then counts from the process start
        }
    }

    /** The resident high-water mark (VmHWM) in MB since the start or the last {@link #resetPeak}; 0 where /proc is missing. */
    static double peakMb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        } catch (java.io.IOException e) {
            // not Linux: report 0
        }
        return 0;
    }

    /** One step of the memory check: 8 random sequences of 32 prompt + 32 completion tokens (vocabulary 8k), {@link #sftStep}. */
    public static void memoryStep(LlamaModel m, AdamW opt, Random rng) {
        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] p = new int[32], q = new int[32];
            for (int j = 0; j < 32; j++) { p[j] = 3 + rng.nextInt(7_900); q[j] = 3 + rng.nextInt(7_900); }
            prompts.add(p);
            comps.add(q);
        }
        sftStep(m, opt, prompts, comps);
    }

    /** The benchmarked SFT step: forward, NLL on the completions, the loop's backward, global-norm clip, AdamW; returns the loss. */
    static double sftStep(LlamaModel m, AdamW opt, List<int[]> prompts, List<int[]> comps) {
        double loss;
        try (PointerScope s = new PointerScope(); SeqBatch batch = SeqBatch.of(prompts, comps, 0)) {
            Scoring.Scores sc = Scoring.score(m, batch, false);
            Tensor l = SftLoss.nll(sc.tokenLogps(), sc.mask());
            loss = Torch.item(l);
            Recompute.backward(l);
        }
        opt.clipGradNorm(1.0);
        opt.step(1e-4);
        opt.zeroGrad();
        return loss;
    }

    /** {@code step} in bf16 mixed precision, as the training loop runs it under {@code --dtype bfloat16}. */
    static Runnable mixed(Runnable step) {
        return () -> {
            try (Precision.Autocast ac = Precision.BFLOAT16.autocast()) {
                step.run();
            }
        };
    }

    /**
     * Seconds per run, [0][repeat] for {@code a} and [1][repeat] for {@code b} (null: a only): one warm-up each, then
     * {@code repeats} rounds that run a then b, so that each round's pair shares the machine's state of the moment.
     */
    static double[][] paired(int repeats, Runnable a, Runnable b) {
        a.run();
        if (b != null) b.run();
        double[][] t = new double[b == null ? 1 : 2][repeats];
        for (int i = 0; i < repeats; i++)
            for (int k = 0; k < t.length; k++) {
                long s = System.nanoTime();
                (k == 0 ? a : b).run();
                Torch.sync();                                                          // CUDA runs asynchronously
                t[k][i] = (System.nanoTime() - s) / 1e9;
            }
        return t;
    }

    /**
     * {@code NAME_tokens_per_s} and {@code NAME_mfu} (fp32) from the medians of {@code times}[0], and, when bf16 ran,
     * {@code NAME_bf16_tokens_per_s}, {@code NAME_bf16_mfu} and {@code NAME_bf16_speedup} (the median of the
     * per-round fp32 ÷ bf16 time ratios: a paired comparison).
     */
    static void put(ObjectNode r, String name, int tokens, double[][] times, double flopsPerToken, double gemm) {
        double tps = tokens / median(times[0]);
        r.put(name + "_tokens_per_s", tps);
        r.put(name + "_mfu", tps * flopsPerToken / 1e9 / gemm);
        if (times.length < 2) return;
        double tps16 = tokens / median(times[1]);
        double[] ratio = new double[times[0].length];
        for (int i = 0; i < ratio.length; i++) ratio[i] = times[0][i] / times[1][i];
        r.put(name + "_bf16_tokens_per_s", tps16);
        r.put(name + "_bf16_mfu", tps16 * flopsPerToken / 1e9 / gemm);
        r.put(name + "_bf16_speedup", median(ratio));
    }

    /** Resident memory of this process (VmRSS) in MB; 0 where /proc is missing. */
    public static double rssMb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status")))
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        } catch (java.io.IOException e) {
            // not Linux: report 0
        }
        return 0;
    }

    static long nonEmbedding(ModelConfig c) {
        return c.parameterCount() - (long) c.vocabSize() * c.hiddenSize() + (long) c.vocabSize() * c.hiddenSize(); // LM head counts; embedding lookup does not
    }

    /**
     * Generation tokens/s, [batch size][repeat]: one warm-up per batch size, then {@code repeats} rounds that each
     * run every batch size once, so each round's figures share the machine's state of the moment (it drifts by up to
     * ±30% here) and the per-round ratio between batch sizes is a paired comparison. Prompts of 8 tokens,
     * {@code tokens} new ones sampled at temperature 1 from the full vocabulary, EOS ignored.
     */
    static double[][] generation(LlamaModel m, List<Integer> batches, int tokens, int repeats) {
        List<List<int[]>> prompts = new ArrayList<>();
        for (int gb : batches) {
            List<int[]> p = new ArrayList<>();
            for (int i = 0; i < gb; i++) p.add(new int[]{1, 5 + i % 50, 6, 7, 8, 9, 10, 11});
            prompts.add(p);
        }
        SamplingConfig sc = new SamplingConfig(tokens, 1.0, 0, 1.0, 1, List.of());
        for (List<int[]> p : prompts) Sampler.generateIgnoringEos(m, p, sc);
        double[][] tps = new double[batches.size()][repeats];
        for (int i = 0; i < repeats; i++)
            for (int k = 0; k < batches.size(); k++) {
                long s = System.nanoTime();
                Sampler.generateIgnoringEos(m, prompts.get(k), sc);
                tps[k][i] = (double) batches.get(k) * tokens / ((System.nanoTime() - s) / 1e9);
            }
        return tps;
    }

    static double median(double[] x) {
        double[] t = x.clone();
        Arrays.sort(t);
        return t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
    }

    /** {"8": 310.26, …} → {"8": 310.3, …}, for the console line. */
    private static String rounded(ObjectNode n, int digits) {
        StringBuilder b = new StringBuilder("{");
        n.fields().forEachRemaining(e -> b.append(b.length() > 1 ? ", " : "").append(e.getKey()).append(": ")
                .append(String.format("%." + digits + "f", e.getValue().asDouble())));
        return b.append("}").toString();
    }

    /** Median seconds of {@code repeats} runs after one warm-up run. */
    static double time(int repeats, Runnable r) {
        r.run();
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long s = System.nanoTime();
            r.run();
            Torch.sync();
            t[i] = (System.nanoTime() - s) / 1e9;
        }
        return median(t);
    }

    /** GFLOP/s of a 1024³ matmul: the best of {@code 2·repeats} (at least 6) runs, the machine's peak as libtorch reaches it. */
    static double gemm(ScalarType dtype, int repeats) {
        try (PointerScope s = new PointerScope()) {
            Tensor a = Torch.toDevice(torch.randn(1024, 1024).to(dtype)), b = Torch.toDevice(torch.randn(1024, 1024).to(dtype));
            double best = Double.MAX_VALUE;
            int n = Math.max(6, 2 * repeats);
            for (int i = 0; i <= n; i++) {
                long t0 = System.nanoTime();
                try (PointerScope in = new PointerScope()) {
                    a.matmul(b);
                    Torch.sync();                                                      // CUDA runs asynchronously
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                if (i > 0) best = Math.min(best, sec);                                // run 0 warms up
                if (i == 0 && sec > 0.5) n = 2;                                        // bf16 on a CPU without bf16 units (~2.7 s a product)
            }
            return 2.0 * 1024 * 1024 * 1024 / best / 1e9;
        }
    }
}
