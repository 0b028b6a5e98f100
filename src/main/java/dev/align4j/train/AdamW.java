package dev.align4j.train;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter) over libtorch tensors, with its state as plain named tensors so a
 * checkpoint can hold it and resume exactly. Weight decay is decoupled and applied only to matrices
 * (not to norm gains or biases), as is standard for transformers.
 *
 * <pre>
 * m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 * p ← p·(1 − lr·wd) − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
 * </pre>
 *
 * <p>Every method runs inside its own {@link PointerScope}: each {@code p.grad()} is a new handle holding a
 * reference to the gradient, and while any handle is alive autograd cannot accumulate in place, so every
 * backward would allocate a fresh gradient. Unscoped, that pinned 8.8 GB after 600 steps of a 1M-parameter
 * model (bench memory check); scoped, memory stays flat.
 */
public final class AdamW implements AutoCloseable {
    private final Map<String, Tensor> params;
    private final Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private final double beta1, beta2, eps, weightDecay;
    private long step;

    public AdamW(Map<String, Tensor> params, double beta1, double beta2, double eps, double weightDecay) {
        this.params = new LinkedHashMap<>(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : this.params.entrySet()) {
                m.put(e.getKey(), torch.zeros_like(e.getValue()));
                v.put(e.getKey(), torch.zeros_like(e.getValue()));
            }
        }
    }

    public AdamW(Map<String, Tensor> params, double weightDecay) { this(params, 0.9, 0.999, 1e-8, weightDecay); }

    public long steps() { return step; }

    public void step(double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            for (var e : params.entrySet()) {
                Tensor p = e.getValue(), grad = p.grad();
                if (!grad.defined()) continue;
                if (weightDecay > 0 && p.dim() >= 2) p.mul_(Torch.s(1 - lr * weightDecay));
                Tensor mt = m.get(e.getKey()), vt = v.get(e.getKey());
                mt.mul_(Torch.s(beta1)).add_(grad, Torch.s(1 - beta1));
                vt.mul_(Torch.s(beta2)).addcmul_(grad, grad, Torch.s(1 - beta2));
                try (Tensor denom = vt.sqrt().div_(Torch.s(Math.sqrt(bc2))).add_(Torch.s(eps))) {
                    p.addcdiv_(mt, denom, Torch.s(-lr / bc1));
                }
            }
        }
    }

    /** Sets every gradient to zero (keeps the buffers). */
    public void zeroGrad() {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            for (Tensor p : params.values()) {
                Tensor grad = p.grad();
                if (grad.defined()) grad.zero_();
            }
        }
    }

    /** Global L2 norm of all gradients; if above {@code maxNorm} (> 0), scales them down to it. Returns the norm before clipping. */
    public double clipGradNorm(double maxNorm) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            List<Tensor> norms = new ArrayList<>();
            for (Tensor p : params.values()) if (p.grad().defined()) norms.add(p.grad().norm());
            if (norms.isEmpty()) return 0;
            double total = Torch.item(torch.stack(new TensorVector(norms.toArray(new Tensor[0]))).norm());
            if (maxNorm > 0 && total > maxNorm && Double.isFinite(total)) {
                double scale = maxNorm / (total + 1e-6);
                for (Tensor p : params.values()) if (p.grad().defined()) p.grad().mul_(Torch.s(scale));
            }
            return total;
        }
    }

    /** Optimizer state by name ({@code exp_avg.NAME}, {@code exp_avg_sq.NAME}) for checkpoints. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        m.forEach((k, t) -> s.put("exp_avg." + k, t));
        v.forEach((k, t) -> s.put("exp_avg_sq." + k, t));
        return s;
    }

    /** Restores {@link #state()} and the step count. */
    public void load(Map<String, Tensor> state, long steps) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            m.forEach((k, t) -> t.copy_(state.get("exp_avg." + k)));
            v.forEach((k, t) -> t.copy_(state.get("exp_avg_sq." + k)));
        }
        step = steps;
    }

    @Override
    public void close() {
        m.values().forEach(Tensor::close);
        v.values().forEach(Tensor::close);
    }
}
