package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Listwise losses against values worked out by hand. */
class ListwiseLossTest {
    static Tensor f(int k, float... x) { return Torch.floats(x, x.length / k, k); }

    static Tensor all(int b, int k) {
        boolean[] v = new boolean[b * k];
        java.util.Arrays.fill(v, true);
        return Torch.bools(v, b, k);
    }

    @Test
    void lipoLambdaTwoCompletions() {
        try (PointerScope s = new PointerScope()) {
            // s = (0.5, 0), ψ = (1, 0): ranks by s τ = (1, 2); G = (1, 0); 1/D = (1/log2 2, 1/log2 3) = (1, 0.630930)
            // Δ = |1 − 0|·|1 − 0.630930| = 0.369070; loss = Δ·log(1 + e^−0.5) = 0.369070·0.474077 = 0.174968
            assertEquals(0.174968, Torch.item(ListwiseLoss.lipoLambda(f(2, 0.5f, 0), f(2, 1, 0), all(1, 2))), 1e-5);
            // tied scores (policy = reference): ranks by position τ = (1, 2), so Δ = 0.369070 and loss = Δ·log 2 = 0.255819
            assertEquals(0.255819, Torch.item(ListwiseLoss.lipoLambda(f(2, 0, 0), f(2, 1, 0), all(1, 2))), 1e-5);
            // tied labels give no pair: 0
            assertEquals(0.0, Torch.item(ListwiseLoss.lipoLambda(f(2, 0.5f, 0), f(2, 1, 1), all(1, 2))), 1e-7);
        }
    }

    @Test
    void lipoLambdaThreeCompletionsRankedBackwards() {
        try (PointerScope s = new PointerScope()) {
            // s = (0, 1, 2), ψ = (2, 1, 0): τ = (3, 2, 1), 1/D = (0.5, 0.630930, 1), G = (3, 1, 0)
            // (0,1): 2·0.130930·softplus(1) = 0.343890 ; (0,2): 3·0.5·softplus(2) = 3.190392 ; (1,2): 1·0.369070·softplus(1) = 0.484686
            // sum = 4.018968
            assertEquals(4.018968, Torch.item(ListwiseLoss.lipoLambda(f(3, 0, 1, 2), f(3, 2, 1, 0), all(1, 3))), 1e-4);
        }
    }

    @Test
    void paddedSlotsAreIgnored() {
        try (PointerScope s = new PointerScope()) {
            Tensor valid = Torch.bools(new boolean[]{true, true, false}, 1, 3);
            // the padded third slot (score 9, label 5) must not change the two-completion value 0.174968
            assertEquals(0.174968, Torch.item(ListwiseLoss.lipoLambda(f(3, 0.5f, 0, 9), f(3, 1, 0, 5), valid)), 1e-5);
        }
    }

    @Test
    void proIsPlackettLucePlusNllOfTheBest() {
        try (PointerScope s = new PointerScope()) {
            // ordered mean log-probs (−1, −2): PL = −[(−1 − log(e^−1 + e^−2)) + 0] = 0.313262; NLL(best) = 1 ⇒ 1.313262
            assertEquals(1.313262, Torch.item(ListwiseLoss.pro(f(2, -1, -2), all(1, 2), 1.0)), 1e-5);
            assertEquals(0.313262, Torch.item(ListwiseLoss.listMle(f(2, -1, -2), all(1, 2))), 1e-5);
        }
    }
}
