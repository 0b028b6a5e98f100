package dev.align4j.loss;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** HL-Gauss and two-hot targets, the categorical value and the cross-entropy against values worked out by hand. */
class ValueLossTest {
    static Tensor t(float... x) { return Torch.floats(x, x.length); }

    static void assertRow(double[] expected, Tensor row, double tol) {
        float[] got = Torch.toFloats(row);
        assertEquals(expected.length, got.length);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], got[i], tol, "bin " + i + " of " + java.util.Arrays.toString(got));
    }

    @Test
    void hlGaussTargetIsTheNormalMassOfEachBinRenormalisedOverTheSupport() {
        try (PointerScope s = new PointerScope()) {
            // 3 bins on [0, 3]: edges z = 0, 1, 2, 3, width 1, σ = 0.75 · 1 = 0.75.
            // y = 1.5 (the middle bin's centre): (z − y)/σ = −2, −2/3, 2/3, 2
            //   Φ = 0.0227501, 0.2524925, 0.7475075, 0.9772499
            //   bin masses 0.2297424, 0.4950149, 0.2297424; inside the support Φ(2) − Φ(−2) = 0.9544997
            //   p = 0.240694, 0.518612, 0.240694
            assertRow(new double[]{0.240694, 0.518612, 0.240694}, ValueLoss.hlGaussTarget(t(1.5f), 0, 3, 3, 0.75).select(0, 0), 1e-5);
            // y = 1.0 (between the centres 0.5 and 1.5): (z − y)/σ = −4/3, 0, 4/3, 8/3
            //   Φ = 0.0912112, 0.5, 0.9087888, 0.9961696 → masses 0.4087888, 0.4087888, 0.0873808; inside 0.9049584
            //   p = 0.451721, 0.451721, 0.096558
            assertRow(new double[]{0.451721, 0.451721, 0.096558}, ValueLoss.hlGaussTarget(t(1.0f), 0, 3, 3, 0.75).select(0, 0), 1e-5);
            // the same through a head: range [0, 3], 3 bins, ratio 0.75 → σ = 0.75
            ValueLoss.Head h = new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 3, List.of(0.0, 3.0), 0.75);
            assertRow(new double[]{0.451721, 0.451721, 0.096558}, h.target(t(1.0f)).select(0, 0), 1e-5);
            // a target above v_max is clamped to 3: the same histogram as y = 3, every row sums to 1
            assertRow(Torch.toDoubles(h.target(t(3f)).select(0, 0).to(org.bytedeco.pytorch.global.torch.ScalarType.Double)), h.target(t(7f)).select(0, 0), 1e-6);
            assertEquals(1.0, Torch.item(h.target(t(0.2f, 2.9f)).sum()) / 2, 1e-6);
            // bin centres are the atoms: 0.5, 1.5, 2.5
            assertRow(new double[]{0.5, 1.5, 2.5}, h.atoms(), 1e-6);
        }
    }

    @Test
    void twoHotSplitsTheMassBetweenTheTwoNearestAtoms() {
        try (PointerScope s = new PointerScope()) {
            // atoms linspace(0, 2, 3) = 0, 1, 2 (spacing 1)
            assertRow(new double[]{0, 1, 0}, ValueLoss.twoHotTarget(t(1f), 0, 2, 3).select(0, 0), 1e-6);          // on an atom
            // y = 0.25: j = 0, f = 0.25 → p_0 = 0.75, p_1 = 0.25; Σ p·c = 0.25 = y
            assertRow(new double[]{0.75, 0.25, 0}, ValueLoss.twoHotTarget(t(0.25f), 0, 2, 3).select(0, 0), 1e-6);
            // y = 1.6: j = 1, f = 0.6 → 0, 0.4, 0.6
            assertRow(new double[]{0, 0.4, 0.6}, ValueLoss.twoHotTarget(t(1.6f), 0, 2, 3).select(0, 0), 1e-6);
            // y = 2 (v_max): j = min(2, B − 2) = 1, f = 1 → all on the last atom; y = 2.5 is clamped to 2; y = −1 to 0
            assertRow(new double[]{0, 0, 1}, ValueLoss.twoHotTarget(t(2f), 0, 2, 3).select(0, 0), 1e-6);
            assertRow(new double[]{0, 0, 1}, ValueLoss.twoHotTarget(t(2.5f), 0, 2, 3).select(0, 0), 1e-6);
            assertRow(new double[]{1, 0, 0}, ValueLoss.twoHotTarget(t(-1f), 0, 2, 3).select(0, 0), 1e-6);
            ValueLoss.Head h = new ValueLoss.Head(ValueLoss.Kind.TWO_HOT, 3, List.of(0.0, 2.0), 0.75);
            assertRow(new double[]{0, 1, 2}, h.atoms(), 1e-6);
            // (N, T) targets give (N, T, B) histograms
            assertArrayEquals(new long[]{2, 2, 3}, Torch.shape(h.target(Torch.floats(new float[]{0, 1, 2, 0.5f}, 2, 2))));
        }
    }

    @Test
    void theValueIsTheExpectationOverTheAtoms() {
        try (PointerScope s = new PointerScope()) {
            // logits (ln 3, 0, 0) → softmax (0.6, 0.2, 0.2)
            Tensor logits = Torch.floats(new float[]{(float) Math.log(3), 0, 0}, 1, 3);
            // HL-Gauss on [0, 3]: centres 0.5, 1.5, 2.5 → 0.6·0.5 + 0.2·1.5 + 0.2·2.5 = 1.1
            assertEquals(1.1, Torch.item(new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 3, List.of(0.0, 3.0), 0.75).value(logits)), 1e-6);
            // two-hot on [0, 2]: atoms 0, 1, 2 → 0.6·0 + 0.2·1 + 0.2·2 = 0.6
            assertEquals(0.6, Torch.item(new ValueLoss.Head(ValueLoss.Kind.TWO_HOT, 3, List.of(0.0, 2.0), 0.75).value(logits)), 1e-6);
            // mse: the single output itself
            assertEquals(0.7, Torch.item(ValueLoss.Head.mse().value(Torch.floats(new float[]{0.7f}, 1, 1))), 1e-6);
            // two-hot is exact: the value of the target histogram's logits (log p) is y
            ValueLoss.Head h = new ValueLoss.Head(ValueLoss.Kind.TWO_HOT, 5, List.of(-1.0, 1.0), 0.75);
            Tensor p = h.target(t(0.3f));
            assertEquals(0.3, Torch.item(h.value(p.clamp_min(Torch.s(1e-30)).log())), 1e-5);
        }
    }

    @Test
    void crossEntropyAgainstTheHistogramAveragedOverMaskedPositions() {
        try (PointerScope s = new PointerScope()) {
            // logits (1, 0, 0): log softmax = (1, 0, 0) − ln(e + 2) = (−0.551445, −1.551445, −1.551445)
            // target (0.75, 0.25, 0): CE = 0.75·0.551445 + 0.25·1.551445 = 0.801445
            Tensor logits = Torch.floats(new float[]{1, 0, 0, 5, 5, 5}, 1, 2, 3);
            Tensor target = Torch.floats(new float[]{0.75f, 0.25f, 0, 1, 0, 0}, 1, 2, 3);
            // the second position is masked out, so its (different) loss does not count
            assertEquals(0.801445, Torch.item(ValueLoss.crossEntropy(logits, target, Torch.floats(new float[]{1, 0}, 1, 2))), 1e-5);
            // both positions: (0.801445 + ln 3) / 2 = (0.801445 + 1.098612) / 2 = 0.950029
            assertEquals(0.950029, Torch.item(ValueLoss.crossEntropy(logits, target, Torch.floats(new float[]{1, 1}, 1, 2))), 1e-5);
            // through loss(): two-hot on [0, 2], y = 0.25 is the target (0.75, 0.25, 0) above; never clipped
            ValueLoss.Head h = new ValueLoss.Head(ValueLoss.Kind.TWO_HOT, 3, List.of(0.0, 2.0), 0.75);
            PolicyLoss.ValueOut o = ValueLoss.loss(h, logits.narrow(1, 0, 1), null, Torch.floats(new float[]{0.25f}, 1, 1), Torch.floats(new float[]{1}, 1, 1), 0.2);
            assertEquals(0.801445, Torch.item(o.loss()), 1e-5);
            assertEquals(0, o.clipFraction());
            // mse through loss(): ½ (0.7 − 0.2)² = 0.125
            PolicyLoss.ValueOut m = ValueLoss.loss(ValueLoss.Head.mse(), Torch.floats(new float[]{0.7f}, 1, 1, 1), null, Torch.floats(new float[]{0.2f}, 1, 1),
                    Torch.floats(new float[]{1}, 1, 1), 0);
            assertEquals(0.125, Torch.item(m.loss()), 1e-6);
        }
    }

    @Test
    void headSettingsAreValidatedAndRoundTripThroughItsFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        assertThrows(dev.align4j.core.UserError.class, () -> new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 1, List.of(0.0, 1.0), 0.75));
        assertThrows(dev.align4j.core.UserError.class, () -> new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 5, List.of(1.0, 0.0), 0.75));
        assertThrows(dev.align4j.core.UserError.class, () -> new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 5, List.of(0.0), 0.75));
        assertThrows(dev.align4j.core.UserError.class, () -> new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 5, List.of(0.0, 1.0), 0));
        assertEquals(ValueLoss.Kind.HL_GAUSS, ValueLoss.Kind.parse("hl-gauss"));
        assertEquals(ValueLoss.Kind.TWO_HOT, ValueLoss.Kind.parse("two_hot"));
        ValueLoss.Head h = new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 7, List.of(-0.5, 1.5), 0.6);
        assertEquals(7, h.labels());
        assertEquals(1, ValueLoss.Head.mse().labels());
        h.writeTo(dir);
        assertEquals(h, ValueLoss.Head.readFrom(dir));
        assertEquals(ValueLoss.Head.mse(), ValueLoss.Head.readFrom(dir.resolve("nothing-here")));
    }
}
