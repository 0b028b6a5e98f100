package dev.align4j.core;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The sharding arithmetic of {@link Distributed} (the collectives themselves are exercised by cli.LaunchTest across processes). */
class DistributedTest {
    @Test
    void eachRankTakesItsContiguousShareAndTheSharesRebuildTheBatch() {
        int[] batch = {7, 3, 9, 1, 4, 8};                                   // a global batch of 6 row indices
        assertArrayEquals(new int[]{7, 3, 9}, Distributed.forTest(0, 2).shard(batch, "--batch-size"));
        assertArrayEquals(new int[]{1, 4, 8}, Distributed.forTest(1, 2).shard(batch, "--batch-size"));
        assertArrayEquals(new int[]{4, 8}, Distributed.forTest(2, 3).shard(batch, "--batch-size"));
        assertSame(batch, Distributed.SINGLE.shard(batch, "--batch-size"));
        assertArrayEquals(new int[]{12, 4}, Distributed.forTest(3, 4).range(16, "--prompts-per-step"));   // prompts 12..15
    }

    @Test
    void aBatchThatDoesNotSplitEvenlyIsAUserErrorNamingTheFlag() {
        UserError e = assertThrows(UserError.class, () -> Distributed.forTest(1, 2).shard(new int[5], "--batch-size"));
        assertEquals("--batch-size 5 is the global batch and must split evenly over the 2 ranks", e.getMessage());
        e = assertThrows(UserError.class, () -> Distributed.forTest(0, 3).range(16, "--prompts-per-step"));
        assertEquals("--prompts-per-step 16 must split evenly over the 3 ranks", e.getMessage());
    }

    @Test
    void withoutWorldSizeTheProcessStaysSingle() {
        assertSame(Distributed.SINGLE, Distributed.init(Map.of()));
        assertSame(Distributed.SINGLE, Distributed.init(Map.of("WORLD_SIZE", "1", "RANK", "0")));
        UserError e = assertThrows(UserError.class, () -> Distributed.init(Map.of("WORLD_SIZE", "two")));
        assertEquals("WORLD_SIZE must be an integer: 'two'", e.getMessage());
        e = assertThrows(UserError.class, () -> Distributed.init(Map.of("WORLD_SIZE", "2", "RANK", "2")));
        assertEquals("RANK must be in [0, WORLD_SIZE=2): 2", e.getMessage());
    }
}
