package dev.align4j.generate;

import dev.align4j.model.LlamaModel;
import dev.align4j.model.TestModels;
import dev.align4j.model.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Sampler.Shard}: two "ranks" (threads here, processes under launch) that each sample their half of a batch end
 * with exactly the completions one sampler gives the whole batch, although rows finish at different steps on each.
 */
class ShardedSamplingTest {
    @TempDir Path dir;

    /** Two in-process ranks exchanging their active-row counts through a barrier, as the all-gather does across processes. */
    static final class TwoRanks {
        final int[] counts = new int[2];
        final CyclicBarrier arrive = new CyclicBarrier(2), leave = new CyclicBarrier(2);

        Sampler.Shard rank(int r) {
            return new Sampler.Shard() {
                public int[] activeCounts(int local) {
                    try {
                        counts[r] = local;
                        arrive.await();
                        int[] c = counts.clone();
                        leave.await();                                  // nobody overwrites a count before both have read it
                        return c;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }

                public int rank() { return r; }
            };
        }
    }

    @Test
    void twoShardsSampleExactlyWhatOneSamplerSamplesForTheWholeBatch() throws Exception {
        Tokenizer t = Tokenizer.writeBuiltin(dir);
        try (LlamaModel m = SamplerTest.model(TestModels.llama(Tokenizer.BUILTIN_VOCAB))) {
            List<int[]> prompts = new ArrayList<>();
            for (String p : List.of("12+7=", "3*4=", "9-2=", "100+1=", "8/2=", "6+6=")) prompts.add(t.encode(p, true));
            // stop at any digit, so that rows finish at different steps (and one rank's rows may all finish first)
            SamplingConfig cfg = new SamplingConfig(16, 1.5, 0, 1.0, 42, List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
            List<Completion> whole = Sampler.generate(m, t, prompts, cfg);

            TwoRanks ranks = new TwoRanks();
            List<List<Completion>> halves = new ArrayList<>(List.of(List.of(), List.of()));
            Thread[] threads = new Thread[2];
            Throwable[] failed = new Throwable[1];
            for (int r = 0; r < 2; r++) {
                int rank = r;
                threads[r] = new Thread(() -> {
                    try {
                        halves.set(rank, Sampler.generate(m, t, prompts.subList(3 * rank, 3 * rank + 3), cfg, ranks.rank(rank)));
                    } catch (Throwable e) {
                        failed[0] = e;
                    }
                });
                threads[r].start();
            }
            for (Thread th : threads) th.join(60_000);
            assertNull(failed[0], () -> String.valueOf(failed[0]));
            List<Completion> sharded = new ArrayList<>(halves.get(0));
            sharded.addAll(halves.get(1));
            int[] lengths = whole.stream().mapToInt(x -> x.tokens().length).toArray();
            assertTrue(Arrays.stream(lengths).distinct().count() > 1, "rows should finish at different steps: " + Arrays.toString(lengths));
            for (int i = 0; i < whole.size(); i++) {
                assertArrayEquals(whole.get(i).tokens(), sharded.get(i).tokens(), "row " + i);
                assertArrayEquals(whole.get(i).logprobs(), sharded.get(i).logprobs(), 1e-5f, "row " + i);   // batch 6 vs 3: matmul rounding
            }
        }
    }
}
