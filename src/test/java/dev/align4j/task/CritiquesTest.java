package dev.align4j.task;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Gold critiques point at the first error and say what it should be. */
class CritiquesTest {
    final Task arith = Task.byName("arithmetic"), chain = Task.byName("chain"), sort = Task.byName("sort");

    @Test
    void arithmeticNamesTheFirstWrongDigitTheSignOrTheLength() {
        Task.Example e = new Task.Example("57+65=", "122");
        assertEquals("correct", Critiques.of(arith, e, "122"));
        assertEquals("digit 2 is 3, should be 2", Critiques.of(arith, e, "132"));
        assertEquals("digit 1 is 2, should be 1", Critiques.of(arith, e, "222"));
        assertEquals("2 digits, should be 3: 122", Critiques.of(arith, e, "22"));       // the forgotten final carry
        Task.Example neg = new Task.Example("17-52=", "-35");
        assertEquals("minus sign missing, should be -35", Critiques.of(arith, neg, "35"));
        assertEquals("digit 2 is 6, should be 5", Critiques.of(arith, neg, "-36"));
        assertEquals("extra minus sign, should be 35", Critiques.number("-35", "35"));
        assertEquals("empty, should be 7", Critiques.number("", "7"));
        assertEquals("not a number, should be 7", Critiques.number("x7", "7"));
    }

    @Test
    void chainNamesTheFirstWrongStepAndItsTrueValue() {
        Task.Example e = new Task.Example("17+25-9+40=", "73");                  // 42, 33, 73
        assertEquals("correct", Critiques.of(chain, e, "42;33;73"));
        assertEquals("correct", Critiques.of(chain, e, "42;;73"));                 // the gold reward is on the outcome
        assertEquals("step 1 is 32, should be 42", Critiques.of(chain, e, "32;23;63"));
        assertEquals("step 2 is 43, should be 33", Critiques.of(chain, e, "42;43;83"));
        assertEquals("step 3 missing, should be 73", Critiques.of(chain, e, "42;33"));
        assertEquals("extra step 4, should end at 73", Critiques.of(chain, e, "42;33;73;5"));
        assertEquals("step 2 is empty, should be 33", Critiques.of(chain, e, "42;;83"));
    }

    @Test
    void sortCritiquesNameTheMissingAndExtraDigitsOrTheFirstDisorder() {
        Task.Example e = new Task.Example("sort 3 1 3 2:", "1 2 3 3");
        assertEquals("correct", Critiques.of(sort, e, "1 2 3 3"));
        assertEquals("missing 3", Critiques.of(sort, e, "1 2 3"));                 // the dedup slip
        assertEquals("missing 2 3, extra 7", Critiques.of(sort, e, "1 3 7"));     // {1,2,3,3} - {1,3,7} = {2,3}; {7} too many
        assertEquals("extra 1", Critiques.of(sort, e, "1 1 2 3 3"));
        assertEquals("3 before 2", Critiques.of(sort, e, "1 3 2 3"));             // same digits, first descent at 3 > 2
        assertEquals("not a list of digits", Critiques.of(sort, e, "1 23 3"));
        assertEquals("empty", Critiques.of(sort, e, ""));
    }

    @Test
    void otherTasksGetTheGenericCritique() {
        Task phrase = Task.byName("phrase");
        Task.Example e = phrase.examples(Task.Split.TEST, 1, 0).get(0);
        String c = Critiques.of(phrase, e, "zzz");
        assertTrue(c.startsWith("wrong (reward "), c);
        assertTrue(c.endsWith(", e.g. " + e.answer()), c);
    }
}
