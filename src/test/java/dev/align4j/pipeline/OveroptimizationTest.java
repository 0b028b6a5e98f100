package dev.align4j.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.pipeline.Overoptimization.Objective;
import dev.align4j.pipeline.Overoptimization.Point;
import dev.align4j.pipeline.Overoptimization.Summary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

import static org.junit.jupiter.api.Assertions.*;

/** The over-optimization study: best-of-N's KL and selection, the peak / fall summary, and a nano run end to end. */
class OveroptimizationTest {
    @TempDir Path dir;

    @Test
    void settingsPrintAsWritten() {
        assertEquals("0.0003", Overoptimization.num(3e-4));
        assertEquals("1", Overoptimization.num(1.0));
    }

    @Test
    void bestOfNKlIsLogNMinusNMinusOneOverN() {
        assertEquals(0.0, Overoptimization.bonKl(1), 1e-12);                       // log 1 − 0/1
        assertEquals(0.19315, Overoptimization.bonKl(2), 1e-5);                    // log 2 − 1/2 = 0.693147 − 0.5
        assertEquals(0.63629, Overoptimization.bonKl(4), 1e-5);                    // log 4 − 3/4 = 1.386294 − 0.75
        assertEquals(Math.log(64) - 63.0 / 64, Overoptimization.bonKl(64), 1e-12);
    }

    @Test
    void bestOfNPicksTheProxysArgmaxAmongTheFirstN() {
        double[] proxy = {0.1, 0.9, 0.5, 2.0, -1.0};
        assertEquals(0, Overoptimization.bestOfN(proxy, 1));
        assertEquals(1, Overoptimization.bestOfN(proxy, 3));                      // 0.9 beats 0.1 and 0.5
        assertEquals(3, Overoptimization.bestOfN(proxy, 5));                      // 2.0
        assertEquals(0, Overoptimization.bestOfN(new double[]{1, 1}, 2), "a tie goes to the first");
    }

    @Test
    void bestOfNExpectationEqualsTheAverageOverEverySubset() {
        Random rng = new Random(3);
        int m = 7;
        double[] proxy = new double[m], gold = new double[m];
        for (int i = 0; i < m; i++) { proxy[i] = rng.nextGaussian(); gold[i] = rng.nextDouble(); }
        for (int n = 1; n <= m; n++) {
            // naive: every subset of size n, its proxy argmax's gold, averaged
            double sum = 0;
            int count = 0;
            for (int mask = 0; mask < 1 << m; mask++) {
                if (Integer.bitCount(mask) != n) continue;
                int best = -1;
                for (int i = 0; i < m; i++) if ((mask >> i & 1) == 1 && (best < 0 || proxy[i] > proxy[best])) best = i;
                sum += gold[best];
                count++;
            }
            assertEquals(sum / count, Overoptimization.bestOfNExpectation(proxy, gold, n), 1e-12, "N = " + n);
        }
        assertEquals(Arrays.stream(gold).average().orElseThrow(), Overoptimization.bestOfNExpectation(proxy, gold, 1), 1e-12, "N = 1: the mean");
        assertEquals(gold[Overoptimization.bestOfN(proxy, m)], Overoptimization.bestOfNExpectation(proxy, gold, m), 1e-12, "N = M: the argmax");
    }

    static List<Point> curve(double[] gold, double[] proxy, double se) {
        List<Point> c = new ArrayList<>();
        for (int i = 0; i < gold.length; i++) c.add(new Point("grpo", Objective.SINGLE, 10L * i, i, gold[i], se, proxy[i], 0, proxy[i]));
        return c;
    }

    @Test
    void summaryFindsThePeakTheFallAndTheProxysRise() {
        // gold rises to 0.70 at step 20 (KL 2) and falls to 0.55; the proxy rises all the way
        Summary s = Overoptimization.summarize(curve(new double[]{0.50, 0.60, 0.70, 0.65, 0.55}, new double[]{0, 0.5, 1.0, 1.5, 2.0}, 0.01));
        assertEquals(20, s.xAtPeak());
        assertEquals(2.0, s.klAtPeak());
        assertEquals(0.70, s.goldPeak(), 1e-12);
        assertEquals(0.15, s.goldDrop(), 1e-12);                                   // 0.70 − 0.55
        assertEquals(2 * Math.sqrt(2) * 0.01, s.dropThreshold(), 1e-12);           // 2·√(0.01² + 0.01²) = 0.0283
        assertEquals(2.0, s.proxyRise(), 1e-12);
        assertEquals(0.20, s.goldRise(), 1e-12);                                   // 0.70 − 0.50 > 0.028
        assertTrue(s.goldRose() && s.goldFell() && s.proxyKeptRising() && s.overoptimized());

        // monotone gold: peak at the end, no fall
        Summary up = Overoptimization.summarize(curve(new double[]{0.5, 0.6, 0.7}, new double[]{0, 1, 2}, 0.01));
        assertEquals(0.0, up.goldDrop(), 1e-12);
        assertFalse(up.goldFell() || up.overoptimized());

        // a drop of 0.02 inside the noise (threshold 0.028) does not count as a fall
        Summary noisy = Overoptimization.summarize(curve(new double[]{0.5, 0.70, 0.68}, new double[]{0, 1, 2}, 0.01));
        assertFalse(noisy.goldFell());
        assertTrue(noisy.proxyKeptRising());

        // gold falls but the proxy falls too: not over-optimization
        Summary both = Overoptimization.summarize(curve(new double[]{0.5, 0.7, 0.5}, new double[]{0, 1, 0.5}, 0.0));
        assertTrue(both.goldFell());
        assertFalse(both.proxyKeptRising() || both.overoptimized());

        // a peak inside the noise of the start: no rise
        assertFalse(Overoptimization.summarize(curve(new double[]{0.50, 0.51, 0.30}, new double[]{0, 1, 2}, 0.01)).goldRose());

        // an ensemble that peaks later and falls less
        Summary ens = Overoptimization.summarize(curve(new double[]{0.50, 0.60, 0.70, 0.72, 0.70}, new double[]{0, 0.4, 0.8, 1.2, 1.6}, 0.01));
        var c = Overoptimization.compare(s, ens);
        assertEquals(1.0, c.klAtPeakDelta(), 1e-12);                               // KL 3 vs 2
        assertEquals(0.02 - 0.15, c.goldDropDelta(), 1e-12);
        assertEquals(0.70 - 0.55, c.goldEndDelta(), 1e-12);
        assertEquals(2 * Math.sqrt(2) * 0.01, c.noise(), 1e-12);                   // the two end points' SEs
        assertTrue(c.delaysPeak() && c.reducesFall() && c.higherFinalGold());
        // the same curves with end points ten times noisier: a 0.13 smaller drop is inside 0.28, nothing counts
        var noisy2 = Overoptimization.compare(Overoptimization.summarize(curve(new double[]{0.50, 0.60, 0.70, 0.65, 0.55}, new double[]{0, 0.5, 1.0, 1.5, 2.0}, 0.1)),
                Overoptimization.summarize(curve(new double[]{0.50, 0.60, 0.70, 0.72, 0.70}, new double[]{0, 0.4, 0.8, 1.2, 1.6}, 0.1)));
        assertFalse(noisy2.reducesFall() || noisy2.higherFinalGold());
        assertTrue(noisy2.delaysPeak());
        // a peak at the same step is not delayed, whatever its KL
        Summary same = Overoptimization.summarize(curve(new double[]{0.50, 0.60, 0.75, 0.60, 0.50}, new double[]{0, 1, 2, 3, 4}, 0.01));
        assertFalse(Overoptimization.compare(s, same).delaysPeak());
    }

    @Test
    void nanoStudyWritesEveryPointAndThePlots() throws Exception {
        Overoptimization q = Configs.with(Overoptimization.DEFAULTS, "init", "nano", "sftSteps", 40, "rmPairs", 16, "rmSteps", 4, "ensembleSize", 2,
                "prompts", 6, "bonMax", 4, "grpoSteps", 2, "evalEvery", 1, "evalSamples", 2);
        Overoptimization.Result r = q.run(null, dir);
        for (String f : new String[]{"study.json", "study.html", "bon_gold.png", "bon_proxy.png", "grpo_gold.png", "grpo_proxy.png", "sft/model.safetensors"})
            assertTrue(Files.exists(dir.resolve(f)), f + " written");
        JsonNode json = Json.read(dir.resolve("study.json"));
        JsonNode points = json.get("points");
        assertEquals(4 * 3 + 4 * 3, points.size(), "4 objectives × N ∈ {1, 2, 4} and × steps {0, 1, 2}");
        Map<Integer, Double> bonGoldAt1 = new HashMap<>();
        for (JsonNode p : points) {
            for (String k : new String[]{"kl", "gold", "gold_se", "proxy", "proxy_se", "proxy_single"})
                assertTrue(Double.isFinite(p.get(k).asDouble()), p + ": " + k + " finite");
            assertTrue(p.get("gold").asDouble() >= 0 && p.get("gold").asDouble() <= 1, "gold reward in [0, 1]");
            if (p.get("method").asText().equals("bon")) {
                int n = p.get("n").asInt();
                assertEquals(Overoptimization.bonKl(n), p.get("kl").asDouble(), 1e-12);
                if (n == 1) bonGoldAt1.put(bonGoldAt1.size(), p.get("gold").asDouble());
            } else if (p.get("step").asInt() == 0) {
                assertEquals(0.0, p.get("kl").asDouble(), 1e-5, "π = π_ref before GRPO: no KL");
            }
        }
        assertEquals(1, new HashSet<>(bonGoldAt1.values()).size(), "best-of-1 is π_ref's mean whatever the objective");
        // GRPO moved every policy away from π_ref
        for (Objective o : Objective.values()) {
            List<Point> c = Overoptimization.curve(r.points(), "grpo", o);
            assertEquals(3, c.size());
            assertTrue(c.get(2).kl() > 0, o + ": KL after 2 GRPO steps " + c.get(2).kl());
        }
        assertEquals(8, json.get("summaries").size());
        assertEquals(6, json.get("comparisons").size(), "3 ensemble objectives × 2 methods against the single proxy");
        String html = Files.readString(dir.resolve("study.html"));
        assertTrue(html.contains("over-optimized") && html.contains("bon_gold.png") && html.contains("ensemble min"));
    }
}
