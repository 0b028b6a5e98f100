package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;

/** Supervised fine-tuning loss. Pure function over log-probs; no model, no config. */
public final class SftLoss {
    private SftLoss() {}

    /**
     * Token-mean negative log-likelihood of the completion tokens:
     * L = −Σ_{b,t} m_{b,t} · log π(x_{b,t}) / Σ_{b,t} m_{b,t}.
     *
     * @param tokenLogps (B, T) log-probs, already zero where {@code mask} is 0
     * @param mask       (B, T) 1 at completion tokens
     */
    public static Tensor nll(Tensor tokenLogps, Tensor mask) {
        return tokenLogps.sum().neg().div(mask.sum().clamp_min(Torch.s(1.0)));
    }
}
