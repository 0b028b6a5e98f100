package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.PairwiseInput;
import dev.align4j.data.PreferencePair;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
import dev.align4j.task.Task;
import dev.align4j.train.offline.PreferenceModel;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The pairwise preference model: antisymmetric by construction, learns a cycle no Bradley–Terry model can, saves and loads as a judge. */
class PreferenceModelTest {
    @TempDir Path dir;

    /** Rock ≻ scissors ≻ paper ≻ rock as (chosen, rejected), on 16 prompts: a BT score orders the three, so at most 2 of 3 pairs right. */
    static List<PreferencePair> cycle() {
        String[][] wins = {{"rock", "scissors"}, {"scissors", "paper"}, {"paper", "rock"}};
        List<PreferencePair> d = new ArrayList<>();
        for (int k = 0; k < 16; k++) for (String[] w : wins) d.add(new PreferencePair("play " + (char) ('a' + k) + ":", w[0], w[1]));
        return d;
    }

    static double[] prob(Judge j, List<PreferencePair> d, boolean flipped) {
        List<Task.Example> ex = new ArrayList<>();
        List<String> a = new ArrayList<>(), b = new ArrayList<>();
        for (PreferencePair p : d) {
            ex.add(new Task.Example(p.prompt(), ""));
            a.add(flipped ? p.rejected() : p.chosen());
            b.add(flipped ? p.chosen() : p.rejected());
        }
        return j.prob(ex, a, b);
    }

    @Test
    void probabilitiesOfBothOrdersSumToOneWhateverTheWeights() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        List<PreferencePair> d = new ArrayList<>(cycle());
        d.add(new PreferencePair("a longer prompt here:", "x", "a much longer answer"));   // rows of different lengths in one batch
        try (LlamaModel base = TrainerTest.nano(3); LlamaModel pm = base.withScoreHead(1, 3); Judge j = Judges.preferenceModel(pm, tok, 64)) {
            double[] ab = prob(j, d, false), ba = prob(j, d, true);
            boolean informative = false;
            for (int i = 0; i < ab.length; i++) {
                assertEquals(1.0, ab[i] + ba[i], 1e-6, "row " + i);
                informative |= Math.abs(ab[i] - 0.5) > 1e-4;
            }
            assertTrue(informative, "a random model is not ½ everywhere (the test would be empty)");
        }
    }

    @Test
    void learnsACycleAndEveryParameterMovesAndItSavesAsAJudge() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        try (LlamaModel base = TrainerTest.nano(5); LlamaModel pm = base.withScoreHead(1, 5)) {
            Map<String, float[]> before = TrainerTest.snapshot(pm);
            Metrics metrics = Metrics.inMemory().quiet(true);
            PreferenceModel.Config cfg = Configs.with(PreferenceModel.Config.DEFAULTS, "steps", 30, "batchSize", 16, "lr", 5e-3, "weightDecay", 0, "warmupSteps", 2,
                    "maxGradNorm", 1.0, "maxLength", 48, "evalEvery", 0, "saveEvery", 0, "keep", 1, "seed", 0L, "onNonFinite", NonFinite.STOP);
            PreferenceModel.train(pm, cycle(), cfg, new Session(tok, dir.resolve("pm"), metrics, null, null));
            double[][] loss = metrics.series("preference-model", "loss");
            assertTrue(Double.isFinite(loss[loss.length - 1][1]));
            assertTrue(loss[loss.length - 1][1] < 0.5 * loss[0][1], "loss fell: " + loss[0][1] + " -> " + loss[loss.length - 1][1]);
            TrainerTest.assertAllChanged(before, pm);
            try (Judge j = Judges.preferenceModel(pm, tok, 48)) {
                Judges.Accuracy a = Judges.accuracy(j, examples(cycle()), chosen(cycle()), rejected(cycle()), ones(48));
                assertEquals(1.0, a.label(), 1e-12, "all three sides of the cycle (a Bradley-Terry model gets at most 2/3)");
                // saved in HF layout and marked: read back through the --judge parser, it gives the same probabilities
                HfModel.save(dir.resolve("final"), pm, tok);
                PairwiseInput.mark(dir.resolve("final"), 48);
                try (Judge loaded = Judges.parse("pm:" + dir.resolve("final"), null, 0.1)) {
                    assertArrayEquals(prob(j, cycle(), false), prob(loaded, cycle(), false), 1e-5);
                }
            }
            try (HfModel.Loaded l = HfModel.load(dir.resolve("final"), ScalarType.Float)) {
                assertEquals("LlamaForSequenceClassification", l.model().config.architecture());
            }
            try (Judge ckpt = Judges.parse("pm:" + dir.resolve("pm/checkpoint-30"), null, 0.1)) {      // a checkpoint reads as a judge too
                assertArrayEquals(prob(j2(pm, tok), cycle(), false), prob(ckpt, cycle(), false), 1e-5);
            }
            UserError e = assertThrows(UserError.class, () -> Judges.parse("pm:" + dir.resolve("pm/checkpoint-30").resolve("missing"), null, 0.1));
            assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
            HfModel.save(dir.resolve("bt"), pm, tok);                                   // a score-head model without the marker
            e = assertThrows(UserError.class, () -> Judges.parse("pm:" + dir.resolve("bt"), null, 0.1));
            assertTrue(e.getMessage().contains("not a pairwise preference model"), e.getMessage());
            assertThrows(UserError.class, () -> Judges.parse("gold", null, 0.1), "gold needs a task");
            assertThrows(UserError.class, () -> Judges.parse("oracle", null, 0.1));
        }
    }

    @Test
    void theGoldJudgeIsTheTasksPreference() {
        try (Judge g = Judges.gold(Task.byName("cycle"), 0.1); Judge bt = Judges.gold(Task.byName("arithmetic"), 0.5)) {
            Task.Example e = new Task.Example("37+45=", "82");
            assertArrayEquals(new double[]{0.880797, 0.119203, 0.5}, g.prob(List.of(e, e, e), List.of("82", "(82)", "#82"), List.of("(82)", "82", "#82")), 1e-6);
            // arithmetic: σ((1 − 0)/0.5) = σ(2)
            assertArrayEquals(new double[]{0.880797}, bt.prob(List.of(e), List.of("82"), List.of("81")), 1e-6);
        }
    }

    static Judge j2(LlamaModel pm, Tokenizer tok) { return Judges.preferenceModel(pm, tok, 48); }

    static List<Task.Example> examples(List<PreferencePair> d) { return d.stream().map(p -> new Task.Example(p.prompt(), "")).toList(); }

    static List<String> chosen(List<PreferencePair> d) { return d.stream().map(PreferencePair::chosen).toList(); }

    static List<String> rejected(List<PreferencePair> d) { return d.stream().map(PreferencePair::rejected).toList(); }

    static double[] ones(int n) { double[] g = new double[n]; java.util.Arrays.fill(g, 1.0); return g; }
}
