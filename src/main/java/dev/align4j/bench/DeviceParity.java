package dev.align4j.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.AdamW;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The device parity check of {@code bench/gpu/run.sh} ({@code ./align4j bench --device-parity DEVICE}): the same
 * built-in model (same seed, initialised on the CPU) on the CPU and on DEVICE — a forward's logits, one SFT step's
 * loss and updated weights ({@link Bench#sftStep}: forward, backward, clip, AdamW), and greedy generation of 16 tokens for 8 prompts — with
 * the largest differences and the share of generated tokens that agree. Run with DEVICE = cpu it compares the CPU with
 * itself (all zero: the plumbing, tested); on a CUDA build with a GPU it is the CUDA path's check.
 */
public final class DeviceParity {
    private DeviceParity() {}

    /** What one device computed. */
    record Run(float[] logits, double loss, float[] weights, List<int[]> greedy) {}

    public static ObjectNode run(String device, String size) {
        Torch.useDevice("cpu");
        Run cpu = compute(size);
        Torch.useDevice(device);
        String name = Torch.deviceName();
        Run dev;
        try {
            dev = compute(size);
        } finally {
            Torch.useDevice("cpu");
        }
        ObjectNode r = Json.object();
        r.put("device", name);
        r.put("size", size);
        r.put("logits_max_abs_diff", maxDiff(cpu.logits(), dev.logits()));
        r.put("logits_max_abs", maxAbs(cpu.logits()));
        r.put("loss_cpu", cpu.loss());
        r.put("loss_device", dev.loss());
        r.put("weights_after_step_max_abs_diff", maxDiff(cpu.weights(), dev.weights()));
        int same = 0, total = 0, rowsEqual = 0;
        for (int i = 0; i < cpu.greedy().size(); i++) {
            int[] a = cpu.greedy().get(i), b = dev.greedy().get(i);
            for (int j = 0; j < Math.max(a.length, b.length); j++, total++) if (j < a.length && j < b.length && a[j] == b[j]) same++;
            if (Arrays.equals(a, b)) rowsEqual++;
        }
        r.put("greedy_tokens_agree", total == 0 ? 1.0 : (double) same / total);
        r.put("greedy_rows_identical", rowsEqual + "/" + cpu.greedy().size());
        System.err.printf("device parity (%s, %s vs cpu): logits max |diff| %.3g (max |logit| %.3g); SFT step loss %.6f vs %.6f, weights max |diff| %.3g; greedy tokens agree %.3f, rows identical %s%n",
                size, name, r.get("logits_max_abs_diff").asDouble(), r.get("logits_max_abs").asDouble(), dev.loss(), cpu.loss(),
                r.get("weights_after_step_max_abs_diff").asDouble(), r.get("greedy_tokens_agree").asDouble(), r.get("greedy_rows_identical").asText());
        return r;
    }

    static Run compute(String size) {
        Path dir;
        try {
            dir = Files.createTempDirectory("align4j-parity");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Tokenizer tok = Tokenizer.writeBuiltin(dir);
        ModelConfig c = ModelConfig.builtin(size, Tokenizer.BUILTIN_VOCAB, Tokenizer.BUILTIN_BOS, new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD);
        Random rng = new Random(5);
        List<int[]> prompts = new ArrayList<>(), comps = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] p = new int[12], q = new int[20];
            for (int j = 0; j < p.length; j++) p[j] = 4 + rng.nextInt(Tokenizer.BUILTIN_VOCAB - 4);
            for (int j = 0; j < q.length; j++) q[j] = 4 + rng.nextInt(Tokenizer.BUILTIN_VOCAB - 4);
            prompts.add(p);
            comps.add(q);
        }
        try (LlamaModel m = LlamaModel.init(c, 0, ScalarType.Float); PointerScope s = new PointerScope()) {
            float[] logits;
            try (SeqBatch batch = SeqBatch.of(prompts, comps, Tokenizer.BUILTIN_PAD)) {
                logits = Torch.toFloats(m.logits(batch.ids(), null).detach());
            }
            double loss;                                                        // one step of the bench's SFT step
            try (AdamW opt = new AdamW(m.trainableParameters(), 0.0)) {
                boolean was = GradMode.is_enabled();
                GradMode.set_enabled(true);
                m.requiresGrad(true);
                try {
                    loss = Bench.sftStep(m, opt, prompts, comps);
                } finally {
                    m.requiresGrad(false);
                    GradMode.set_enabled(was);
                }
            }
            List<float[]> ws = new ArrayList<>();
            int n = 0;
            for (Tensor w : m.parameters().values()) {
                float[] f = Torch.toFloats(w);
                ws.add(f);
                n += f.length;
            }
            float[] weights = new float[n];
            int at = 0;
            for (float[] f : ws) {
                System.arraycopy(f, 0, weights, at, f.length);
                at += f.length;
            }
            List<int[]> greedy = new ArrayList<>();
            for (Completion comp : Sampler.generate(m, tok, prompts, new SamplingConfig(16, 0.0, 0, 1.0, 0, List.of()))) greedy.add(comp.tokens());
            return new Run(logits, loss, weights, greedy);
        }
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float x : a) m = Math.max(m, Math.abs(x));
        return m;
    }
}
