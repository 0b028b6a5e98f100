package dev.align4j.train.offline;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.data.PreferencePair;
import dev.align4j.data.Tokenized;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.loss.PreferenceLoss.Variant;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Scoring;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.Session;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 17: where align4j's DPO family differed from TRL, it now computes what TRL computes (values worked out below). */
class TrlParityTest {
    @TempDir Path dir;

    /**
     * Two pairs. Chosen rows: pair 0 has prompt log-probs (−1, −1) and one completion token at −2; pair 1 prompt (−1) and
     * three completion tokens at −1. Rejected rows: one completion token each, at −3 and −2 (no prompt tokens scored).
     */
    static Scoring.Scores scores() {
        // rows 0, 1 chosen, 2, 3 rejected; T − 1 = 4 positions: completion log-probs, and every real token's
        float[] comp = {-2, 0, 0, 0, /**/ -1, -1, -1, 0, /**/ -3, 0, 0, 0, /**/ -2, 0, 0, 0};
        float[] cm = {1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0};
        float[] all = {-1, -1, -2, 0, /**/ -1, -1, -1, -1, /**/ -3, 0, 0, 0, /**/ -2, 0, 0, 0};
        float[] am = {1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0};
        Tensor lp = Torch.floats(comp, 4, 4), mask = Torch.floats(cm, 4, 4);
        Tensor sum = Torch.floats(new float[]{-2, -3, -3, -2}, 4), mean = Torch.floats(new float[]{-2, -1, -3, -2}, 4);
        return new Scoring.Scores(lp, mask, sum, mean, null, null, Torch.floats(all, 4, 4), Torch.floats(am, 4, 4));
    }

    static Dpo.Sides zeros() {
        Tensor z = Torch.floats(new float[]{0, 0}, 2);
        return new Dpo.Sides(z, z, z, z);
    }

    @Test
    void cpoPoolsItsNllOverEveryChosenCompletionTokenOfTheBatch() {
        try (PointerScope s = new PointerScope()) {
            Scoring.Scores sc = scores();
            Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(Variant.CPO), "beta", 0.5);
            PreferenceLoss.Out o = Dpo.variant(Variant.CPO, Dpo.Sides.of(sc, 2), zeros(), cfg, 0, sc, 2, null);
            // preference term: π_c − π_r = −2 − (−3) = 1 and −3 − (−2) = −1; per pair −log σ(0.5·1) = 0.474077, −log σ(−0.5) = 0.974077
            //   mean 0.724077; NLL pooled over the 4 chosen completion tokens (2 + 1 + 1 + 1) / 4 = 1.25 (the per-sequence
            //   mean of means, (2 + 1) / 2 = 1.5, was the old value) ⇒ 1.974077
            assertEquals(1.974077, Torch.item(o.losses().mean()), 1e-5);
        }
    }

    @Test
    void orpoPoolsItsNllOverEveryChosenTokenPromptIncluded() {
        try (PointerScope s = new PointerScope()) {
            Scoring.Scores sc = scores();
            Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(Variant.ORPO), "beta", 0.5);
            PreferenceLoss.Out o = Dpo.variant(Variant.ORPO, Dpo.Sides.of(sc, 2), zeros(), cfg, 0, sc, 2, null);
            // log odds(m) = m − log(1 − e^m): odds(−2) = −1.854587, odds(−1) = −0.541325, odds(−3) = −2.948931
            // pair 0: ratio odds(−2) − odds(−3) = 1.094344 ⇒ −0.5·log σ(1.094344) = 0.144375
            // pair 1: ratio odds(−1) − odds(−2) = 1.313262 ⇒ −0.5·log σ(1.313262) = 0.119092; mean 0.131733
            // NLL over the 7 chosen tokens, prompt included: (1 + 1 + 2 + 1 + 1 + 1 + 1) / 7 = 1.142857 ⇒ 1.274591
            // (the old per-sequence mean over completion tokens, (2 + 1) / 2 = 1.5, gave 1.631733)
            assertEquals(1.274591, Torch.item(o.losses().mean()), 1e-5);
        }
    }

    @Test
    void lengthNormalisedVariantsLogRewardsAsBetaTimesSummedLogRatios() {
        try (PointerScope s = new PointerScope()) {
            Scoring.Scores sc = scores();
            Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(Variant.IPO), "beta", 0.5);
            // the loss reads means, the logged rewards sums: chosen sums (−2, −3) ⇒ 0.5·(−2.5) = −1.25 (means would give −0.75)
            PreferenceLoss.Out o = Dpo.variant(Variant.IPO, Dpo.Sides.of(sc, 2), zeros(), cfg, 0, sc, 2, null);
            assertEquals(-1.25, Torch.item(o.chosenRewards().mean()), 1e-6);
            assertEquals(-1.25, Torch.item(o.rejectedRewards().mean()), 1e-6);   // rejected sums (−3, −2)
            // IPO's loss itself is on the means: h = (−2 + 3, −1 + 2) = (1, 1) ⇒ (1 − 1/(2·0.5))² = 0
            assertEquals(0.0, Torch.item(o.losses().mean()), 1e-6);
        }
    }

    @Test
    void bcoFoldsTheCurrentBatchIntoItsRunningMeanBeforeUsingIt() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        ModelConfig c = ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0);
        List<PreferencePair> data = new ArrayList<>();
        for (int i = 0; i < 4; i++) data.add(new PreferencePair("say " + (char) ('a' + i) + ":", "" + (char) ('a' + i), "zz"));
        Dpo.Config cfg = Configs.with(Dpo.Config.DEFAULTS, "losses", List.of(Variant.BCO_PAIR), "beta", 0.5, "steps", 1, "batchSize", 4, "maxLength", 32, "lr", 1e-6, "warmupSteps", 0);
        // policy and reference differ, so the first batch's mean implicit reward δ is not 0
        try (LlamaModel policy = LlamaModel.init(c, 1, ScalarType.Float); LlamaModel ref = LlamaModel.init(c, 2, ScalarType.Float);
             PointerScope s = new PointerScope()) {
            List<Tokenized[]> rows = new ArrayList<>();
            for (PreferencePair p : data) rows.add(new Tokenized[]{cfg.batching().tokenize(tok, p.prompt(), p.chosen()), cfg.batching().tokenize(tok, p.prompt(), p.rejected())});
            double expected;
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor pol = Scoring.score(policy, Batching.pairs(rows, new int[]{0, 1, 2, 3}, tok.padId), false).sum();
                Tensor rf = Scoring.score(ref, Batching.pairs(rows, new int[]{0, 1, 2, 3}, tok.padId), false).sum();
                float[] lr = Torch.toFloats(pol.sub(rf));                          // a_0..a_3, r_0..r_3 (the batch holds every pair)
                double delta = 0;
                for (float x : lr) delta += 0.5 * x / lr.length;                  // δ = mean of β·a and β·r over this batch
                double sum = 0;
                for (int i = 0; i < 4; i++)                                      // −log σ(βa − δ) − log σ(−(βr − δ))
                    sum += Math.log1p(Math.exp(-(0.5 * lr[i] - delta))) + Math.log1p(Math.exp(0.5 * lr[4 + i] - delta));
                expected = sum / 4;
                assertTrue(Math.abs(delta) > 1e-3, "the test needs a non-zero first-batch reward: " + delta);
            }
            Metrics metrics = Metrics.inMemory().quiet(true);
            Dpo.train(policy, ref, data, cfg, Session.inMemory(tok).withMetrics(metrics));
            assertEquals(expected, metrics.series("dpo", "loss")[0][1], 1e-4, "δ includes the current batch at step 1 (TRL v0.28), not 0");
        }
    }

    @Test
    void ktoPairsPromptIWithCompletionIMinusOneForItsReferencePoint() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        ModelConfig c = ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, 1, new int[]{2}, 0);
        List<dev.align4j.data.UnpairedExample> data = List.of(new dev.align4j.data.UnpairedExample("say a:", "a", true),
                new dev.align4j.data.UnpairedExample("say bb:", "zzz", false), new dev.align4j.data.UnpairedExample("say c:", "cc", true));
        Kto.Config cfg = Configs.with(Kto.Config.DEFAULTS, "steps", 1, "batchSize", 3, "maxLength", 32, "lr", 1e-6, "warmupSteps", 0);
        // find policy/reference seeds where both pairings give a positive (unclamped) reference point that differs,
        // so the logged kl says which pairing was used: TRL's (x_i, y_{i−1}), not the old (x_i, y_{i+1})
        for (long seed = 1; seed < 40; seed++) {
            try (LlamaModel policy = LlamaModel.init(c, seed, ScalarType.Float); LlamaModel ref = LlamaModel.init(c, seed + 100, ScalarType.Float);
                 PointerScope s = new PointerScope()) {
                List<Tokenized> rows = new ArrayList<>();
                for (var e : data) rows.add(cfg.batching().tokenize(tok, e.prompt(), e.completion()));
                int[] order = new dev.align4j.data.Batches(3, 3, cfg.run().seed()).batch(0);
                double previous = z(policy, ref, rows, order, -1, tok), next = z(policy, ref, rows, order, +1, tok);
                if (previous <= 1e-3 || next <= 1e-3 || Math.abs(previous - next) < 1e-3) continue;
                Metrics metrics = Metrics.inMemory().quiet(true);
                Kto.train(policy, ref, data, cfg, Session.inMemory(tok).withMetrics(metrics));
                assertEquals(previous, metrics.series("kto", "kl")[0][1], 1e-4, "z from (x_i, y_{i−1}); (x_i, y_{i+1}) would give " + next);
                return;
            }
        }
        fail("no seed gave distinguishable reference points");
    }

    /** mean over the batch of log π(y_{i+shift} | x_i) − log π_ref(y_{i+shift} | x_i), clamped at 0 (the KTO reference point). */
    static double z(LlamaModel policy, LlamaModel ref, List<Tokenized> rows, int[] order, int shift, Tokenizer tok) {
        int b = order.length;
        List<int[]> p = new ArrayList<>(), comp = new ArrayList<>();
        for (int i = 0; i < b; i++) { p.add(rows.get(order[i]).prompt()); comp.add(rows.get(order[((i + shift) % b + b) % b]).completion()); }
        try (NoGradGuard g = new NoGradGuard()) {
            var batch = dev.align4j.model.SeqBatch.of(p, comp, tok.padId);
            return Math.max(0, Torch.item(Scoring.score(policy, batch, false).sum().sub(Scoring.score(ref, batch, false).sum()).mean()));
        }
    }
}
