package dev.align4j.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Axis ticks: round values, integer steps, labels that never repeat. */
class PlotTest {
    @Test
    void stepAxesTickAtIntegersAndLabelsAreDistinct() {
        // steps 1..7: raw spacing 1.2 rounds up to 2 ⇒ 2, 4, 6 (no 1.2, 2.4, … fractional steps)
        assertArrayEquals(new double[]{2, 4, 6}, Plot.ticks(1, 7, true), 1e-12);
        // steps 0..3 with integer ticks: spacing 0.6 rounds to 1 ⇒ 0, 1, 2, 3 (a fractional axis would repeat "1" after rounding)
        assertArrayEquals(new double[]{0, 1, 2, 3}, Plot.ticks(0, 3, true), 1e-12);
        // a narrow loss range 0.812..0.815: spacing 0.0006 → 0.001 ⇒ four ticks that need three decimals to differ
        double[] y = Plot.ticks(0.812, 0.815, false);
        assertEquals(4, y.length);
        assertEquals(3, Plot.decimals(y));
        // ticks 0, 0.5, 1, 1.5: "0, 1, 1, 2" would be wrong even where distinct (0, 0.5 → "0", "1"); one decimal prints them exactly
        assertEquals(1, Plot.decimals(new double[]{0, 0.5}));
        assertEquals(1, Plot.decimals(new double[]{0, 0.5, 1, 1.5}));
        assertEquals(0, Plot.decimals(new double[]{0, 10, 20}));
        assertEquals(2, Plot.decimals(new double[]{0.25, 0.5, 0.75}));
    }
}
