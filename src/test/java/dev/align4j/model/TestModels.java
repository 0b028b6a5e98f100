package dev.align4j.model;

import java.nio.file.Path;

/** Tiny configs for tests. */
public final class TestModels {
    private TestModels() {}

    public static ModelConfig llama(int vocab) {
        return new ModelConfig(ModelConfig.Family.LLAMA, 0, vocab, 32, 48, 2, 4, 4, 8, 64, 1e-5, 10000.0,
                new ModelConfig.RopeScaling("llama3", 8.0, 1.0, 4.0, 16), false, false, false, false, 0,
                1, new int[]{2}, 0, 0.2, "float32");
    }

    public static ModelConfig qwen2(int vocab) {
        return new ModelConfig(ModelConfig.Family.QWEN2, 0, vocab, 32, 64, 2, 4, 2, 8, 64, 1e-6, 1000000.0,
                null, true, true, false, false, 0, 1, new int[]{2}, 0, 0.2, "float32");
    }

    public static ModelConfig mistral(int vocab) {
        return new ModelConfig(ModelConfig.Family.MISTRAL, 0, vocab, 32, 48, 2, 4, 2, 8, 64, 1e-5, 10000.0,
                new ModelConfig.RopeScaling("linear", 2.0, 1, 4, 16), false, false, false, false, 4, 1, new int[]{2}, 0, 0.2, "float32");
    }

    /** The built-in char tokenizer written into {@code dir}. */
    public static Tokenizer tokenizer(Path dir) {
        return Tokenizer.writeBuiltin(dir);
    }
}
