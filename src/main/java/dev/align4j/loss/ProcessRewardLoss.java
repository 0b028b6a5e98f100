package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The process reward model's loss: per-step binary cross-entropy at the tokens that carry a step label (Lightman et al.
 * 2023; Math-Shepherd, Wang et al. 2024, §3.2; TRL's PRMTrainer, which is token classification with the other tokens at
 * label −100). A pure function over the "step is correct" logits; no model, no config.
 *
 * <p>Shapes: B rows (trajectories), T tokens.
 */
public final class ProcessRewardLoss {
    private ProcessRewardLoss() {}

    /**
     * @param loss               the mean step loss (gradients flow)
     * @param stepAccuracy       share of labelled steps with (z &gt; 0) = (y &gt; ½)
     * @param trajectoryAccuracy share of rows with at least one label whose every labelled step is classified right
     * @param steps              labelled steps in the batch
     */
    public record Result(Tensor loss, double stepAccuracy, double trajectoryAccuracy, double steps) {}

    /**
     * L = Σ_{b,t} m_bt · [−y_bt·log σ(z_bt) − (1 − y_bt)·log σ(−z_bt)] / Σ_{b,t} m_bt. For a two-label head z = l₁ − l₀, and
     * this is the cross-entropy −log softmax(l)_y that transformers' token classification computes (y ∈ {0, 1}); a soft
     * y ∈ [0, 1] (Math-Shepherd's soft estimate) makes it the cross-entropy against the target distribution (1 − y, y).
     *
     * @param z    (B, T) logit of "this step is correct"
     * @param y    (B, T) float target in [0, 1] (any value where the mask is 0)
     * @param mask (B, T) float, 1 at the labelled tokens (each step's last token)
     */
    public static Result stepwise(Tensor z, Tensor y, Tensor mask) {
        // −y·log σ(z) − (1 − y)·log σ(−z)
        Tensor terms = torch.log_sigmoid(z).mul(y).add(torch.log_sigmoid(z.neg()).mul(y.neg().add(Torch.s(1.0)))).neg();
        Tensor n = mask.sum();
        Tensor loss = terms.mul(mask).sum().div(n.clamp_min(Torch.s(1.0)));
        // diagnostics, detached
        Tensor zd = z.detach();
        Tensor right = zd.gt(Torch.s(0.0)).eq(y.gt(Torch.s(0.5))).to(ScalarType.Float).mul(mask);          // (B, T)
        Tensor labelled = mask.sum(new long[]{1}, false, new ScalarTypeOptional());                         // (B)
        Tensor wrong = labelled.sub(right.sum(new long[]{1}, false, new ScalarTypeOptional()));              // (B) misclassified steps
        Tensor rows = labelled.gt(Torch.s(0.0)).to(ScalarType.Float);
        double steps = Torch.item(n);
        double trajectories = Torch.item(rows.sum());
        double step = steps == 0 ? Double.NaN : Torch.item(right.sum()) / steps;
        double traj = trajectories == 0 ? Double.NaN : Torch.item(wrong.lt(Torch.s(0.5)).to(ScalarType.Float).mul(rows).sum()) / trajectories;
        return new Result(loss, step, traj, steps);
    }
}
