package dev.align4j.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.StepwiseExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The chain task: prompts and answers, the outcome reward, step labels that follow the written steps, the slip, the stepwise export. */
class ChainTaskTest {
    @TempDir Path dir;

    final ChainTask t = (ChainTask) Task.byName("chain");
    final Task.Example e = new Task.Example("17+25-9+40=", "73");           // 17+25 = 42, 42-9 = 33, 33+40 = 73

    @Test
    void promptsAreThreeToFiveOperationsWhoseValuesStayInZeroTo99() {
        int[] ops = new int[6];
        for (Task.Example x : t.examples(Task.Split.TRAIN, 2000, 3)) {
            assertTrue(x.prompt().matches("\\d{1,2}([+-]\\d{1,2}){3,5}="), x.prompt());
            int[] v = ChainTask.values(x.prompt());
            ops[v.length]++;
            for (int value : v) assertTrue(value >= 0 && value <= 99, x.prompt() + " has an intermediate value " + value);
            assertEquals(String.valueOf(v[v.length - 1]), x.answer(), x.prompt());
            assertEquals(1.0, t.reward(x, t.demonstrate(x, 0, new Random(1))), x.prompt());
        }
        for (int k = 3; k <= 5; k++) assertTrue(ops[k] > 500, "chains of " + k + " operations: " + ops[k]);
        assertArrayEquals(new int[]{42, 33, 73}, ChainTask.values(e.prompt()));
        assertEquals("42;33;73", t.demonstrate(e, 0, new Random(0)));
    }

    @Test
    void theRewardIsOnTheFinalAnswerOnly() {
        assertEquals(1.0, t.reward(e, "42;33;73"));
        assertEquals(1.0, t.reward(e, " 42; 33; 73\nmore"));
        assertEquals(1.0, t.reward(e, "42;34;73"), "a wrong step with the right final answer still earns the outcome reward");
        assertEquals(0.0, t.reward(e, "42;33;74"));
        assertEquals(0.0, t.reward(e, "42;33"));
        assertEquals(0.0, t.reward(e, ""));
        assertTrue(t.correct(e, "42;33;73"));
    }

    @Test
    void aStepIsRightWhenItFollowsFromThePreviousWrittenStep() {
        assertEquals(List.of(true, true, true), ChainTask.stepLabels(e, "42;33;73"));
        // 42-9 = 33, not 35: wrong; 35+40 = 75 follows from the written 35: right (the final answer is still wrong)
        assertEquals(List.of(true, false, true), ChainTask.stepLabels(e, "42;35;75"));
        assertEquals(0.0, t.reward(e, "42;35;75"));
        // 34 is wrong, and 73 does not follow from it (34+40 = 74): the outcome is right, two steps are not
        assertEquals(List.of(true, false, false), ChainTask.stepLabels(e, "42;34;73"));
        // a step that is not a number is wrong; the next is judged from the true value (33+40 = 73)
        assertEquals(List.of(true, false, true), ChainTask.stepLabels(e, "42;x;73"));
        // steps past the last operation are wrong; fewer steps give fewer labels
        assertEquals(List.of(true, true, true, false), ChainTask.stepLabels(e, "42;33;73;73"));
        assertEquals(List.of(true), ChainTask.stepLabels(e, "42"));
        assertEquals(List.of("42", "", "73"), ChainTask.steps("42;;73"));
        // negatives are steps too: 4 is wrong (3+2 = 5), and -5 follows from it (4-9 = -5)
        assertEquals(List.of(false, true), ChainTask.stepLabels(new Task.Example("3+2-9+1=", "-3"), "4;-5"));
    }

    @Test
    void theSlipForgetsTheFirstCarryOrBorrowAndTheRestFollows() {
        // 17+25: 7+5 carries; written as 32, then 32-9 = 23, 23+40 = 63
        assertEquals("32;23;63", t.slip(e));
        assertEquals(List.of(false, true, true), ChainTask.stepLabels(e, t.slip(e)));
        // 50-9: 0 < 9 borrows; written as 51, then 51+10 = 61, 61-3 = 58
        assertEquals("51;61;58", t.slip(new Task.Example("50-9+10-3=", "48")));
        assertNull(t.slip(new Task.Example("11+11+11+11=", "44")), "no step carries or borrows");
    }

    @Test
    void aFlawedDemonstrationHasExactlyOneWrongStepAndTheRestFollowFromIt() {
        Random rng = new Random(7);
        for (Task.Example x : t.examples(Task.Split.TRAIN, 300, 1)) {
            String d = t.demonstrate(x, 1.0, rng);
            List<Boolean> labels = ChainTask.stepLabels(x, d);
            assertEquals(ChainTask.values(x.prompt()).length, labels.size(), d);
            assertEquals(1, labels.stream().filter(b -> !b).count(), x.prompt() + " → " + d + " " + labels);
            assertEquals(0.0, t.reward(x, d), "a wrong step shifts every later value: " + d);
        }
    }

    @Test
    void stepwiseExportHasMixedLabelsInTrlsFormat() {
        List<ObjectNode> rows = TaskData.export(t, "stepwise", Task.Split.TRAIN, 400, 0.3, 0.1, 0);
        assertEquals(400, rows.size());
        int withWrong = 0;
        for (ObjectNode o : rows) {
            Task.Example x = new Task.Example(o.get("prompt").asText(), null);
            assertEquals(ChainTask.values(x.prompt()).length, o.get("completions").size());
            assertEquals(o.get("completions").size(), o.get("labels").size());
            StringBuilder c = new StringBuilder();
            o.get("completions").forEach(s -> c.append(c.isEmpty() ? "" : ";").append(s.asText()));
            List<Boolean> want = ChainTask.stepLabels(x, c.toString());
            for (int i = 0; i < want.size(); i++) assertEquals(want.get(i), o.get("labels").get(i).asBoolean());
            if (want.contains(false)) withWrong++;
        }
        assertEquals(0.3, withWrong / 400.0, 0.07, "about errorRate of the rows have a wrong step");
        // TRL's stepwise supervision reads back
        Path f = dir.resolve("steps.jsonl");
        Jsonl.write(f, rows);
        StepwiseExample first = StepwiseExample.read(f, false, null).rows().get(0);
        assertEquals(rows.get(0).get("prompt").asText(), first.prompt());
        assertEquals(rows.get(0).get("labels").size(), first.labels().size());
        UserError err = assertThrows(UserError.class, () -> TaskData.export(Task.byName("arithmetic"), "stepwise", Task.Split.TRAIN, 4, 0.3, 0.1, 0));
        assertTrue(err.getMessage().contains("stepwise") && err.getMessage().contains("chain"), err.getMessage());
    }
}
