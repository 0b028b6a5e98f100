package dev.align4j.eval;

import dev.align4j.task.CycleTask;
import dev.align4j.task.Task;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Win rates and exploitability by hand. */
class GameTest {
    /** A pure 3-style cycle: each style beats the next with probability 0.9. */
    static final double[][] RPS = {{0.5, 0.9, 0.1}, {0.1, 0.5, 0.9}, {0.9, 0.1, 0.5}};

    @Test
    void uniformOverAPureCycleIsUnexploitable() {
        // (M u)_i = (½ + 0.9 + 0.1)/3 = ½ for every i, so max − ½ = 0
        double[] u = {1 / 3.0, 1 / 3.0, 1 / 3.0};
        assertEquals(0.0, Game.exploitability(u, RPS), 1e-12);
        assertEquals(0.5, Game.winRate(u, new double[]{1, 0, 0}, RPS), 1e-12, "uniform vs style 0: (½ + 0.1 + 0.9)/3");
    }

    @Test
    void aPureStyleIsExploitedByTheStyleThatBeatsIt() {
        // against pure style 0: responses = column 0 = (½, 0.1, 0.9); style 2 beats it 90% of the time: 0.9 − ½ = 0.4
        double[] p0 = {1, 0, 0};
        assertEquals(0.4, Game.exploitability(p0, RPS), 1e-12);
        assertEquals(2, Game.bestResponse(p0, RPS));
        assertEquals(0.9, Game.winRate(p0, new double[]{0, 1, 0}, RPS), 1e-12, "style 0 beats style 1");
    }

    @Test
    void aMixedPolicyByHand() {
        // p = (½, ½, 0): r0 = ½·½ + 0.9·½ = 0.7; r1 = 0.1·½ + ½·½ = 0.3; r2 = 0.9·½ + 0.1·½ = 0.5 → style 0, 0.7 − ½ = 0.2
        double[] p = {0.5, 0.5, 0};
        assertArrayEquals(new double[]{0.7, 0.3, 0.5}, Game.responses(p, RPS), 1e-12);
        assertEquals(0.2, Game.exploitability(p, RPS), 1e-12);
        assertEquals(0, Game.bestResponse(p, RPS));
        // W(p, q) with q = (0, ½, ½): ¼·(0.9 + 0.1 + ½ + 0.9) = 0.6
        assertEquals(0.6, Game.winRate(p, new double[]{0, 0.5, 0.5}, RPS), 1e-12);
    }

    @Test
    void aPolicyTiesItselfAndExploitabilityIsNonNegative() {
        // M + Mᵀ = J (all ones) ⇒ pᵀMp = ½·pᵀ(M + Mᵀ)p = ½·(Σp)² = ½ for any p; so the best response wins ≥ ½
        Random rng = new Random(1);
        double[][] m = new CycleTask(1.3, 0.7).payoff();
        for (int k = 0; k < 20; k++) {
            double[] p = new double[m.length];
            double s = 0;
            for (int i = 0; i < p.length; i++) s += p[i] = rng.nextDouble();
            for (int i = 0; i < p.length; i++) p[i] /= s;
            assertEquals(0.5, Game.winRate(p, p, m), 1e-12);
            assertTrue(Game.exploitability(p, m) >= -1e-12);
        }
    }

    @Test
    void samplingAPolicyGivesOneDistributionPerPrompt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        CycleTask t = new CycleTask();
        List<Task.Example> prompts = t.examples(Task.Split.TEST, 3, 0);
        dev.align4j.model.Tokenizer tok = dev.align4j.model.Tokenizer.writeBuiltin(dir);
        try (dev.align4j.model.LlamaModel m = dev.align4j.model.LlamaModel.init(dev.align4j.model.ModelConfig.builtin("nano", dev.align4j.model.Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0), 1,
                org.bytedeco.pytorch.global.torch.ScalarType.Float)) {
            List<double[]> d = Game.sample(m, tok, t, t, prompts, 4, 1.0, 0);
            assertEquals(3, d.size());
            for (double[] p : d) {
                assertEquals(1.0, java.util.Arrays.stream(p).sum(), 1e-12);
                for (double v : p) assertEquals(0, (v * 4) % 1, 1e-9, "counts of 4 samples");
            }
            assertEquals(0.5, Game.winRate(d, d, t.payoff()), 1e-12, "a policy ties itself");
        }
    }

    @Test
    void theCycleTasksNashPolicyAndAPureStyle() {
        CycleTask t = new CycleTask();                                   // s = 2, τ = ½
        double[][] m = t.payoff();
        double[] nash = {1 / 3.0, 0, 1 / 3.0, 0, 1 / 3.0, 0, 0};         // correct, uniform over the styles
        assertEquals(0.0, Game.exploitability(nash, m), 1e-12, "correct classes: (σ(2) + σ(−2) + ½)/3 = ½; wrong ones less");
        double[] plain = {1, 0, 0, 0, 0, 0, 0};
        assertEquals(0.880797 - 0.5, Game.exploitability(plain, m), 1e-6, "hash/correct beats it with σ(2)");
        assertEquals(4, Game.bestResponse(plain, m));
        // from completions: two prompts, half plain-correct, half malformed
        Task.Example a = new Task.Example("10+10=", "20"), b = new Task.Example("11+11=", "22");
        double[] d = Game.distribution(t, List.of(a, a, b, b), List.of("20", "(20", "22", "22)"));
        assertArrayEquals(new double[]{0.5, 0, 0, 0, 0, 0, 0.5}, d, 1e-12);
        // win rate prompt by prompt: plain-correct vs (½ plain, ½ paren)-correct on one prompt = ½·½ + ½·σ(2)
        double[] mix = {0.5, 0, 0.5, 0, 0, 0, 0};
        assertEquals(0.25 + 0.5 * 0.880797, Game.winRate(List.of(plain), List.of(mix), m), 1e-6);
        assertArrayEquals(new double[]{0.75, 0, 0.25, 0, 0, 0, 0}, Game.pooled(List.of(plain, mix)), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Game.exploitability(new double[]{0.5, 0.2, 0.1}, RPS), "not a distribution");
    }
}
