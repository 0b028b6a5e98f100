package dev.align4j.model;

import dev.align4j.core.Torch;

import java.util.HashMap;
import java.util.Map;

/**
 * A loop-level, double-precision Llama / Qwen2 / Mistral forward pass for one unpadded sequence,
 * written from the Hugging Face modeling code without sharing anything with {@link LlamaModel}: the
 * reference the fused implementation is checked against.
 */
final class NaiveLlama {
    final ModelConfig c;
    final Map<String, double[]> w = new HashMap<>();

    NaiveLlama(LlamaModel m) {
        c = m.config;
        m.parameters().forEach((k, t) -> {
            float[] f = Torch.toFloats(t);
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i];
            w.put(k, d);
        });
    }

    /** logits[t][v] for the token sequence. */
    double[][] logits(int[] ids) {
        int T = ids.length, H = c.hiddenSize(), D = c.headDim(), hq = c.numHeads(), hkv = c.numKvHeads();
        double[][] x = new double[T][H];
        double[] emb = w.get("model.embed_tokens.weight");
        for (int t = 0; t < T; t++) System.arraycopy(emb, ids[t] * H, x[t], 0, H);
        double[] inv = invFreq();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] q = new double[T][], k = new double[T][], v = new double[T][];
            for (int t = 0; t < T; t++) {
                double[] h = rms(x[t], w.get(p + "input_layernorm.weight"));
                q[t] = rope(mv(w.get(p + "self_attn.q_proj.weight"), w.get(p + "self_attn.q_proj.bias"), h, hq * D), t, inv, hq);
                k[t] = rope(mv(w.get(p + "self_attn.k_proj.weight"), w.get(p + "self_attn.k_proj.bias"), h, hkv * D), t, inv, hkv);
                v[t] = mv(w.get(p + "self_attn.v_proj.weight"), w.get(p + "self_attn.v_proj.bias"), h, hkv * D);
            }
            for (int t = 0; t < T; t++) {
                double[] o = new double[hq * D];
                for (int head = 0; head < hq; head++) {
                    int kvh = head / (hq / hkv);
                    int start = c.slidingWindow() > 0 ? Math.max(0, t - c.slidingWindow() + 1) : 0;
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = start; j <= t; j++) {
                        double dot = 0;
                        for (int d = 0; d < D; d++) dot += q[t][head * D + d] * k[j][kvh * D + d];
                        s[j] = dot / Math.sqrt(D);
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = start; j <= t; j++) { s[j] = Math.exp(s[j] - max); z += s[j]; }
                    for (int j = start; j <= t; j++)
                        for (int d = 0; d < D; d++) o[head * D + d] += s[j] / z * v[j][kvh * D + d];
                }
                add(x[t], mv(w.get(p + "self_attn.o_proj.weight"), w.get(p + "self_attn.o_proj.bias"), o, H));
            }
            for (int t = 0; t < T; t++) {
                double[] h = rms(x[t], w.get(p + "post_attention_layernorm.weight"));
                int F = c.intermediateSize();
                double[] g = mv(w.get(p + "mlp.gate_proj.weight"), null, h, F), u = mv(w.get(p + "mlp.up_proj.weight"), null, h, F);
                for (int i = 0; i < F; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                add(x[t], mv(w.get(p + "mlp.down_proj.weight"), null, g, H));
            }
        }
        double[] head = w.containsKey("lm_head.weight") ? w.get("lm_head.weight") : emb;
        double[][] out = new double[T][];
        for (int t = 0; t < T; t++) out[t] = mv(head, null, rms(x[t], w.get("model.norm.weight")), c.vocabSize());
        return out;
    }

    private double[] invFreq() {
        int D = c.headDim();
        double[] f = new double[D / 2];
        for (int i = 0; i < D / 2; i++) f[i] = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / D);
        ModelConfig.RopeScaling rs = c.ropeScaling();
        if (rs != null && rs.type().equals("linear")) for (int i = 0; i < f.length; i++) f[i] /= rs.factor();
        if (rs != null && rs.type().equals("llama3")) {
            // transformers _compute_llama3_parameters, term by term
            double lowWl = rs.originalMaxPositionEmbeddings() / rs.lowFreqFactor();
            double highWl = rs.originalMaxPositionEmbeddings() / rs.highFreqFactor();
            for (int i = 0; i < f.length; i++) {
                double wl = 2 * Math.PI / f[i];
                double llama = wl > lowWl ? f[i] / rs.factor() : f[i];
                double smooth = (rs.originalMaxPositionEmbeddings() / wl - rs.lowFreqFactor()) / (rs.highFreqFactor() - rs.lowFreqFactor());
                double smoothed = (1 - smooth) * llama / rs.factor() + smooth * llama;
                boolean medium = !(wl < highWl) && !(wl > lowWl);
                f[i] = medium ? smoothed : llama;
            }
        }
        return f;
    }

    private double[] rope(double[] x, int pos, double[] inv, int heads) {
        int D = c.headDim(), half = D / 2;
        double[] y = x.clone();
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++) {
                double a = pos * inv[i], x1 = x[h * D + i], x2 = x[h * D + half + i];
                y[h * D + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
                y[h * D + half + i] = x2 * Math.cos(a) + x1 * Math.sin(a);
            }
        return y;
    }

    private double[] rms(double[] x, double[] g) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double r = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * r * g[i];
        return y;
    }

    private static double[] mv(double[] m, double[] bias, double[] x, int rows) {
        int cols = x.length;
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = bias == null ? 0 : bias[r];
            for (int j = 0; j < cols; j++) s += m[r * cols + j] * x[j];
            y[r] = s;
        }
        return y;
    }

    private static void add(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) a[i] += b[i];
    }
}
