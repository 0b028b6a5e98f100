package dev.align4j.reward;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A process reward model as a reward: the aggregates by hand, and what the scorer reads on a model whose answer is known. */
class ProcessRewardsTest {
    @TempDir Path dir;

    @Test
    void aggregatesByHand() {
        double[] p = {0.9, 0.5, 0.8};
        assertEquals(0.5, ProcessRewards.Aggregate.MIN.apply(p), 1e-12);
        assertEquals(0.8, ProcessRewards.Aggregate.LAST.apply(p), 1e-12);
        assertEquals(0.36, ProcessRewards.Aggregate.PRODUCT.apply(p), 1e-12);          // 0.9 · 0.5 · 0.8
        assertEquals(2.2 / 3, ProcessRewards.Aggregate.MEAN.apply(p), 1e-12);           // (0.9 + 0.5 + 0.8) / 3
        for (ProcessRewards.Aggregate a : ProcessRewards.Aggregate.values())
            assertEquals(0.0, a.apply(new double[0]), 0, a + ": no step, no reward");
        assertEquals(ProcessRewards.Aggregate.PRODUCT, ProcessRewards.Aggregate.parse("Product"));
        assertThrows(UserError.class, () -> ProcessRewards.Aggregate.parse("max"));
    }

    /** A token classifier whose head ignores the trunk (weight 0) and answers its bias: P(correct) = σ(b1 − b0) at every token. */
    static LlamaModel constant(float b0, float b1) {
        ModelConfig c = ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0);
        LlamaModel prm;
        try (LlamaModel base = LlamaModel.init(c, 1, ScalarType.Float)) { prm = base.withTokenClassificationHead(2, 1); }
        try (NoGradGuard g = new NoGradGuard()) {
            prm.parameters().get("score.weight").zero_();
            prm.parameters().get("score.bias").copy_(Torch.floats(new float[]{b0, b1}, 2));
        }
        return prm;
    }

    @Test
    void everyStepIsScoredAtItsSeparatorAndStepsPastTheLengthLimitAreLeftOut() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (PointerScope s = new PointerScope(); LlamaModel prm = constant(0.5f, 1.5f)) {
            double q = 1 / (1 + Math.exp(-1.0));                                         // σ(1.5 − 0.5) = 0.731059
            ProcessRewards pr = new ProcessRewards(prm, tok, ";", 2, 10);
            // "1+2=" is <s> + 4 tokens; "3;4;5" adds 3 steps of 2 tokens: 11 > 10, so the last step's label token is cut
            double[][] p = pr.stepProbabilities(List.of("1+2=", "1+2=", "1+2="), List.of("3", "3;4;5", ""));
            assertArrayEquals(new double[]{q}, p[0], 1e-6);
            assertArrayEquals(new double[]{q, q}, p[1], 1e-6);
            assertEquals(0, p[2].length, "no step");
            double[] prod = pr.scores(List.of("1+2=", "1+2="), List.of("3", "3;4"), ProcessRewards.Aggregate.PRODUCT);
            assertEquals(q, prod[0], 1e-6);
            assertEquals(q * q, prod[1], 1e-6);
            assertEquals("prm", pr.reward(ProcessRewards.Aggregate.MIN).name());
            assertEquals("prm", pr.prefixScorer(ProcessRewards.Aggregate.MIN).name());
        }
        // a one-label head: P = σ(l0) (weight 0, bias −2)
        try (PointerScope s = new PointerScope(); LlamaModel base = LlamaModel.init(ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0), 1, ScalarType.Float);
             LlamaModel prm1 = base.withTokenClassificationHead(1, 1)) {
            try (NoGradGuard g = new NoGradGuard()) {
                prm1.parameters().get("score.weight").zero_();
                prm1.parameters().get("score.bias").fill_(Torch.s(-2.0));
            }
            assertEquals(1 / (1 + Math.exp(2.0)), new ProcessRewards(prm1, tok, ";", 4, 0).scores(List.of("x"), List.of("a"), ProcessRewards.Aggregate.LAST)[0], 1e-6);
            assertThrows(UserError.class, () -> new ProcessRewards(base, tok, ";", 4, 0), "a causal LM is not a process reward model");
            assertThrows(UserError.class, () -> Rewards.model("rm", prm1, tok, 0, 4, 64), "--reward rm refuses a process reward model");
        }
    }
}
