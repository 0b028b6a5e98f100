package dev.align4j.model;

/** Lets tests in other packages build the random models of {@link ModelTest}. */
public final class ModelTestAccess {
    private ModelTestAccess() {}

    public static LlamaModel random(ModelConfig c, long seed) { return ModelTest.randomModel(c, seed); }
}
