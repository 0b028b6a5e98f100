package dev.align4j.jlama;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * Batch-1 greedy generation, align4j (libtorch) against Jlama, on the same model saved in Hugging Face
 * layout, in one process so both see the same machine state. For each built-in size: build a model
 * (32k vocabulary, seeded weights), save it, load it in both engines, then
 * <ol>
 *   <li>numerics: next-token probabilities after the prompt from both engines (max |Δp|, same argmax),
 *       and the greedy continuations token by token (first position where they differ);</li>
 *   <li>speed: tokens/s of prompt + {@code --tokens} greedy steps, median of {@code --repeats} runs after a warm-up.</li>
 * </ol>
 * Jlama runs with fp32 weights and fp32 working memory (its I8 activation quantisation off), the same
 * arithmetic as align4j; {@code --jlama-q8} adds a row with Jlama's default I8 working memory.
 *
 * <p>Run with {@code bench/jlama/run.sh [--sizes tiny,small] [--tokens 64] [--repeats 5] [--output out/jlama.json]}.
 */
public final class Compare {
    private Compare() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        List<String> sizes = List.of(a.getOrDefault("--sizes", "tiny,small,medium").split(","));
        int tokens = Integer.parseInt(a.getOrDefault("--tokens", "64"));
        int repeats = Integer.parseInt(a.getOrDefault("--repeats", "5"));
        boolean q8 = a.containsKey("--jlama-q8");
        Path output = Path.of(a.getOrDefault("--output", "out/jlama.json"));
        Torch.init();
        ObjectNode out = Json.object();
        out.put("threads_align4j", Torch.threads());
        out.put("cores", Runtime.getRuntime().availableProcessors());
        out.put("tokens", tokens);
        ArrayNode rows = out.putArray("models");
        for (String size : sizes) {
            ModelConfig c = ModelConfig.builtin(size, 32_000, 1, new int[]{2}, 0);
            Path dir = Files.createTempDirectory("align4j-jlama-" + size);
            if (a.containsKey("--set")) { // diagnostic: config.json overrides, e.g. --set num_key_value_heads=3,rope_theta=500000
                ObjectNode j = c.toJson();
                for (String kv : a.get("--set").split(",")) {
                    String[] p = kv.split("=", 2);
                    j.put(p[0], Double.parseDouble(p[1]));
                    if (p[1].matches("-?\\d+")) j.put(p[0], Long.parseLong(p[1]));
                }
                Json.write(dir.resolve("config.json"), j);
                c = ModelConfig.read(dir.resolve("config.json"));
            }
            int[] prompt = Arrays.copyOf(new int[]{1, 17, 42, 99, 123, 512, 7, 64}, Integer.parseInt(a.getOrDefault("--prompt-len", "8")));
            ObjectNode r = rows.addObject();
            r.put("size", size).put("heads", c.numHeads()).put("kv_heads", c.numKvHeads()).put("parameters", c.parameterCount());
            try (LlamaModel m = LlamaModel.init(c, 0, ScalarType.Float)) {
                HfModel.save(dir, m, null);
                writeTokenizer(dir, c.vocabSize());
                // ---- align4j
                SamplingConfig greedy = new SamplingConfig(tokens, 0.0, 0, 1.0, 0, List.of());
                int[] ours = Sampler.generateIgnoringEos(m, List.of(prompt), greedy).get(0).tokens();
                float[] oursProbs = nextTokenProbs(m, prompt);
                // ---- Jlama
                AbstractModel jm = ModelSupport.loadModel(dir.toFile(), DType.F32, DType.F32);
                KvBufferCache kvc = new KvBufferCache(jm);
                for (int w = 0; w < 2; w++) jlamaGreedy(jm, kvc, prompt, tokens, true);    // JIT warm-up of its vector kernels
                // ---- speed: the two engines alternate, so drift in machine speed hits both alike
                double[] t = new double[2 * repeats];
                for (int i = 0; i < repeats; i++) {
                    t[2 * i] = seconds(() -> Sampler.generateIgnoringEos(m, List.of(prompt), greedy));
                    t[2 * i + 1] = seconds(() -> jlamaGreedy(jm, kvc, prompt, tokens, true));
                }
                double oursSec = median(t, 0), theirsSec = median(t, 1);
                // ---- compare: Jlama's prompt through its one-token path (as in decoding) and its batched prompt path
                int[] theirs = jlamaGreedy(jm, kvc, prompt, tokens, false);
                float[] theirProbs = jlamaNextTokenProbs(jm, kvc, prompt, false), theirBatched = jlamaNextTokenProbs(jm, kvc, prompt, true);
                int firstDiff = -1;
                for (int i = 0; i < tokens && firstDiff < 0; i++) if (ours[i] != theirs[i]) firstDiff = i;
                r.put("align4j_tokens_per_s", tokens / oursSec);
                r.put("jlama_f32_tokens_per_s", tokens / theirsSec);
                r.put("next_token_prob_max_abs_diff", maxAbsDiff(oursProbs, theirProbs));
                r.put("next_token_prob_max_abs_diff_jlama_batched_prompt", maxAbsDiff(oursProbs, theirBatched));
                r.put("same_argmax", argmax(oursProbs) == argmax(theirProbs));
                r.put("greedy_tokens_identical", firstDiff < 0 ? tokens : firstDiff);
                jm.close();
                kvc.close();
                if (q8) {
                    AbstractModel jq = ModelSupport.loadModel(dir.toFile(), DType.F32, DType.I8);
                    KvBufferCache kq = new KvBufferCache(jq);
                    for (int w = 0; w < 2; w++) jlamaGreedy(jq, kq, prompt, tokens, true);
                    r.put("jlama_i8_working_tokens_per_s", tokens / median(repeats, () -> jlamaGreedy(jq, kq, prompt, tokens, true)));
                    jq.close();
                    kq.close();
                }
                System.err.printf("%-6s %,12d params  align4j %7.1f tok/s  Jlama(f32) %7.1f tok/s%s  max|dp| %.2e (Jlama batched prompt %.2e)  argmax %s  greedy identical for %d/%d tokens%n",
                        size, c.parameterCount(), r.get("align4j_tokens_per_s").asDouble(), r.get("jlama_f32_tokens_per_s").asDouble(),
                        q8 ? String.format("  Jlama(i8 working) %7.1f tok/s", r.get("jlama_i8_working_tokens_per_s").asDouble()) : "",
                        r.get("next_token_prob_max_abs_diff").asDouble(), r.get("next_token_prob_max_abs_diff_jlama_batched_prompt").asDouble(),
                        r.get("same_argmax").asBoolean() ? "same" : "DIFFERENT", r.get("greedy_tokens_identical").asInt(), tokens);
            }
        }
        Json.write(output, out);
        System.out.println(Json.compact(out));
        System.exit(0); // Jlama's worker pool is not daemon
    }

    /**
     * Prompt then greedy steps; returns the {@code tokens} generated ids. {@code batched}: the prompt goes
     * through Jlama's batched prompt path (what its own generate does); otherwise one token at a time.
     */
    static int[] jlamaGreedy(AbstractModel jm, KvBufferCache kvc, int[] prompt, int tokens, boolean batched) {
        int[] out = new int[tokens];
        try (KvBufferCache.KvBuffer kv = kvc.getKvBuffer(UUID.randomUUID());
             AbstractTensor logits = jm.makeDenseTensor(jm.getConfig().vocabularySize)) {
            AbstractTensor last = prompt(jm, kv, prompt, batched);
            int next = jm.sample(last, 0f, 0f, logits);
            last.close();
            out[0] = next;
            for (int i = 1; i < tokens; i++) {
                AbstractTensor h = jm.forward(next, prompt.length + i - 1, kv, Optional.empty());
                next = jm.sample(h, 0f, 0f, logits);
                h.close();
                kv.incrementContextPosition();
                out[i] = next;
            }
        }
        return out;
    }

    static float[] jlamaNextTokenProbs(AbstractModel jm, KvBufferCache kvc, int[] prompt, boolean batched) {
        try (KvBufferCache.KvBuffer kv = kvc.getKvBuffer(UUID.randomUUID())) {
            AbstractTensor last = prompt(jm, kv, prompt, batched);
            float[] p = jm.getLogits(last); // softmax probabilities
            last.close();
            return p;
        }
    }

    /** The last prompt position's hidden state. */
    static AbstractTensor prompt(AbstractModel jm, KvBufferCache.KvBuffer kv, int[] prompt, boolean batched) {
        if (batched) {
            AbstractTensor all = jm.batchForward(prompt, 0, kv);
            return all.slice(all.shape().first() - 1);
        }
        AbstractTensor h = null;
        for (int i = 0; i < prompt.length; i++) {
            if (h != null) h.close();
            h = jm.forward(prompt[i], i, kv, Optional.empty());
            kv.incrementContextPosition();
        }
        return h;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static float[] nextTokenProbs(LlamaModel m, int[] prompt) {
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            long[] ids = Arrays.stream(prompt).asLongStream().toArray();
            Tensor logits = m.logits(Torch.longs(ids, 1, ids.length), null);
            return Torch.toFloats(torch.softmax(logits.select(1, ids.length - 1).squeeze(0), -1));
        }
    }

    /**
     * A character tokenizer (the built-in one) padded with filler tokens to the model's vocabulary:
     * both engines need a tokenizer.json to load a model; generation here works on token ids.
     */
    static void writeTokenizer(Path dir, int vocab) {
        try (Tokenizer t = Tokenizer.writeBuiltin(dir)) {
            ObjectNode root = (ObjectNode) Json.read(dir.resolve("tokenizer.json"));
            ObjectNode v = (ObjectNode) root.path("model").path("vocab");
            for (int id = v.size(); id < vocab; id++) v.put("<x" + id + ">", id);
            Json.write(dir.resolve("tokenizer.json"), root);
        }
    }

    static int argmax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
        return best;
    }

    static double seconds(Runnable r) {
        long s = System.nanoTime();
        r.run();
        return (System.nanoTime() - s) / 1e9;
    }

    /** Median of every other entry of {@code t}, starting at {@code from}. */
    static double median(double[] t, int from) {
        double[] x = new double[t.length / 2];
        for (int i = 0; i < x.length; i++) x[i] = t[2 * i + from];
        Arrays.sort(x);
        return x[x.length / 2];
    }

    static double median(int repeats, Runnable r) {
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long s = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - s) / 1e9;
        }
        Arrays.sort(t);
        return t[repeats / 2];
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument: " + args[i]);
            if (args[i].equals("--jlama-q8")) m.put(args[i], "true");
            else if (i + 1 < args.length) m.put(args[i], args[++i]);
            else throw new IllegalArgumentException(args[i] + " needs a value");
        }
        return m;
    }
}
