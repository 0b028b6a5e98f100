package dev.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * LoRA adapters (Hu et al. 2022) on the linear layers of a {@link LlamaModel}, with rsLoRA's scaling (Kalajdzievski 2023)
 * and DoRA (Liu et al. 2024) as options, laid out and saved exactly as PEFT does, so that peft loads what this writes
 * and the other way round. For a frozen base weight W (out, in) with bias b:
 *
 * <pre>
 * LoRA:  y = W x + b + s · B A drop(x)                                  s = α / r   (rsLoRA: α / √r)
 * DoRA:  y = W x + b + (m/n − 1) · W drop(x) + (m/n) · s · B A drop(x)   n = ‖W + s·BA‖ per output row, detached (DoRA §4.3)
 * </pre>
 *
 * (DoRA's y is m · (W + s·BA) x / n + b when dropout is off, PEFT's {@code DoraLinearLayer.forward}.) A (r, in) starts
 * kaiming-uniform as peft's (a = √5: U(±1/√in)), B (out, r) at zero, m (out) at ‖W‖ per row, so a fresh adapter
 * leaves the model's function unchanged. Dropout is active only while gradients flow into the adapters (training
 * forwards); its masks come from a generator re-seeded per draw from (seed, draw count), and the count goes into
 * checkpoints so that a resume draws the same masks.
 *
 * <p>PEFT names: {@code base_model.model.model.layers.L.self_attn.q_proj.lora_A.weight}, {@code ….lora_B.weight},
 * DoRA's {@code ….lora_magnitude_vector} (no {@code .weight}: peft's {@code LoraModel._get_adapter_state_dict}).
 * Not here: the forward of the base model (LlamaModel calls {@link #apply}), training, or the command line.
 */
public final class Lora implements AutoCloseable {
    /** The linear layers of a decoder block, in PEFT's (transformers') module names. */
    public static final List<String> MODULES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    public static final int Q = 0, K = 1, V = 2, O = 3, GATE = 4, UP = 5, DOWN = 6;
    public static final String ALL_LINEAR = "all-linear";
    public static final String CONFIG_FILE = "adapter_config.json", WEIGHTS_FILE = "adapter_model.safetensors";
    static final String PREFIX = "base_model.model.";

    /**
     * The adapter settings, PEFT's LoraConfig names in comments.
     *
     * @param loraR       rank r of A and B ({@code r}); 0 = no adapters (full training)
     * @param loraAlpha   α in the scaling s = α/r ({@code lora_alpha})
     * @param loraDropout dropout on the adapters' input while training ({@code lora_dropout})
     * @param loraTargets module names ({@code q_proj, …}) or {@code all-linear} ({@code target_modules})
     * @param useRslora   s = α/√r (rank-stabilised LoRA, {@code use_rslora})
     * @param useDora     weight-decomposed adaptation: a trained magnitude per output row ({@code use_dora})
     */
    public record Config(int loraR, double loraAlpha, double loraDropout, List<String> loraTargets, boolean useRslora, boolean useDora) {
        public static final Config DEFAULTS = new Config(0, 16, 0.0, List.of("q_proj", "v_proj"), false, false);

        public Config {
            UserError.check(loraR >= 0, "--lora-r must be >= 0 (0 = no adapters), got %s", loraR);
            UserError.check(loraAlpha > 0, "--lora-alpha must be > 0, got %s", loraAlpha);
            UserError.check(loraDropout >= 0 && loraDropout < 1, "--lora-dropout must be in [0, 1), got %s", loraDropout);
            UserError.check(loraTargets != null && !loraTargets.isEmpty(), "--lora-targets needs at least one module name or all-linear");
            for (String t : loraTargets)
                if (!t.equals(ALL_LINEAR) && !MODULES.contains(t))
                    throw new UserError("--lora-targets: unknown module '" + t + "'; known: " + String.join(", ", MODULES) + " (or " + ALL_LINEAR + ")");
            loraTargets = List.copyOf(loraTargets);
        }

        public boolean enabled() { return loraR > 0; }

        /** s = α/r, or α/√r with rsLoRA. */
        public double scaling() { return useRslora ? loraAlpha / Math.sqrt(loraR) : loraAlpha / loraR; }

        /** The targeted module names in {@link #MODULES} order ({@code all-linear} expanded, as peft saves it). */
        public List<String> modules() {
            if (loraTargets.contains(ALL_LINEAR)) return MODULES;
            return MODULES.stream().filter(loraTargets::contains).toList();
        }
    }

    /** One adapted linear layer: A (r, in), B (out, r), DoRA's magnitude m (out) or null. */
    private record Adapter(Tensor a, Tensor b, Tensor magnitude) {}

    public final Config config;
    /** Where the base model lives ({@code base_model_name_or_path}); may be null (a model that was never saved). */
    public final String baseModel;
    private final double scaling;
    private final Adapter[][] byLayer;                          // [layer][module], null where not adapted
    private final LinkedHashMap<String, Tensor> params = new LinkedHashMap<>();   // PEFT names → leaf tensors
    private final Map<String, Adapter> byWeight = new HashMap<>();               // HF weight name → adapter
    private final long seed;
    private long draws;

    private Lora(Config config, String baseModel, int layers, long seed) {
        this.config = config;
        this.baseModel = baseModel;
        this.scaling = config.scaling();
        this.byLayer = new Adapter[layers][MODULES.size()];
        this.seed = seed;
    }

    /** The HF module path of a decoder block's linear layer: {@code model.layers.L.self_attn.q_proj}. */
    static String modulePath(int layer, int module) {
        return "model.layers." + layer + "." + (module <= O ? "self_attn." : "mlp.") + MODULES.get(module);
    }

    /** Fresh adapters on {@code model}'s targeted layers: A kaiming-uniform (from {@code seed}), B zero, m = ‖W‖ per row. */
    public static Lora create(LlamaModel model, Config c, String baseModel, long seed) {
        if (!c.enabled()) throw new IllegalArgumentException("LoRA rank 0");
        Lora lora = new Lora(c, baseModel, model.config.numLayers(), seed);
        Generator g = torch.make_generator_cpu(seed);
        Map<String, Tensor> p = model.parameters();
        try (NoGradGuard ng = new NoGradGuard()) {
            for (int l = 0; l < model.config.numLayers(); l++)
                for (String name : c.modules()) {
                    int mod = MODULES.indexOf(name);
                    Tensor w = p.get(modulePath(l, mod) + ".weight");
                    long out = w.size(0), in = w.size(1);
                    double bound = 1.0 / Math.sqrt(in);                    // kaiming_uniform_(a=√5): gain √(2/6) · √(3/in)
                    Tensor a = torch.empty(new long[]{c.loraR(), in}, Torch.cpuOpts(ScalarType.Float), null);   // CPU generator; moved below
                    a.uniform_(-bound, bound, new GeneratorOptional(g));
                    Tensor b = torch.zeros(new long[]{out, c.loraR()}, Torch.opts(ScalarType.Float));
                    Tensor m = c.useDora() ? rowNorm(w.to(ScalarType.Float)) : null;
                    lora.add(l, mod, Torch.toDevice(a.to(model.dtype)), b.to(model.dtype), m == null ? null : m.to(model.dtype));
                }
        }
        return lora;
    }

    private void add(int layer, int mod, Tensor a, Tensor b, Tensor m) {
        Adapter ad = new Adapter(a, b, m);
        byLayer[layer][mod] = ad;
        byWeight.put(modulePath(layer, mod) + ".weight", ad);
        String p = PREFIX + modulePath(layer, mod);
        params.put(p + ".lora_A.weight", a);
        params.put(p + ".lora_B.weight", b);
        if (m != null) params.put(p + ".lora_magnitude_vector", m);
    }

    /** ‖w‖ per row (out) in fp32: torch.linalg.norm(W, dim=1). */
    private static Tensor rowNorm(Tensor w) {
        return w.pow(Torch.s(2.0)).sum(new long[]{1}, false, new ScalarTypeOptional()).sqrt();
    }

    // ------------------------------------------------------------------------------------------- forward

    /** Whether layer {@code layer}'s {@code module} carries an adapter. */
    public boolean has(int layer, int module) { return byLayer[layer][module] != null; }

    /**
     * The adapted output of one linear layer: {@code base} = W x + b (…, out) from the base weight {@code w} (out, in) and
     * bias {@code bias} (may be null), plus the adapter's term (class comment); {@code base} itself when not adapted.
     */
    Tensor apply(int layer, int module, Tensor x, Tensor base, Tensor w, Tensor bias) {
        Adapter ad = byLayer[layer][module];
        if (ad == null) return base;
        boolean dropping = config.loraDropout() > 0 && GradMode.is_enabled() && ad.a.requires_grad();
        Tensor xd = dropping ? dropout(x) : x;
        Tensor lora = torch.linear(torch.linear(xd, ad.a), ad.b);                  // (…, out) = B A x
        if (ad.magnitude == null) return base.add(lora, Torch.s(scaling));
        Tensor n;                                                                  // ‖W + s·BA‖ per row, detached
        try (NoGradGuard g = new NoGradGuard()) {
            n = rowNorm(w.add(ad.b.matmul(ad.a), Torch.s(scaling)));
        }
        Tensor scale = ad.magnitude.div(n);                                        // (out) m / n
        Tensor wx = dropping ? torch.linear(xd, w) : bias == null ? base : base.sub(bias);
        return base.add(scale.sub(Torch.s(1.0)).mul(wx)).add(scale.mul(lora).mul(Torch.s(scaling)));
    }

    /** Inverted dropout with this adapter set's own generator: x · mask / (1 − p), mask ~ Bernoulli(1 − p). */
    private Tensor dropout(Tensor x) {
        double p = config.loraDropout();
        Generator g = torch.make_generator_cpu(seed * 1_000_003L + draws++);
        Tensor mask = Torch.onCuda()                                               // the draws come from a CPU generator
                ? Torch.toDevice(torch.empty(x.sizes().vec().get(), Torch.cpuOpts(Torch.dtypeOf(x)), null).bernoulli_(1 - p, new GeneratorOptional(g)))
                : torch.empty_like(x).bernoulli_(1 - p, new GeneratorOptional(g));
        return x.mul(mask).div(Torch.s(1 - p));
    }

    /** Dropout draws so far (saved in checkpoints so a resume continues the same masks). */
    public long draws() { return draws; }

    public void draws(long n) { draws = n; }

    // ----------------------------------------------------------------------------------- merge, params

    /**
     * The weight {@code name} (an HF base weight name) with its adapter folded in, as a new tensor: W + s·BA, or DoRA's
     * m / ‖W + s·BA‖ · (W + s·BA) (peft's {@code merge_safe}); null when that weight is not adapted.
     */
    Tensor merged(String name, Tensor w) {
        Adapter ad = byWeight.get(name);
        if (ad == null) return null;
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor wf = w.to(ScalarType.Float).add(ad.b.to(ScalarType.Float).matmul(ad.a.to(ScalarType.Float)), Torch.s(scaling));
            if (ad.magnitude != null) wf = wf.mul(ad.magnitude.to(ScalarType.Float).div(rowNorm(wf)).unsqueeze(1));
            return wf.to(Torch.dtypeOf(w));
        }
    }

    /** The adapter tensors by PEFT name (live leaves: do not close them). */
    public Map<String, Tensor> parameters() { return Collections.unmodifiableMap(params); }

    public long parameterCount() {
        long n = 0;
        for (Tensor t : params.values()) n += t.numel();
        return n;
    }

    /** Copies every adapter tensor from {@code other} (same layout), in place. */
    public void loadFrom(Lora other) {
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : params.entrySet()) {
                Tensor t = other.params.get(e.getKey());
                if (t == null) throw new IllegalArgumentException("adapter layouts differ at " + e.getKey());
                e.getValue().copy_(t);
            }
        }
        draws = other.draws;
    }

    // ----------------------------------------------------------------------------------------- PEFT IO

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (fp32) into {@code dir}, as peft's save_pretrained. */
    public void save(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (Exception e) {
            throw new UserError(dir + ": cannot create directory: " + e.getMessage());
        }
        Safetensors.write(dir.resolve(WEIGHTS_FILE), params, ScalarType.Float, null);
        ObjectNode c = Json.object();
        c.put("peft_type", "LORA");
        c.put("task_type", "CAUSAL_LM");
        if (baseModel == null) c.putNull("base_model_name_or_path"); else c.put("base_model_name_or_path", baseModel);
        c.put("r", config.loraR());
        c.put("lora_alpha", config.loraAlpha());
        c.put("lora_dropout", config.loraDropout());
        var targets = c.putArray("target_modules");
        config.modules().forEach(targets::add);
        c.put("use_rslora", config.useRslora());
        c.put("use_dora", config.useDora());
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("modules_to_save");
        c.putNull("layers_to_transform");
        c.putNull("layers_pattern");
        c.putObject("rank_pattern");
        c.putObject("alpha_pattern");
        c.putNull("revision");
        Json.write(dir.resolve(CONFIG_FILE), c);
    }

    /** Whether {@code dir} holds a PEFT adapter (adapter_config.json) rather than a full model. */
    public static boolean isAdapterDir(Path dir) {
        return Files.exists(dir.resolve(CONFIG_FILE)) && !Files.exists(dir.resolve("config.json"));
    }

    /** The base model an adapter directory names ({@code base_model_name_or_path}), resolved to a local directory. */
    public static Path baseOf(Path dir) {
        JsonNode c = Json.read(dir.resolve(CONFIG_FILE));
        String base = c.path("base_model_name_or_path").asText("");
        if (base.isEmpty() || c.get("base_model_name_or_path").isNull())
            throw new UserError(dir.resolve(CONFIG_FILE) + ": no base_model_name_or_path; give the base model with --model BASE --adapter " + dir);
        Path p = Path.of(base);
        if (!p.isAbsolute() && !Files.isDirectory(p)) p = dir.resolve(base);
        if (!Files.isDirectory(p))
            throw new UserError(dir.resolve(CONFIG_FILE) + ": base_model_name_or_path '" + base + "' is not a local model directory; give it with --model BASE --adapter " + dir);
        return p;
    }

    /**
     * Reads a PEFT LoRA adapter directory for {@code model}: the settings from adapter_config.json, the adapted layers from
     * the tensor names in adapter_model.safetensors (so peft's regex {@code target_modules} and layer selections read as
     * written). Anything align4j cannot apply (bias, fan_in_fan_out, per-layer ranks, other PEFT types, adapters on other
     * modules) is a user error naming the field.
     */
    public static Lora load(Path dir, LlamaModel model) {
        Path cf = dir.resolve(CONFIG_FILE), wf = dir.resolve(WEIGHTS_FILE);
        if (!Files.exists(cf)) throw new UserError(dir + ": not an adapter directory (no " + CONFIG_FILE + ")");
        if (!Files.exists(wf)) throw new UserError(dir + ": no " + WEIGHTS_FILE + " (only safetensors adapters are read)");
        JsonNode c = Json.read(cf);
        UserError.check(c.path("peft_type").asText("").equals("LORA"), "%s: peft_type '%s', but only LORA adapters are supported", cf, c.path("peft_type").asText());
        UserError.check(c.path("bias").asText("none").equals("none"), "%s: bias '%s'; only bias \"none\" is supported", cf, c.path("bias").asText());
        UserError.check(!c.path("fan_in_fan_out").asBoolean(false), "%s: fan_in_fan_out true is for GPT-2-style Conv1D layers; expected false", cf);
        UserError.check(c.path("rank_pattern").isMissingNode() || c.path("rank_pattern").isNull() || c.path("rank_pattern").isEmpty(),
                "%s: rank_pattern (per-layer ranks) is not supported", cf);
        UserError.check(c.path("alpha_pattern").isMissingNode() || c.path("alpha_pattern").isNull() || c.path("alpha_pattern").isEmpty(),
                "%s: alpha_pattern (per-layer alphas) is not supported", cf);
        UserError.check(c.path("modules_to_save").isMissingNode() || c.path("modules_to_save").isNull() || c.path("modules_to_save").isEmpty(),
                "%s: modules_to_save (fully trained extra modules) is not supported", cf);
        UserError.check(!c.path("lora_bias").asBoolean(false), "%s: lora_bias true is not supported", cf);
        int r = c.path("r").asInt(8);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Safetensors.read(wf, model.dtype, tensors::put);
        Set<String> modules = new LinkedHashSet<>();
        Map<String, Tensor[]> found = new TreeMap<>();                          // module path → {A, B, m}
        for (var e : tensors.entrySet()) {
            String n = e.getKey();
            String key = n.startsWith(PREFIX) ? n.substring(PREFIX.length()) : n;
            int slot;
            String path;
            if (key.endsWith(".lora_A.weight")) { slot = 0; path = key.substring(0, key.length() - ".lora_A.weight".length()); }
            else if (key.endsWith(".lora_B.weight")) { slot = 1; path = key.substring(0, key.length() - ".lora_B.weight".length()); }
            else if (key.endsWith(".lora_magnitude_vector")) { slot = 2; path = key.substring(0, key.length() - ".lora_magnitude_vector".length()); }
            else throw new UserError(wf + ": tensor '" + n + "' is not a LoRA A/B or DoRA magnitude tensor of a linear layer");
            found.computeIfAbsent(path, x -> new Tensor[3])[slot] = e.getValue();
        }
        boolean dora = c.path("use_dora").asBoolean(false);
        List<int[]> where = new ArrayList<>();
        for (String path : found.keySet()) {
            int[] lm = parsePath(path, model.config.numLayers());
            if (lm == null) throw new UserError(wf + ": adapter on '" + path + "', but align4j adapts only model.layers.N.{self_attn,mlp}.{"
                    + String.join(",", MODULES) + "} of a " + model.config.numLayers() + "-layer model");
            where.add(lm);
            modules.add(MODULES.get(lm[1]));
        }
        if (found.isEmpty()) throw new UserError(wf + ": no adapter tensors");
        List<String> ordered = MODULES.stream().filter(modules::contains).toList();
        Config cfg = new Config(r, c.path("lora_alpha").asDouble(8), c.path("lora_dropout").asDouble(0), ordered,
                c.path("use_rslora").asBoolean(false), dora);
        String base = c.path("base_model_name_or_path").isTextual() ? c.path("base_model_name_or_path").asText() : null;
        Lora lora = new Lora(cfg, base, model.config.numLayers(), 0);
        int i = 0;
        for (var e : found.entrySet()) {
            int[] lm = where.get(i++);
            Tensor[] t = e.getValue();
            Tensor w = model.parameters().get(e.getKey() + ".weight");
            long out = w.size(0), in = w.size(1);
            if (t[0] == null || t[1] == null) throw new UserError(wf + ": '" + e.getKey() + "' needs both lora_A.weight and lora_B.weight");
            if (dora != (t[2] != null)) throw new UserError(wf + ": '" + e.getKey() + "': use_dora is " + dora + " in " + CONFIG_FILE
                    + (dora ? " but there is no lora_magnitude_vector" : " but a lora_magnitude_vector is present"));
            expectShape(wf, e.getKey() + ".lora_A.weight", t[0], r, in);
            expectShape(wf, e.getKey() + ".lora_B.weight", t[1], out, r);
            if (t[2] != null) expectShape(wf, e.getKey() + ".lora_magnitude_vector", t[2], out);
            lora.add(lm[0], lm[1], t[0], t[1], t[2]);
        }
        return lora;
    }

    private static void expectShape(Path file, String name, Tensor t, long... want) {
        if (!Arrays.equals(Torch.shape(t), want))
            throw new UserError(file + ": tensor '" + name + "' has shape " + Arrays.toString(Torch.shape(t)) + " but the base model and r expect " + Arrays.toString(want));
    }

    /** {@code model.layers.L.self_attn.q_proj} → {L, module index}; null when it is not such a path. */
    private static int[] parsePath(String path, int layers) {
        var m = java.util.regex.Pattern.compile("model\\.layers\\.(\\d+)\\.(self_attn|mlp)\\.(\\w+)").matcher(path);
        if (!m.matches()) return null;
        int l = Integer.parseInt(m.group(1)), mod = MODULES.indexOf(m.group(3));
        if (l >= layers || mod < 0 || (mod <= O) != m.group(2).equals("self_attn")) return null;
        return new int[]{l, mod};
    }

    @Override
    public void close() {
        params.values().forEach(Tensor::close);
    }

    /** For checkpoint state: the dropout draws under this key in trainer_state.json. */
    public static final String DRAWS_KEY = "lora_dropout_draws";
}
