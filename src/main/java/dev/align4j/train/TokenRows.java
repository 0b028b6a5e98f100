package dev.align4j.train;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

/**
 * Moving per-token quantities between (N, T−1) tensors aligned with {@code Scoring.tokenLogps} and ragged Java
 * rows holding only each sequence's completion tokens, where token-level estimators (GAE, REINFORCE++) run.
 * Row i's completion tokens sit at shifted positions offsets[i] … offsets[i] + lengths[i] − 1 (offset = prompt length − 1).
 */
final class TokenRows {
    private TokenRows() {}

    /** The completion part of a (N, T−1) tensor as ragged rows: row i holds positions offsets[i] … offsets[i] + lengths[i] − 1. */
    static double[][] rows(Tensor x, int[] offsets, int[] lengths) {
        float[] f = Torch.toFloats(x.contiguous());
        int t = (int) x.size(1);
        double[][] out = new double[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            out[i] = new double[lengths[i]];
            for (int u = 0; u < lengths[i]; u++) out[i][u] = f[i * t + offsets[i] + u];
        }
        return out;
    }

    /** Ragged rows {@code idx} back into a (|idx|, t) tensor at their completion positions, zero elsewhere. */
    static Tensor dense(double[][] x, List<Integer> idx, int[] offsets, int[] lengths, long t) {
        float[] f = new float[idx.size() * (int) t];
        for (int j = 0; j < idx.size(); j++) {
            int i = idx.get(j);
            for (int u = 0; u < lengths[i]; u++) f[j * (int) t + offsets[i] + u] = (float) x[i][u];
        }
        return Torch.floats(f, idx.size(), t);
    }

}
