package dev.align4j.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Verdict accuracy, majority-class rate and ECE on a hand-made calibration table. */
class CalibrationTest {
    @Test
    void eceOnAHandMadeTable() {
        // six verdicts, P(yes) and gold:
        //   0.95 yes, 0.90 no   → confidence 0.95, 0.90 (bin [0.9, 1.0)): predicted yes, yes; right 1 of 2; mean conf 0.925
        //   0.20 no,  0.30 no, 0.35 yes → confidence 0.80, 0.70, 0.65: bins [0.8,0.9) {0.80 right}, [0.7,0.8) {0.70 right},
        //                                 [0.6,0.7) {0.65, predicted no, gold yes: wrong}
        //   0.55 yes → confidence 0.55, bin [0.5,0.6): right
        // ECE = 2/6·|0.5 − 0.925| + 1/6·|1 − 0.80| + 1/6·|1 − 0.70| + 1/6·|0 − 0.65| + 1/6·|1 − 0.55|
        //     = (0.85 + 0.20 + 0.30 + 0.65 + 0.45) / 6 = 2.45 / 6 = 0.408333…
        double[] p = {0.95, 0.90, 0.20, 0.30, 0.35, 0.55};
        boolean[] y = {true, false, false, false, true, true};
        assertEquals(2.45 / 6, Calibration.ece(p, y, 10), 1e-12);
        Calibration.Report r = Calibration.of(p, y, 10);
        assertEquals(4 / 6.0, r.accuracy(), 1e-12);                  // right: 0.95, 0.20, 0.30, 0.55
        assertEquals(0.5, r.majorityRate(), 1e-12);                  // three yes, three no
        assertEquals(3.25 / 6, r.meanProb(), 1e-12);
        assertEquals(6, r.n());
    }

    @Test
    void aPerfectlyCalibratedJudgeHasZeroEceAndAConfidentWrongOneTheWholeGap() {
        // four verdicts at 0.75: three right, one wrong → bin [0.7, 0.8): acc 0.75 = conf 0.75
        assertEquals(0, Calibration.ece(new double[]{0.75, 0.75, 0.75, 0.75}, new boolean[]{true, true, true, false}, 10), 1e-12);
        // always 1.0 and always wrong: |0 − 1| = 1 (confidence 1 falls in the last bin)
        assertEquals(1, Calibration.ece(new double[]{1.0, 0.0}, new boolean[]{false, true}, 10), 1e-12);
        // majority class: 3 of 4 gold "no" → 0.75, whatever the judge says
        assertEquals(0.75, Calibration.of(new double[]{0.9, 0.9, 0.9, 0.9}, new boolean[]{true, false, false, false}, 10).majorityRate(), 1e-12);
    }
}
