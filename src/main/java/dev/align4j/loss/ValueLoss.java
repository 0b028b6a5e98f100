package dev.align4j.loss;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.List;

/**
 * Value-head losses, as pure functions: regression (MSE, the default) or classification over B bins of a fixed support
 * [v_min, v_max] (Farebrother et al. 2024, "Stop Regressing: Training Value Functions via Classification for Scalable
 * Deep RL"). A categorical head outputs B logits ℓ; its value is the expectation V = Σ_i softmax(ℓ)_i · c_i over the
 * atoms c_i; the loss is the cross-entropy −Σ_i p_i · log softmax(ℓ)_i against a target histogram p built from the
 * scalar target y:
 * <ul>
 * <li>HL-Gauss (the paper's §3.1 and Appendix A; Imani &amp; White 2018): B equal bins with edges z_0 = v_min &lt; … &lt;
 * z_B = v_max and atoms at their centres; p_i = Φ((z_{i+1} − y)/σ) − Φ((z_i − y)/σ), renormalised by
 * Φ((z_B − y)/σ) − Φ((z_0 − y)/σ) (the mass that falls inside the support), σ = ratio × bin width (paper: 0.75);</li>
 * <li>two-hot: B atoms at linspace(v_min, v_max, B) (so both ends are representable); y between atoms c_j ≤ y ≤ c_{j+1}
 * puts (c_{j+1} − y)/w on c_j and (y − c_j)/w on c_{j+1}, so Σ p_i c_i = y exactly.</li>
 * </ul>
 * Targets outside the support are clamped into it first. Shapes: N rows, T positions, B bins; {@code mask} (N, T) is 1
 * where a position is trained. Knows nothing of models or training.
 */
public final class ValueLoss {
    private ValueLoss() {}

    /** Which value loss a value head trains with. */
    public enum Kind {
        /** regression: one output, ½ (V − y)² (PPO's critic loss, with its optional clipping) */
        MSE,
        /** HL-Gauss histogram target, cross-entropy over B bins */
        HL_GAUSS,
        /** two-hot target on B atoms, cross-entropy */
        TWO_HOT;

        public static Kind parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase().replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new UserError("--value-loss " + s + ": expected mse, hl-gauss or two-hot");
            }
        }

        /** The flag spelling: mse, hl-gauss, two-hot. */
        public String flag() { return name().toLowerCase().replace('_', '-'); }
    }

    /** The file beside a value model's config.json that says how to read its head (kind, bins, support). */
    public static final String HEAD_FILE = "value_head.json";

    /**
     * A value head's settings: part of every config that trains one (PPO's critic, the value model), and saved with the
     * model as {@link #HEAD_FILE}.
     *
     * @param valueLoss    mse (one output) or a categorical loss (hl-gauss, two-hot) over {@code valueBins} outputs
     * @param valueBins    B, the number of bins / atoms of a categorical head (≥ 2)
     * @param valueRange   [v_min, v_max], the support of a categorical head
     * @param hlSigmaRatio HL-Gauss σ as a multiple of the bin width (paper: 0.75)
     */
    public record Head(Kind valueLoss, int valueBins, List<Double> valueRange, double hlSigmaRatio) {
        /** Every setting's default, by name, for the configs that nest a head. */
        public static final Object[] DEFAULTS = {"valueLoss", Kind.MSE, "valueBins", 51, "valueRange", List.of(-1.0, 1.0), "hlSigmaRatio", 0.75};

        public Head {
            valueLoss = valueLoss == null ? Kind.MSE : valueLoss;
            valueRange = valueRange == null ? List.of() : List.copyOf(valueRange);
            UserError.check(valueRange.size() == 2 && valueRange.get(0) < valueRange.get(1),
                    "value-range must be two numbers MIN,MAX with MIN < MAX: %s", valueRange);
            UserError.check(valueBins >= 2, "value-bins must be >= 2: %s", valueBins);
            UserError.check(hlSigmaRatio > 0, "hl-sigma-ratio must be > 0 (the paper's 0.75 bin widths): %s", hlSigmaRatio);
        }

        public static Head mse() { return new Head(Kind.MSE, 51, List.of(-1.0, 1.0), 0.75); }

        public boolean categorical() { return valueLoss != Kind.MSE; }

        /** Outputs of the head: 1 for mse, B for a categorical loss (the model's num_labels). */
        public int labels() { return categorical() ? valueBins : 1; }

        public double vmin() { return valueRange.get(0); }

        public double vmax() { return valueRange.get(1); }

        /** The atoms c_i (B) that a categorical head's probabilities weight: bin centres (HL-Gauss) or linspace (two-hot). */
        public Tensor atoms() {
            if (valueLoss == Kind.TWO_HOT) return torch.linspace(Torch.s(vmin()), Torch.s(vmax()), valueBins, Torch.opts(ScalarType.Float));
            double w = (vmax() - vmin()) / valueBins;
            return torch.linspace(Torch.s(vmin() + w / 2), Torch.s(vmax() - w / 2), valueBins, Torch.opts(ScalarType.Float));
        }

        /** The value of head outputs (..., L) → (...): the output itself for mse, Σ softmax(ℓ)_i · c_i for a categorical head. */
        public Tensor value(Tensor outputs) {
            Tensor out = outputs.to(ScalarType.Float);
            if (!categorical()) return out.select(-1, 0);
            return torch.softmax(out, -1).mul(atoms()).sum(new long[]{-1}, false, new ScalarTypeOptional());
        }

        /** The target histogram (..., B) of scalar targets y (...). */
        public Tensor target(Tensor y) {
            return switch (valueLoss) {
                case HL_GAUSS -> hlGaussTarget(y, vmin(), vmax(), valueBins, hlSigmaRatio * (vmax() - vmin()) / valueBins);
                case TWO_HOT -> twoHotTarget(y, vmin(), vmax(), valueBins);
                case MSE -> throw new IllegalStateException("mse has no target histogram");
            };
        }

        public ObjectNode toJson() {
            ObjectNode o = Json.object();
            o.put("value_loss", valueLoss.flag());
            o.put("num_bins", labels());
            o.putArray("value_range").add(vmin()).add(vmax());
            o.put("hl_sigma_ratio", hlSigmaRatio);
            return o;
        }

        /** Writes {@link #HEAD_FILE} into a model directory. */
        public void writeTo(Path modelDir) { Json.write(modelDir.resolve(HEAD_FILE), toJson()); }

        /** The head of a value model directory: its {@link #HEAD_FILE}, or (none there) a one-output mse head. */
        public static Head readFrom(Path modelDir) {
            Path f = modelDir.resolve(HEAD_FILE);
            if (!java.nio.file.Files.exists(f)) return mse();
            JsonNode n = Json.read(f);
            try {
                Kind k = Kind.parse(n.path("value_loss").asText("mse"));
                JsonNode r = n.path("value_range");
                if (k != Kind.MSE && (!r.isArray() || r.size() != 2)) throw new UserError(f + ": 'value_range' must be [MIN, MAX]");
                List<Double> range = k == Kind.MSE && (!r.isArray() || r.size() != 2) ? List.of(-1.0, 1.0) : List.of(r.get(0).asDouble(), r.get(1).asDouble());
                return new Head(k, k == Kind.MSE ? 51 : n.path("num_bins").asInt(0), range, n.path("hl_sigma_ratio").asDouble(0.75));
            } catch (UserError e) {
                throw new UserError(f + ": " + e.getMessage());
            }
        }
    }

    /**
     * HL-Gauss target histogram (..., B) of targets y (...): p_i = [Φ((z_{i+1} − y)/σ) − Φ((z_i − y)/σ)] / [Φ((z_B − y)/σ) −
     * Φ((z_0 − y)/σ)] with edges z = linspace(v_min, v_max, B + 1), Φ(x) = ½(1 + erf(x/√2)); y clamped to [v_min, v_max].
     */
    public static Tensor hlGaussTarget(Tensor y, double vmin, double vmax, int bins, double sigma) {
        Tensor edges = torch.linspace(Torch.s(vmin), Torch.s(vmax), bins + 1, Torch.opts(ScalarType.Double));       // (B + 1)
        Tensor yc = y.to(ScalarType.Double).clamp(new ScalarOptional(Torch.s(vmin)), new ScalarOptional(Torch.s(vmax))).unsqueeze(-1);
        Tensor cdf = torch.erf(edges.sub(yc).div(Torch.s(sigma * Math.sqrt(2)))).add(Torch.s(1.0)).mul(Torch.s(0.5));  // (..., B + 1) Φ
        long last = bins;
        Tensor mass = cdf.narrow(-1, 1, bins).sub(cdf.narrow(-1, 0, bins));                                             // (..., B)
        Tensor inside = cdf.narrow(-1, last, 1).sub(cdf.narrow(-1, 0, 1));                                              // (..., 1)
        return mass.div(inside).to(ScalarType.Float);
    }

    /**
     * Two-hot target (..., B) on atoms c = linspace(v_min, v_max, B) with spacing w: y clamped to [v_min, v_max], j =
     * min(⌊(y − v_min)/w⌋, B − 2), p_j = 1 − f, p_{j+1} = f with f = (y − c_j)/w.
     */
    public static Tensor twoHotTarget(Tensor y, double vmin, double vmax, int bins) {
        double w = (vmax - vmin) / (bins - 1);
        Tensor pos = y.to(ScalarType.Double).clamp(new ScalarOptional(Torch.s(vmin)), new ScalarOptional(Torch.s(vmax)))
                .sub(Torch.s(vmin)).div(Torch.s(w)).unsqueeze(-1);                                                     // (..., 1)
        Tensor j = torch.floor(pos).clamp(new ScalarOptional(Torch.s(0.0)), new ScalarOptional(Torch.s(bins - 2.0)));
        Tensor f = pos.sub(j);
        long[] shape = Torch.shape(pos);
        shape[shape.length - 1] = bins;
        Tensor idx = j.to(ScalarType.Long);
        Tensor p = torch.zeros(shape, Torch.opts(ScalarType.Double));
        p = p.scatter(-1, idx, f.neg().add(Torch.s(1.0))).scatter_add(-1, idx.add(Torch.s(1L)), f);
        return p.to(ScalarType.Float);
    }

    /** Cross-entropy −Σ_i p_i · log softmax(ℓ)_i per position, averaged over the positions where {@code mask} is 1. */
    public static Tensor crossEntropy(Tensor logits, Tensor target, Tensor mask) {
        Tensor ce = torch.log_softmax(logits.to(ScalarType.Float), -1).mul(target).sum(new long[]{-1}, false, new ScalarTypeOptional()).neg(); // (N, T)
        return ce.mul(mask).sum().div(mask.sum().clamp_min(Torch.s(1.0)));
    }

    /**
     * A value head's regression loss on outputs (N, T, L) against targets (N, T): ½·mean (V − y)² with mse (PPO's
     * {@link PolicyLoss#valueLoss}, clipped around {@code oldValues} by {@code clip} &gt; 0), or the cross-entropy against the
     * target histogram with a categorical head (never clipped: {@code clipFraction} is 0).
     */
    public static PolicyLoss.ValueOut loss(Head head, Tensor outputs, Tensor oldValues, Tensor targets, Tensor mask, double clip) {
        if (!head.categorical()) {
            Tensor v = outputs.to(ScalarType.Float).select(-1, 0);
            return PolicyLoss.valueLoss(v, oldValues == null ? v : oldValues, targets, mask, oldValues == null ? 0 : clip);
        }
        return new PolicyLoss.ValueOut(crossEntropy(outputs, head.target(targets), mask), 0);
    }
}
