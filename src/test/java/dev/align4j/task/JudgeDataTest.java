package dev.align4j.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.UserError;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Judge rows: prompts, verdicts from the gold reward, critiques, pairs, parsing a written verdict, the export. */
class JudgeDataTest {
    final Task arith = Task.byName("arithmetic");
    final Task.Example e = new Task.Example("57+65=", "122");

    @Test
    void pointwiseAndPairwiseRowsCarryTheGoldVerdictAndCritique() {
        JudgeData.Row right = JudgeData.pointwise(arith, e, "122"), wrong = JudgeData.pointwise(arith, e, "22\n");
        assertEquals("57+65=122 right? ", right.judgePrompt());
        assertEquals("Yes", right.completion(false));
        assertEquals("correct => Yes", right.completion(true));
        assertEquals("57+65=22 right? ", wrong.judgePrompt());
        assertEquals("2 digits, should be 3: 122 => No", wrong.completion(true));
        JudgeData.Row pair = JudgeData.pairwise(arith, e, "122", "132", false);
        assertEquals("57+65= A:132 B:122 better? ", pair.judgePrompt());
        assertEquals("A digit 2 is 3, should be 2; B correct => B", pair.completion(true));
        ObjectNode o = pair.toJson(false);
        assertEquals("B", o.get("completion").asText());
        assertFalse(o.get("label").asBoolean());
        assertEquals("132", o.get("response_a").asText());
    }

    @Test
    void rowsPairEveryPromptThatHasBothARightAndAWrongResponse() {
        Task.Example f = new Task.Example("1+1=", "2");
        List<List<String>> responses = List.of(List.of("122", "122", "121", "12"), List.of("3", "4"));
        List<JudgeData.Row> point = JudgeData.rows(arith, List.of(e, f), responses, JudgeData.Mode.POINTWISE, 2, 0);
        assertEquals(5, point.size(), "duplicates of a prompt kept once: 122, 121, 12, 3, 4");
        assertEquals(1, point.stream().filter(JudgeData.Row::verdict).count());
        List<JudgeData.Row> pairs = JudgeData.rows(arith, List.of(e, f), responses, JudgeData.Mode.PAIRWISE, 2, 0);
        assertEquals(2, pairs.size(), "the second prompt has no right response");
        for (JudgeData.Row r : pairs) assertEquals(r.verdict(), arith.correct(e, r.a()));
        var cmp = JudgeData.comparisons(arith, List.of(e, f), responses, 2, 0);
        assertEquals(2, cmp.size());
        for (var c : cmp) { assertEquals("122", c.chosen()); assertNotEquals("122", c.rejected()); }
    }

    @Test
    void aWrittenVerdictIsReadAfterTheCritique() {
        assertEquals(Boolean.TRUE, JudgeData.parseVerdict("Yes", JudgeData.Mode.POINTWISE));
        assertEquals(Boolean.FALSE, JudgeData.parseVerdict("digit 2 is 3, should be 2 => No", JudgeData.Mode.POINTWISE));
        assertNull(JudgeData.parseVerdict("digit 2 is 3", JudgeData.Mode.POINTWISE));
        assertEquals(Boolean.FALSE, JudgeData.parseVerdict("A digit 1 is 2, should be 1; B correct => B", JudgeData.Mode.PAIRWISE));
        assertEquals(Boolean.TRUE, JudgeData.parseVerdict("A", JudgeData.Mode.PAIRWISE));
    }

    @Test
    void exportWritesBothVerdictsFromDemonstrations() {
        List<ObjectNode> rows = JudgeData.export(arith, JudgeData.Mode.POINTWISE, true, Task.Split.TRAIN, 200, 0.5, 3);
        assertEquals(200, rows.size());
        long yes = rows.stream().filter(r -> r.get("label").asBoolean()).count();
        assertTrue(yes > 40 && yes < 160, "both verdicts occur: " + yes);
        for (ObjectNode r : rows) {
            Task.Example ex = new Task.Example(r.get("task_prompt").asText(), null);
            assertTrue(r.get("prompt").asText().endsWith(" right? "));
            assertTrue(r.get("completion").asText().endsWith(r.get("label").asBoolean() ? " => Yes" : " => No"), r.toString());
            assertEquals(r.get("label").asBoolean(), r.get("critique").asText().equals("correct"), r.toString());
            assertNotNull(ex.prompt());
        }
        List<ObjectNode> pairs = JudgeData.export(arith, JudgeData.Mode.PAIRWISE, false, Task.Split.TEST, 50, 0.5, 3);
        assertFalse(pairs.isEmpty());
        assertTrue(pairs.get(0).get("completion").asText().matches("[AB]"));
        assertThrows(UserError.class, () -> JudgeData.export(arith, JudgeData.Mode.POINTWISE, false, Task.Split.TRAIN, 10, 0, 3));
    }

    @Test
    void aHardNegativeChangesOneDigitAndKeepsTheForm() {
        java.util.Random rng = new java.util.Random(1);
        for (int i = 0; i < 50; i++) {
            String bad = JudgeData.corrupt("1 2 4 7", rng);
            assertEquals(7, bad.length());
            int changed = 0;
            for (int j = 0; j < 7; j++) if (bad.charAt(j) != "1 2 4 7".charAt(j)) changed++;
            assertEquals(1, changed, bad);
            for (int j = 0; j < 7; j += 2) assertTrue(Character.isDigit(bad.charAt(j)), "a digit became a digit: " + bad);
            assertEquals(' ', bad.charAt(1), "spaces stay where they were: " + bad);
        }
        assertEquals("ba", JudgeData.corrupt("ab", rng), "no digit: two adjacent characters swapped");
        assertTrue(Task.byName("sort").reward(new Task.Example("sort 4 1 7 2:", "1 2 4 7"), JudgeData.corrupt("1 2 4 7", rng)) < 1.0, "a changed digit is a wrong sort");
    }

    @Test
    void metaJudgeRowsAgreeWithTheGoldJudgmentAndNotWithTheFlippedOne() {
        Task.Example e = new Task.Example("37+85=", "122");
        JudgeData.Row wrong = JudgeData.pointwise(arith, e, "132"), right = JudgeData.pointwise(arith, e, "122");
        assertEquals("37+85=132 right? No agree? ", JudgeData.metaPrompt(wrong.judgePrompt(), "No"));
        // verdict only: the gold judgment of "132" is No, the flipped one Yes
        assertEquals(List.of(new dev.align4j.data.SftExample("37+85=132 right? No agree? ", "Yes"), new dev.align4j.data.SftExample("37+85=132 right? Yes agree? ", "No")),
                wrong.metaSft(false, arith, new java.util.Random(0)));
        // with critiques: a wrong response's flipped judgment calls it correct; a right one's names the error of a one-digit corruption
        assertEquals("correct => Yes", wrong.wrongCompletion(true, arith, new java.util.Random(0)));
        assertEquals("digit 2 is 3, should be 2 => No", wrong.completion(true));
        String flipped = right.wrongCompletion(true, arith, new java.util.Random(0));
        assertTrue(flipped.matches("digit \\d is \\d, should be \\d => No"), flipped);
        assertEquals("37+85=122 right? correct => Yes agree? ", right.metaSft(true, arith, new java.util.Random(0)).get(0).prompt());
    }
}
