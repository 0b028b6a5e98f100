package dev.align4j.core;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class ConfigsTest {
    enum Mode { FAST, SLOW_AND_STEADY }

    record Inner(int steps, double lr) {
        Inner { UserError.check(steps >= 1, "steps must be >= 1: %s", steps); }
    }

    record Outer(Inner run, List<Mode> modes, boolean flag, long seed) {}

    static final Map<String, Object> COMMON = Map.of("seed", 0L, "flag", false);
    static final Outer DEFAULTS = Configs.of(Outer.class, COMMON, "steps", 10, "lr", 1e-3, "modes", List.of(Mode.FAST));

    @Test
    void buildsByNameFlatteningNestedRecords() {
        assertEquals(new Outer(new Inner(10, 1e-3), List.of(Mode.FAST), false, 0L), DEFAULTS);
        assertEquals(Set.of("steps", "lr", "modes", "flag", "seed"), Configs.names(Outer.class));
    }

    @Test
    void withChangesOnlyTheNamedSettingsAndConvertsValues() {
        // an int for a double, an int for a long, enum constants from their names (case and dashes as flags spell them)
        Outer o = Configs.with(DEFAULTS, "lr", 1, "seed", 7, "modes", List.of("slow-and-steady", "FAST"));
        assertEquals(new Outer(new Inner(10, 1.0), List.of(Mode.SLOW_AND_STEADY, Mode.FAST), false, 7L), o);
        assertEquals(DEFAULTS, Configs.with(DEFAULTS));
    }

    @Test
    void unknownMissingAndMistypedNamesAreErrors() {
        var e = assertThrows(IllegalArgumentException.class, () -> Configs.with(DEFAULTS, "stpes", 3));
        assertTrue(e.getMessage().contains("no setting 'stpes'") && e.getMessage().contains("steps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Configs.of(Outer.class, COMMON, "steps", 1, "modes", List.of()));
        assertTrue(e.getMessage().contains("no value for 'lr'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Configs.with(DEFAULTS, "flag", "yes"));
        assertTrue(e.getMessage().contains("flag: expected boolean"), e.getMessage());
        // the record's own validation still runs, with its own message
        var u = assertThrows(UserError.class, () -> Configs.with(DEFAULTS, "steps", 0));
        assertEquals("steps must be >= 1: 0", u.getMessage());
    }

    @Test
    void fromTakesALookupsNonNullValues() {
        Outer o = Configs.from(DEFAULTS, name -> name.equals("steps") ? 42 : null);
        assertEquals(42, o.run().steps());
        assertEquals(DEFAULTS.run().lr(), o.run().lr());
    }
}
