package dev.align4j.reward;

import dev.align4j.task.Task;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The reward-function library by hand. */
class RewardsTest {
    static RewardFunction.Sample s(String completion, String answer, int tokens, boolean truncated) {
        return new RewardFunction.Sample(new Task.Example("q", answer), completion, tokens, truncated);
    }

    static double one(RewardFunction f, RewardFunction.Sample x) { return f.score(List.of(x))[0]; }

    @Test
    void answerMatchExtractsTheLastNumberAndComparesWithTolerance() {
        RewardFunction exact = Rewards.answerMatch(Rewards.LAST_NUMBER, 0);
        assertEquals(1.0, one(exact, s("so 12 + 1012 = 1,024", "1024", 5, false)), "thousands separators are ignored");
        assertEquals(1.0, one(exact, s("4.0", "4", 2, false)), "numerically equal");
        assertEquals(0.0, one(exact, s("41", "4", 2, false)));
        assertEquals(0.0, one(exact, s("no number here", "4", 3, false)), "nothing to extract");
        assertEquals(1.0, one(exact, s("-7\nand then 12", "-7", 3, false)), "only the first line counts");
        // tolerance is relative to max(1, |reference|): |3.9 − 4| = 0.1 ≤ 0.05·4 = 0.2, but not ≤ 0.01·4 = 0.04
        assertEquals(1.0, one(Rewards.answerMatch(Rewards.LAST_NUMBER, 0.05), s("3.9", "4", 2, false)));
        assertEquals(0.0, one(Rewards.answerMatch(Rewards.LAST_NUMBER, 0.01), s("3.9", "4", 2, false)));
        // a custom extractor with a group; non-numeric answers compare as strings
        RewardFunction boxed = Rewards.answerMatch(Pattern.compile("\\\\boxed\\{([^}]*)\\}"), 0);
        assertEquals(1.0, one(boxed, s("x \\boxed{yes} y", "yes", 4, false)));
        assertEquals(0.0, one(boxed, s("x \\boxed{no}", "yes", 4, false)));
    }

    @Test
    void partialCreditCountsRightAlignedAgreement() {
        assertEquals(1.0, Rewards.partialCredit("122", "122"));
        assertEquals(2.0 / 3, Rewards.partialCredit("128", "123"), 1e-12);  // '1','2' agree, '8' ≠ '3'
        assertEquals(2.0 / 3, Rewards.partialCredit("23", "123"), 1e-12);   // right-aligned: '2','3' agree of max length 3
        assertEquals(0.0, Rewards.partialCredit("", "5"));
    }

    @Test
    void overlongPunishmentIsDaposPiecewiseRamp() {
        // L_max = 16, L_cache = 4: free up to 12 tokens, then (12 − |y|)/4, −1 beyond 16 or when cut off
        assertEquals(0.0, Rewards.overlongPenalty(10, false, 16, 4));
        assertEquals(0.0, Rewards.overlongPenalty(12, false, 16, 4));
        assertEquals(-0.5, Rewards.overlongPenalty(14, false, 16, 4));
        assertEquals(-1.0, Rewards.overlongPenalty(16, false, 16, 4));
        assertEquals(-1.0, Rewards.overlongPenalty(16, true, 16, 4));
    }

    @Test
    void formatAndLengthAndTheWeightedSumReportEachComponent() {
        RewardFunction fmt = Rewards.format("-?\\d+");
        assertEquals(1.0, one(fmt, s("-12\nmore", "x", 5, false)));
        assertEquals(0.0, one(fmt, s("12 apples", "x", 5, false)));
        Rewards.Weighted w = new Rewards.Weighted(List.of(fmt, Rewards.lengthPenalty(0.1)), new double[]{2.0, 1.0});
        // sample a: format 1, length −0.1·3 → total 2·1 − 0.3 = 1.7; sample b: 0 − 0.1·5 = −0.5
        Rewards.Scored r = w.score(List.of(s("42", "x", 3, false), s("forty", "x", 5, false)));
        assertArrayEquals(new double[]{1.7, -0.5}, r.total(), 1e-12);
        assertEquals(0.5, r.componentMeans().get("format"), 1e-12);
        assertEquals(-0.4, r.componentMeans().get("length"), 1e-12);
        assertThrows(dev.align4j.core.UserError.class, () -> new Rewards.Weighted(List.of(fmt, fmt), new double[]{1, 1}), "duplicate names");
        assertThrows(dev.align4j.core.UserError.class, () -> Rewards.format("(unclosed"));
    }
}
