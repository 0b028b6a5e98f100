package dev.align4j.model;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.*;

/**
 * A Llama-family decoder (Llama, Qwen2, Mistral, SmolLM layouts) over libtorch. Parameters live in one
 * ordered map under their Hugging Face names, so checkpoint IO is a plain copy; the forward pass is a
 * readable sequence of torch calls: embed → N × (RMSNorm → GQA attention with RoPE → residual →
 * RMSNorm → SwiGLU → residual) → RMSNorm → LM head or score head.
 *
 * <p>Shapes: B batch, T new tokens, P cached tokens, S = P + T keys, H hidden, Hq/Hkv heads, D head
 * dim, V vocab, L labels. Not here: training loops, sampling, tokenization.
 */
public final class LlamaModel implements AutoCloseable {
    public final ModelConfig config;
    public final ScalarType dtype;
    private final LinkedHashMap<String, Tensor> params;
    private final Tensor invFreq; // (D/2) float32 rotary frequencies, after rope_scaling
    private final Layer[] layers;
    private final PackedWeight[][] packedLayers; // per layer: qkv, o, gateUp, down (oneDNN copies for decoding; PackedLinear)
    private final PackedWeight packedHead;
    private static final PackedWeight[] NO_PACKING = new PackedWeight[4];
    private volatile boolean packedDecoding = packedDecodingSetting(System.getenv("ALIGN4J_PACKED_DECODING"));
    private Lora lora;            // LoRA adapters on some linear layers (null: none); owned
    private boolean checkpointing;  // recompute block activations in backward ({@link #gradientCheckpointing})
    private final boolean view;   // shares another model's weights ({@link #withoutAdapters}): closing it frees nothing of theirs

    /**
     * Handles into {@link #params} for one decoder block; biases are null where the layout has none.
     * {@code qkv} (and {@code qkvB}) and {@code gateUp} hold the q/k/v and gate/up projections stacked by rows: the
     * parameters q, k, v, gate, up are leaf views into them (shared storage, so optimizer steps and loads
     * show through), which lets inference run one matrix product where training runs three (see {@link #hidden}).
     */
    private record Layer(Tensor inNorm, Tensor q, Tensor qb, Tensor k, Tensor kb, Tensor v, Tensor vb, Tensor o, Tensor ob,
                         Tensor postNorm, Tensor gate, Tensor gateB, Tensor up, Tensor upB, Tensor down, Tensor downB,
                         Tensor qkv, Tensor qkvB, Tensor gateUp, Tensor gateUpB) {}

    private LlamaModel(ModelConfig config, LinkedHashMap<String, Tensor> params, ScalarType dtype) {
        if (Torch.onCuda()) {                                                  // weights live on the compute device (--device)
            params.replaceAll((k, t) -> Torch.toDevice(t));
            packedDecoding = false;                                            // oneDNN packing is CPU-only
        }
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.view = false;
        this.packedHead = new PackedWeight();
        float[] f = rotaryFrequencies(config);
        this.invFreq = Torch.floats(f, f.length);
        this.layers = new Layer[config.numLayers()];
        this.packedLayers = new PackedWeight[config.numLayers()][];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            String q = p + "self_attn.q_proj.", k = p + "self_attn.k_proj.", v = p + "self_attn.v_proj.", g = p + "mlp.gate_proj.", u = p + "mlp.up_proj.";
            Tensor qkv = pack(q + "weight", k + "weight", v + "weight"), qkvB = pack(q + "bias", k + "bias", v + "bias");
            Tensor gateUp = pack(g + "weight", u + "weight"), gateUpB = pack(g + "bias", u + "bias");
            layers[i] = new Layer(params.get(p + "input_layernorm.weight"),
                    params.get(p + "self_attn.q_proj.weight"), params.get(p + "self_attn.q_proj.bias"),
                    params.get(p + "self_attn.k_proj.weight"), params.get(p + "self_attn.k_proj.bias"),
                    params.get(p + "self_attn.v_proj.weight"), params.get(p + "self_attn.v_proj.bias"),
                    params.get(p + "self_attn.o_proj.weight"), params.get(p + "self_attn.o_proj.bias"),
                    params.get(p + "post_attention_layernorm.weight"),
                    params.get(p + "mlp.gate_proj.weight"), params.get(p + "mlp.gate_proj.bias"),
                    params.get(p + "mlp.up_proj.weight"), params.get(p + "mlp.up_proj.bias"),
                    params.get(p + "mlp.down_proj.weight"), params.get(p + "mlp.down_proj.bias"),
                    qkv, qkvB, gateUp, gateUpB);
            packedLayers[i] = new PackedWeight[]{new PackedWeight(), new PackedWeight(), new PackedWeight(), new PackedWeight()};
        }
    }

    /** A view of {@code of}'s weights (no copy) without its adapters. */
    private LlamaModel(LlamaModel of) {
        this.config = of.config;
        this.dtype = of.dtype;
        this.params = of.params;
        this.invFreq = of.invFreq;
        this.layers = of.layers;
        this.packedLayers = of.packedLayers;
        this.packedHead = of.packedHead;
        this.packedDecoding = of.packedDecoding;
        this.view = true;
    }

    /**
     * Stacks the named parameters by rows into one new tensor and replaces each with a leaf view of its rows
     * (same values, same requires_grad, storage shared with the stack). Returns the stack, or null when any is
     * absent (a layout without biases).
     */
    private Tensor pack(String... names) {
        Tensor[] parts = new Tensor[names.length];
        for (int i = 0; i < names.length; i++) if ((parts[i] = params.get(names[i])) == null) return null;
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor stack = torch.cat(new TensorVector(parts), 0);
            long row = 0;
            for (int i = 0; i < names.length; i++) {
                long rows = parts[i].size(0);
                Tensor view = stack.narrow(0, row, rows).detach();
                view.requires_grad_(parts[i].requires_grad());
                params.put(names[i], view);
                parts[i].close();
                row += rows;
            }
            return stack;
        }
    }

    // ------------------------------------------------------------------------------------- construction

    /** The Hugging Face tensor names of this config and their shapes, in checkpoint order. */
    public static LinkedHashMap<String, long[]> expectedShapes(ModelConfig c) {
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        long h = c.hiddenSize(), qd = (long) c.numHeads() * c.headDim(), kvd = (long) c.numKvHeads() * c.headDim(), f = c.intermediateSize();
        s.put("model.embed_tokens.weight", new long[]{c.vocabSize(), h});
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new long[]{h});
            s.put(p + "self_attn.q_proj.weight", new long[]{qd, h});
            s.put(p + "self_attn.k_proj.weight", new long[]{kvd, h});
            s.put(p + "self_attn.v_proj.weight", new long[]{kvd, h});
            if (c.attentionBias()) {
                s.put(p + "self_attn.q_proj.bias", new long[]{qd});
                s.put(p + "self_attn.k_proj.bias", new long[]{kvd});
                s.put(p + "self_attn.v_proj.bias", new long[]{kvd});
            }
            s.put(p + "self_attn.o_proj.weight", new long[]{h, qd});
            if (c.oProjBias()) s.put(p + "self_attn.o_proj.bias", new long[]{h});
            s.put(p + "post_attention_layernorm.weight", new long[]{h});
            s.put(p + "mlp.gate_proj.weight", new long[]{f, h});
            s.put(p + "mlp.up_proj.weight", new long[]{f, h});
            s.put(p + "mlp.down_proj.weight", new long[]{h, f});
            if (c.mlpBias()) {
                s.put(p + "mlp.gate_proj.bias", new long[]{f});
                s.put(p + "mlp.up_proj.bias", new long[]{f});
                s.put(p + "mlp.down_proj.bias", new long[]{h});
            }
        }
        s.put("model.norm.weight", new long[]{h});
        if (!c.isCausalLm()) {
            s.put("score.weight", new long[]{c.numLabels(), h});
            if (c.tokenClassification()) s.put("score.bias", new long[]{c.numLabels()});   // transformers' nn.Linear(H, L) with its bias
        } else if (!c.tieWordEmbeddings()) s.put("lm_head.weight", new long[]{c.vocabSize(), h});
        return s;
    }

    /** Fresh weights as Hugging Face initialises them: normal(0, initializer_range), norms 1, biases 0. */
    public static LlamaModel init(ModelConfig c, long seed, ScalarType dtype) {
        Torch.init();
        Generator g = torch.make_generator_cpu(seed);
        LinkedHashMap<String, Tensor> p = new LinkedHashMap<>();
        for (var e : expectedShapes(c).entrySet()) {
            String n = e.getKey();
            Tensor t;
            // on the CPU (the generator is a CPU one); the constructor moves the weights to the compute device
            if (n.endsWith("norm.weight")) t = torch.ones(e.getValue(), Torch.cpuOpts(ScalarType.Float));
            else if (n.endsWith(".bias")) t = torch.zeros(e.getValue(), Torch.cpuOpts(ScalarType.Float));
            else {
                t = torch.zeros(e.getValue(), Torch.cpuOpts(ScalarType.Float));
                t.normal_(0.0, c.initializerRange(), new GeneratorOptional(g));
            }
            p.put(n, t.to(dtype));
        }
        return new LlamaModel(c, p, dtype);
    }

    /**
     * Takes ownership of {@code tensors} (HF names), checking that every expected name is present with
     * the right shape. {@code source} names the checkpoint in error messages.
     */
    public static LlamaModel fromTensors(ModelConfig c, Map<String, Tensor> tensors, ScalarType dtype, String source) {
        LinkedHashMap<String, Tensor> p = new LinkedHashMap<>();
        Map<String, long[]> want = expectedShapes(c);
        for (var e : want.entrySet()) {
            Tensor t = tensors.get(e.getKey());
            if (t == null && e.getKey().equals("score.weight") && tensors.containsKey("v_head.summary.weight"))
                t = tensors.get("v_head.summary.weight");
            if (t == null && e.getKey().equals("score.bias"))                     // a token classifier saved without its bias: zero
                t = torch.zeros(e.getValue(), Torch.opts(ScalarType.Float));
            if (t == null) throw new UserError(source + ": missing tensor '" + e.getKey() + "'");
            if (!Arrays.equals(Torch.shape(t), e.getValue()))
                throw new UserError(source + ": tensor '" + e.getKey() + "' has shape " + Arrays.toString(Torch.shape(t))
                        + " but the config expects " + Arrays.toString(e.getValue()));
            p.put(e.getKey(), Torch.dtypeOf(t) == dtype ? t : t.to(dtype));
        }
        for (String n : tensors.keySet())
            if (!want.containsKey(n) && !n.endsWith("rotary_emb.inv_freq") && !n.equals("lm_head.weight") && !n.startsWith("v_head."))
                throw new UserError(source + ": unexpected tensor '" + n + "' for " + c.architecture());
        return new LlamaModel(c, p, dtype);
    }

    /** Rotary inverse frequencies θ^(−2i/D), rescaled as rope_scaling says (HF's _compute_llama3_parameters). */
    static float[] rotaryFrequencies(ModelConfig c) {
        int half = c.headDim() / 2;
        float[] f = new float[half];
        ModelConfig.RopeScaling rs = c.ropeScaling();
        for (int i = 0; i < half; i++) {
            double inv = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim());
            if (rs != null && rs.type().equals("linear")) inv /= rs.factor();
            else if (rs != null && rs.type().equals("llama3")) {
                double old = rs.originalMaxPositionEmbeddings();
                double lowWavelen = old / rs.lowFreqFactor(), highWavelen = old / rs.highFreqFactor();
                double wavelen = 2 * Math.PI / inv;
                if (wavelen > lowWavelen) inv = inv / rs.factor();              // low frequencies: fully scaled
                else if (wavelen >= highWavelen) {                               // medium: smooth interpolation
                    double smooth = (old / wavelen - rs.lowFreqFactor()) / (rs.highFreqFactor() - rs.lowFreqFactor());
                    inv = (1 - smooth) * inv / rs.factor() + smooth * inv;
                }                                                                // high frequencies: unchanged
            }
            f[i] = (float) inv;
        }
        return f;
    }

    // ------------------------------------------------------------------------------------------ forward

    /**
     * Final hidden states (B, T, H) for {@code ids} (B, T).
     *
     * @param keyMask (B, P + T) bool, true where a key is a real token (false at padding); null = all real
     * @param cache   null for a full forward; otherwise keys/values are appended at {@code cache.length}
     */
    public Tensor hidden(Tensor ids, Tensor keyMask, KVCache cache) {
        long b = ids.size(0), t = ids.size(1);
        int past = cache == null ? 0 : cache.length;
        Tensor mask = attentionMask(t, past, keyMask);                          // (B|1, 1, T, S) or null → causal
        boolean causal = mask == null && t > 1;
        Tensor[] cs = rotary(b, t, past, keyMask);                              // cos, sin: (B|1, 1, T, D)
        Tensor x = torch.embedding(params.get("model.embed_tokens.weight"), ids); // (B, T, H)
        // Without autograd (generation, reference and old-policy scoring) the stacked projections do in one
        // product what training does in three: the same arithmetic, fewer and larger calls.
        boolean packed = !GradMode.is_enabled() || !layers[0].q.requires_grad();
        // A decode step (one new token per row, with the cache) repeats for every generated token on the same
        // weights, which is what pays for their oneDNN-packed copies (PackedLinear: ~0.3-0.7 s to make for the
        // ~100M model); a one-off scoring forward would pay the packing after every optimizer step for one use.
        // Not under bf16 autocast (mixed-precision training's rollouts): attention returns bf16 there, and the packed
        // copies are fp32-only; autocast's own bf16 products serve instead.
        boolean decodeStep = packed && cache != null && t == 1 && !torch.is_autocast_enabled(torch.DeviceType.CPU);
        if (checkpointing && cache == null && training())                 // keep block inputs, recompute in backward
            return rmsNorm(Recompute.blocks(this, x, layers.length, cs, mask, causal, packed), params.get("model.norm.weight"));
        // Each block in its own scope: its temporaries (norms, projections, attention and MLP intermediates) are freed as
        // soon as it returns, not when the caller's scope closes; autograd keeps what backward needs through the graph.
        PointerScope caller = PointerScope.getInnerScope();
        for (int l = 0; l < layers.length; l++) {
            if (caller == null) {
                x = block(l, x, cs, mask, causal, cache, past, packed, decodeStep);
                continue;
            }
            try (PointerScope blockScope = new PointerScope()) {
                Tensor out = block(l, x, cs, mask, causal, cache, past, packed, decodeStep);
                caller.attach(out);
                x = out;
            }
        }
        if (cache != null) cache.length = past + (int) t;
        return rmsNorm(x, params.get("model.norm.weight"));
    }

    /** Decoder block {@code l}: x + attention(norm(x)), then + MLP(norm(·)). */
    Tensor block(int l, Tensor x, Tensor[] cs, Tensor mask, boolean causal, KVCache cache, int past, boolean packed, boolean decodeStep) {
        Layer w = layers[l];
        PackedWeight[] pw = decodeStep ? packedLayers[l] : NO_PACKING;
        Tensor a = attention(w, pw, rmsNorm(x, w.inNorm), cs[0], cs[1], mask, causal, cache, l, past, packed);
        x = x.add(a);
        Tensor hN = rmsNorm(x, w.postNorm);
        Tensor mlp;
        Lora ad = lora;
        if (ad != null && (ad.has(l, Lora.GATE) || ad.has(l, Lora.UP) || ad.has(l, Lora.DOWN))) {   // adapted: separate products
            Tensor g = adapted(ad, l, Lora.GATE, hN, w.gate, w.gateB, null), u = adapted(ad, l, Lora.UP, hN, w.up, w.upB, null);
            mlp = adapted(ad, l, Lora.DOWN, torch.silu(g).mul(u), w.down, w.downB, pw[3]);
        } else if (packed) {
            Tensor gu = linear(hN, w.gateUp, w.gateUpB, pw[2]);               // (B, T, 2·I): [gate | up]
            long inter = w.gate.size(0);
            mlp = linear(torch.silu(gu.narrow(-1, 0, inter)).mul_(gu.narrow(-1, inter, inter)), w.down, w.downB, pw[3]);
        } else {
            mlp = linear(torch.silu(linear(hN, w.gate, w.gateB)).mul(linear(hN, w.up, w.upB)), w.down, w.downB);
        }
        return x.add(mlp);
    }

    /**
     * Activation (gradient) checkpointing for training forwards: each block's input is kept and its activations are
     * recomputed during backward ({@link Recompute}), which {@code Loop} runs after every micro-batch's backward. The
     * gradients are those of the plain forward (tested); the cost is one more forward of the blocks.
     */
    public void gradientCheckpointing(boolean on) { checkpointing = on; }

    public boolean gradientCheckpointing() { return checkpointing; }

    /** Gradients flow into this model's trainable parameters (a training forward, not scoring or generation). */
    private boolean training() {
        if (!GradMode.is_enabled()) return false;
        for (Tensor t : trainableParameters().values()) return t.requires_grad();
        return false;
    }

    /**
     * GQA attention with RoPE and the KV cache. {@code packed}: one product with the stacked q/k/v weight gives
     * all heads (B, Hq + 2·Hkv, T, D), rotary turns q and k together, and q, k, v are views of it; otherwise
     * three products on the separate parameters (training, so gradients reach each).
     */
    private Tensor attention(Layer w, PackedWeight[] pw, Tensor x, Tensor cos, Tensor sin, Tensor mask, boolean causal, KVCache cache, int l, int past, boolean packed) {
        long b = x.size(0), t = x.size(1);
        int hq = config.numHeads(), hkv = config.numKvHeads(), d = config.headDim();
        Tensor q, k, v;
        Lora ad = lora;
        if (ad != null && (ad.has(l, Lora.Q) || ad.has(l, Lora.K) || ad.has(l, Lora.V))) {   // adapted: three products, each with its adapter
            q = applyRotary(heads(adapted(ad, l, Lora.Q, x, w.q, w.qb, null), b, t, hq, d), cos, sin);
            k = applyRotary(heads(adapted(ad, l, Lora.K, x, w.k, w.kb, null), b, t, hkv, d), cos, sin);
            v = heads(adapted(ad, l, Lora.V, x, w.v, w.vb, null), b, t, hkv, d);
        } else if (packed) {
            Tensor all = heads(linear(x, w.qkv, w.qkvB, pw[0]), b, t, hq + 2 * hkv, d);
            Tensor qk = applyRotary(all.narrow(1, 0, hq + hkv), cos, sin);
            q = qk.narrow(1, 0, hq);
            k = qk.narrow(1, hq, hkv);
            v = all.narrow(1, hq + hkv, hkv);
        } else {
            q = applyRotary(heads(linear(x, w.q, w.qb), b, t, hq, d), cos, sin);   // (B, Hq, T, D)
            k = applyRotary(heads(linear(x, w.k, w.kb), b, t, hkv, d), cos, sin);  // (B, Hkv, T, D)
            v = heads(linear(x, w.v, w.vb), b, t, hkv, d);
        }
        if (cache != null) {
            cache.k[l].narrow(2, past, t).copy_(k);
            cache.v[l].narrow(2, past, t).copy_(v);
            k = cache.k[l].narrow(2, 0, past + t);                             // (B, Hkv, S, D)
            v = cache.v[l].narrow(2, 0, past + t);
        }
        TensorOptional m = mask == null ? new TensorOptional() : new TensorOptional(mask);
        Tensor o;
        if (t == 1 && hkv != hq) {
            // Decode step: the Hq/Hkv query heads that share a key/value head become that head's query rows,
            // (B, Hkv, Hq/Hkv, D): the same products, but SDPA runs B·Hkv blocks of Hq/Hkv rows instead of
            // B·Hq blocks of one row (small, B=64: 2.4 → 1.0 ms per layer). The mask (B|1, 1, 1, S) broadcasts.
            o = torch.scaled_dot_product_attention(q.reshape(b, hkv, hq / hkv, d), k, v, m, 0.0, false, new DoubleOptional(), false);
        } else {
            o = torch.scaled_dot_product_attention(q, k, v, m, 0.0, causal, new DoubleOptional(), hkv != hq); // (B, Hq, T, D)
        }
        Tensor merged = t == 1 ? o.reshape(b, 1, (long) hq * d) : o.transpose(1, 2).reshape(b, t, (long) hq * d);
        return lora == null ? linear(merged, w.o, w.ob, pw[1])                 // pw: NO_PACKING unless a decode step
                : adapted(lora, l, Lora.O, merged, w.o, w.ob, pw[1]);
    }

    /** x · Wᵀ + b of layer {@code l}'s {@code module}, plus its LoRA term when it has one ({@link Lora#apply}). */
    private Tensor adapted(Lora ad, int l, int module, Tensor x, Tensor w, Tensor b, PackedWeight pw) {
        Tensor base = pw == null ? linear(x, w, b) : linear(x, w, b, pw);
        return ad.apply(l, module, x, base, w, b);
    }

    /** (B, T, heads·D) → (B, heads, T, D); one view when T = 1 (a decode step), where the transpose is a no-op. */
    private static Tensor heads(Tensor x, long b, long t, int heads, int d) {
        return t == 1 ? x.view(b, heads, 1, d) : x.view(b, t, heads, d).transpose(1, 2);
    }

    /** Position of each new token: its index among the row's real tokens (left padding aware). */
    private Tensor positions(long b, long t, int past, Tensor keyMask) {
        if (keyMask == null) return torch.arange(Torch.s((long) past), Torch.s(past + t), Torch.opts(ScalarType.Long)).unsqueeze(0).expand(b, t);
        Tensor pos = torch.cumsum(keyMask.to(ScalarType.Long), 1).sub(Torch.s(1L)).clamp_min(Torch.s(0L)); // (B, S)
        return pos.narrow(1, past, t);
    }

    /**
     * Boolean mask (B, 1, T, S): key j visible to query i when j ≤ i (causal), j is a real token, and
     * within the sliding window. A query on padding sees itself, so no row is empty (SDPA would give NaN).
     * Returns null when plain causal attention (or no mask at all, for one new token) is exact.
     */
    private Tensor attentionMask(long t, int past, Tensor keyMask) {
        int window = config.slidingWindow();
        boolean windowMatters = window > 0 && past + t > window;
        if (keyMask == null && !windowMatters && (past == 0 || t == 1)) return null;
        long s = past + t;
        Tensor qPos = torch.arange(Torch.s((long) past), Torch.s(s), Torch.opts(ScalarType.Long)).unsqueeze(1); // (T, 1)
        Tensor kPos = torch.arange(Torch.s(0L), Torch.s(s), Torch.opts(ScalarType.Long)).unsqueeze(0);         // (1, S)
        Tensor m = kPos.le(qPos);                                                                          // (T, S)
        if (windowMatters) m = m.logical_and(kPos.gt(qPos.sub(Torch.s((long) window))));
        m = m.unsqueeze(0);                                                                                // (1, T, S)
        if (keyMask != null) m = m.logical_and(keyMask.unsqueeze(1));                                      // (B, T, S)
        m = m.logical_or(kPos.eq(qPos).unsqueeze(0));
        return m.unsqueeze(1);
    }

    /**
     * cos (B|1, 1, T, D) of positions × inverse frequencies, duplicated over both halves as HF does, and
     * the matching sin with its first half negated, so that HF's {@code rotate_half(x) · sin} becomes
     * {@code roll(x, D/2) · signedSin} (see {@link #applyRotary}). Rows come from a table over positions
     * 0..n−1, grown on demand: a decode step reads two rows instead of recomputing them (~14 calls).
     */
    private Tensor[] rotary(long b, long t, int past, Tensor keyMask) {
        Tensor[] table = rotaryTable(past + t);                                 // (n, D) each
        long dim = table[0].size(1);
        if (keyMask == null)                                                    // positions past..past+t−1 for every row
            return new Tensor[]{table[0].narrow(0, past, t).view(1, 1, t, dim), table[1].narrow(0, past, t).view(1, 1, t, dim)};
        Tensor pos = positions(b, t, past, keyMask).reshape(-1);                // (B·T)
        return new Tensor[]{table[0].index_select(0, pos).view(b, 1, t, dim), table[1].index_select(0, pos).view(b, 1, t, dim)};
    }

    private Tensor rotaryCos, rotarySin;

    /** The cos / signed-sin table for at least {@code n} positions (doubling, capped at the model's maximum). */
    private synchronized Tensor[] rotaryTable(long n) {
        if (rotaryCos == null || rotaryCos.size(0) < n) {
            long size = Math.max(n, Math.min(Math.max(64, 2 * (rotaryCos == null ? 0 : rotaryCos.size(0))), config.maxPositionEmbeddings()));
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                Tensor freqs = torch.arange(Torch.s(0L), Torch.s(size), Torch.opts(ScalarType.Long)).to(ScalarType.Float).unsqueeze(-1).mul(invFreq); // (n, D/2)
                Tensor cos = freqs.cos(), sin = freqs.sin();
                if (rotaryCos != null) { rotaryCos.close(); rotarySin.close(); }
                rotaryCos = torch.cat(new TensorVector(cos, cos), -1).to(dtype).clone();
                rotarySin = torch.cat(new TensorVector(sin.neg(), sin), -1).to(dtype).clone();
                rotaryCos.retainReference();                                      // outlives this scope (and the caller's)
                rotarySin.retainReference();
            }
        }
        return new Tensor[]{rotaryCos, rotarySin};
    }

    /**
     * x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁]. Since roll(x, D/2) = [x₂, x₁], this is
     * x·cos + roll(x, D/2)·signedSin with signedSin = [−sin, sin]: three native calls instead of eight,
     * which matters in decoding where every call costs microseconds of overhead.
     */
    private static Tensor applyRotary(Tensor x, Tensor cos, Tensor signedSin) {
        return torch.addcmul(x.mul(cos), x.roll(new long[]{x.size(-1) / 2}, new long[]{-1}), signedSin, Torch.s(1.0));
    }

    /**
     * RMSNorm computed in fp32: w · x / sqrt(mean(x²) + eps), cast back to the input dtype before the
     * weight (HF's order). In fp32 that is exactly libtorch's {@code rms_norm} (one call instead of nine).
     */
    private Tensor rmsNorm(Tensor x, Tensor w) {
        long h = x.size(-1);
        if (dtype == ScalarType.Float && x.numel() == h && !GradMode.is_enabled()) {
            // One row (batch-1 decoding), where the cost is the number of native calls: libtorch's rms_norm is a
            // composite of six kernels, layer_norm one. The layer norm of z = [x, −x] is exactly the RMS norm of x
            // (mean(z) = 0, var(z) = mean(x²)), so: neg, cat, layer_norm, narrow, mul (the 17 norms of a small decode
            // step: 1.43 → 0.88 ms; slower than rms_norm at 64 rows, so one row only; docs/benchmarks.md).
            Tensor z = torch.cat(new TensorVector(x, x.neg()), -1);
            return torch.layer_norm(z, new long[]{2 * h}, new TensorOptional(), new TensorOptional(), config.rmsNormEps(), false)
                    .narrow(-1, 0, h).mul(w);
        }
        if (dtype == ScalarType.Float) return torch.rms_norm(x, new long[]{h}, new TensorOptional(w), new DoubleOptional(config.rmsNormEps()));
        Tensor xf = x.to(ScalarType.Float);
        Tensor var = xf.pow(Torch.s(2.0)).mean(new long[]{-1}, true, new ScalarTypeOptional());
        return w.mul(xf.mul(torch.rsqrt(var.add(Torch.s(config.rmsNormEps())))).to(dtype));
    }

    /**
     * x · Wᵀ + b. A single row (batch-1 decoding) goes through matrix-vector: libtorch's GEMM path
     * packs W on every call, which made one-row products 3–7x slower than {@code mv} here (measured
     * 2048×768: 752 µs vs 108 µs; 32000×128 LM head: 2.6 ms vs 0.4 ms).
     */
    private static Tensor linear(Tensor x, Tensor w, Tensor b) {
        long in = x.size(-1);
        if (x.numel() == in) {
            long[] shape = Torch.shape(x);
            shape[shape.length - 1] = w.size(0);
            Tensor y = torch.mv(w, x.reshape(in));
            return (b == null ? y : y.add(b)).view(shape);
        }
        return b == null ? torch.linear(x, w) : torch.linear(x, w, new TensorOptional(b));
    }

    /**
     * {@link #linear(Tensor, Tensor, Tensor)} through {@code pw}'s oneDNN-packed copy of W (null: never) when that
     * pays and is allowed: packed decoding on, fp32, no gradient can flow, and {@link PackedLinear#MIN_ROWS}..{@code maxRows}
     * rows (batch × tokens). Same values up to float rounding.
     */
    private Tensor linear(Tensor x, Tensor w, Tensor b, PackedWeight pw, long maxRows) {
        if (pw == null) return linear(x, w, b);
        long rows = x.numel() / x.size(-1);
        boolean noGrad = !GradMode.is_enabled() || (!x.requires_grad() && !w.requires_grad() && (b == null || !b.requires_grad()));
        if (packedDecoding && noGrad && rows >= PackedLinear.MIN_ROWS && rows <= maxRows && PackedLinear.available(dtype))
            return PackedLinear.linear(x, pw.of(w), b, w.size(0));
        return linear(x, w, b);
    }

    private Tensor linear(Tensor x, Tensor w, Tensor b, PackedWeight pw) {
        return linear(x, w, b, pw, PackedLinear.MAX_ROWS);
    }

    /**
     * Whether the products of decode steps with 2–64 rows and the decode LM head ({@link #nextTokenLogits}) use
     * oneDNN-packed copies of the weights ({@link PackedLinear}; default on). The copies cost one more set of the
     * block and head weights in memory, made on first use and remade after the weights change; turning this
     * off frees them.
     */
    public void packedDecoding(boolean on) {
        packedDecoding = on;
        if (!on) releasePacked();
    }

    /**
     * The default of {@link #packedDecoding}: the {@code ALIGN4J_PACKED_DECODING} environment variable, on when
     * unset; {@code 0}/{@code false}/{@code off} turn it off (to save the copies' memory), {@code 1}/{@code true}/{@code on} on.
     */
    static boolean packedDecodingSetting(String env) {
        if (env == null || env.isBlank()) return true;
        return switch (env.trim().toLowerCase(Locale.ROOT)) {
            case "1", "true", "on" -> true;
            case "0", "false", "off" -> false;
            default -> throw new UserError("environment variable ALIGN4J_PACKED_DECODING: expected 1, true, on, 0, false or off, got '" + env + "'");
        };
    }

    private void releasePacked() {
        packedHead.close();
        for (PackedWeight[] pws : packedLayers) for (PackedWeight pw : pws) pw.close();
    }

    /** Next-token logits (B, T, V) in fp32 from hidden states; a causal LM only. */
    public Tensor lmHead(Tensor hidden) {
        if (!config.isCausalLm()) throw new IllegalStateException(config.architecture() + " has no LM head");
        return linear(hidden, headWeight(), null).to(ScalarType.Float);
    }

    private Tensor headWeight() {
        return params.getOrDefault("lm_head.weight", params.get("model.embed_tokens.weight"));
    }

    /**
     * Next-token logits (B, V) in fp32 from a decode step's last hidden states (B, H). Same values as
     * {@link #lmHead} up to float rounding; faster for a generation batch: the head weight is far larger than
     * the cache, and its oneDNN-packed copy streams where OpenBLAS would repack all of it per call (32000 × 768
     * head: 8 rows 13.1 → 6.8 ms, 64 rows 31 → 20 ms; {@code bench/harness/run.sh OnednnHead}). One row goes
     * through {@code mv} on W itself, which is already at the memory roofline.
     */
    public Tensor nextTokenLogits(Tensor hidden) {
        if (!config.isCausalLm()) throw new IllegalStateException(config.architecture() + " has no LM head");
        return linear(hidden, headWeight(), null, packedHead, Long.MAX_VALUE).to(ScalarType.Float);
    }

    /**
     * A oneDNN-packed copy of one weight ({@link PackedLinear#pack}), made on first use and remade when the
     * weight's version counter has moved (an optimizer step or a load bumps it; parameters that are views of a
     * stacked weight share its counter). Closed with the model or by {@link #packedDecoding packedDecoding(false)}.
     */
    private static final class PackedWeight {
        private Tensor packed;
        private long version = -1;

        synchronized Tensor of(Tensor w) {
            long v = w.__dispatch__version();
            if (packed == null || version != v) {
                close();
                try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                    packed = PackedLinear.pack(w);
                    packed.retainReference();                                   // outlives this scope (and the caller's)
                }
                version = v;
            }
            return packed;
        }

        synchronized void close() {
            if (packed != null) packed.close();
            packed = null;
        }
    }

    /** Score-head outputs (B, T, L) in fp32; a sequence- or token-classification (reward / value / process reward) model only. */
    public Tensor scoreHead(Tensor hidden) {
        Tensor w = params.get("score.weight");
        if (w == null) throw new IllegalStateException(config.architecture() + " has no score head");
        return linear(hidden, w, params.get("score.bias")).to(ScalarType.Float);
    }

    /** Convenience: full-sequence logits (B, T, V). */
    public Tensor logits(Tensor ids, Tensor keyMask) {
        return lmHead(hidden(ids, keyMask, null));
    }

    // ---------------------------------------------------------------------------------------- parameters

    /** Parameters by HF name (live tensors: do not close them). */
    public Map<String, Tensor> parameters() { return Collections.unmodifiableMap(params); }

    /** Turns gradients of the {@link #trainableParameters trainable parameters} on or off. */
    public void requiresGrad(boolean on) {
        for (Tensor t : trainableParameters().values()) t.requires_grad_(on);
    }

    /**
     * What training updates: the adapter tensors (PEFT names) when the model carries LoRA adapters, else every parameter
     * (HF names). Live tensors: do not close them.
     */
    public Map<String, Tensor> trainableParameters() { return lora == null ? parameters() : lora.parameters(); }

    /** The LoRA adapters this model carries, or null. */
    public Lora lora() { return lora; }

    /**
     * Puts {@code adapters} on this model (taking ownership; they are closed with it); the base weights stay frozen and no
     * longer train ({@link #trainableParameters}). A model carries one adapter set.
     */
    public void attach(Lora adapters) {
        if (view) throw new IllegalStateException("a view without adapters cannot take adapters");
        if (lora != null) throw new UserError("the model already carries LoRA adapters (from " + (lora.baseModel == null ? "this run" : "its adapter directory") + "); train them, or merge them first with ./align4j merge");
        if (!config.isCausalLm()) throw new UserError("LoRA adapters are supported on causal LMs only; " + config.architecture() + " has a score head (train it in full)");
        for (Tensor t : params.values()) t.requires_grad_(false);
        lora = adapters;
    }

    /**
     * The same weights without the adapters: a view that shares every base tensor (no copy; closing it frees nothing of
     * this model's). With adapters, this is the reference policy π_ref of the methods that need one.
     */
    public LlamaModel withoutAdapters() {
        return new LlamaModel(this);
    }

    /**
     * A frozen reference policy for the start of training: with LoRA adapters the base weights with the adapters off
     * ({@link #withoutAdapters}: no second copy of the weights, as TRL does for a PEFT model); else a deep copy.
     */
    public LlamaModel reference() {
        return lora != null ? withoutAdapters() : copy(dtype);
    }

    public long parameterCount() {
        long n = 0;
        for (Tensor t : params.values()) n += t.numel();
        return n;
    }

    /**
     * A deep copy with its own storage (e.g. a frozen reference policy); never requires grad. With adapters, the copy is
     * the model's current function: each adapted weight merged ({@link Lora#merged}), no adapters (what {@code merge} saves).
     */
    public LlamaModel copy(ScalarType newDtype) {
        LinkedHashMap<String, Tensor> p = new LinkedHashMap<>();
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : params.entrySet()) {
                Tensor merged = lora == null ? null : lora.merged(e.getKey(), e.getValue());
                p.put(e.getKey(), (merged != null ? merged : e.getValue().detach()).to(newDtype).clone());
                if (merged != null) merged.close();
            }
        }
        return new LlamaModel(config, p, newDtype);
    }

    /** The same trunk with a new score head of {@code labels} outputs (reward model / critic), initialised like HF. */
    public LlamaModel withScoreHead(int labels, long seed) {
        return withHead(config.withNumLabels(labels), seed);
    }

    /**
     * The same trunk with a new per-token classification head of {@code labels} outputs and a zero bias (a process reward
     * model, saved as *ForTokenClassification), initialised like HF.
     */
    public LlamaModel withTokenClassificationHead(int labels, long seed) {
        return withHead(config.withTokenLabels(labels), seed);
    }

    private LlamaModel withHead(ModelConfig c, long seed) {
        LinkedHashMap<String, Tensor> p = new LinkedHashMap<>();
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : params.entrySet())
                if (!e.getKey().equals("lm_head.weight") && !e.getKey().startsWith("score.")) {
                    Tensor merged = lora == null ? null : lora.merged(e.getKey(), e.getValue());   // with adapters: the trunk as it computes now
                    p.put(e.getKey(), merged != null ? merged : e.getValue().detach().clone());
                }
            Tensor s = torch.zeros(new long[]{c.numLabels(), c.hiddenSize()}, Torch.cpuOpts(ScalarType.Float));
            s.normal_(0.0, c.initializerRange(), new GeneratorOptional(torch.make_generator_cpu(seed)));
            p.put("score.weight", s.to(dtype));
            if (c.tokenClassification()) p.put("score.bias", torch.zeros(new long[]{c.numLabels()}, Torch.cpuOpts(ScalarType.Float)).to(dtype));
        }
        return new LlamaModel(c, p, dtype);
    }

    /**
     * Copies every parameter's values from {@code other} (same config), in place. When {@code other} carries adapters and
     * this model does not, its adapted weights arrive merged; when both do, base weights and adapters are copied.
     */
    public void loadFrom(LlamaModel other) {
        if (lora != null && other.lora == null) throw new IllegalStateException("loading a model without adapters into one with adapters");
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            for (var e : params.entrySet()) {
                Tensor src = other.params.get(e.getKey());
                Tensor merged = lora == null && other.lora != null ? other.lora.merged(e.getKey(), src) : null;
                e.getValue().copy_(merged != null ? merged : src);
            }
        }
        if (lora != null) lora.loadFrom(other.lora);
    }

    @Override
    public void close() {
        if (rotaryCos != null) { rotaryCos.close(); rotarySin.close(); }
        if (view) return;                                                      // the weights and packed copies are the owner's
        if (lora != null) lora.close();
        releasePacked();
        for (Tensor t : params.values()) t.close();
        for (Layer w : layers) for (Tensor t : new Tensor[]{w.qkv, w.qkvB, w.gateUp, w.gateUpB}) if (t != null) t.close();
        invFreq.close();
    }
}
