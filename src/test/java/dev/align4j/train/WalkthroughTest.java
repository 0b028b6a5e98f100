package dev.align4j.train;

import dev.align4j.core.Configs;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.align4j.core.Metrics;
import dev.align4j.loss.SftLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.online.Rollout;
import dev.align4j.train.online.RolloutConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The "add a method" walkthrough of docs/architecture.md, compiled and run: a new online method is one file — its
 * Config and its step on {@link Loop} — and it trains (the reward rises, every parameter moves, the config is saved).
 */
class WalkthroughTest {
    @TempDir Path dir;

    /** Rejection-sampling fine-tuning (RAFT, Dong et al. 2023): sample G completions per prompt, keep the best, one SFT update on them. */
    static final class Raft {
        /** @param minReward a prompt's best completion trains only when its reward is above this */
        record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, double minReward) {
            static final Config DEFAULTS = Configs.of(Config.class, RolloutConfig.COMMON, "steps", 100, "lr", 1e-5, "warmupSteps", 5,
                    "promptsPerStep", 16, "samplesPerPrompt", 8, "minReward", 0.0);
        }

        static Loop.Outcome train(LlamaModel policy, Rewards.Weighted reward, List<Task.Example> prompts, Config cfg, Session io) {
            int g = cfg.rollouts().samplesPerPrompt();
            return Loop.run(io, Loop.Plan.of("raft", cfg.run(), cfg, policy, 1), s -> {
                // 1. sample B prompts × G completions and score them
                Rollout ro = Rollout.sample(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
                double[] r = ro.score(reward, s.metrics);
                // 2. keep each prompt's best completion
                List<Integer> best = new ArrayList<>();
                for (int start = 0; start < ro.size(); start += g) {
                    int b = start;
                    for (int i = start + 1; i < start + g; i++) if (r[i] > r[b]) b = i;
                    if (r[b] > cfg.minReward()) best.add(b);
                }
                s.metrics.put("frac_kept", best.size() / (double) cfg.rollouts().promptsPerStep());
                if (best.isEmpty()) return;
                // 3. one supervised update on them
                SeqBatch batch = ro.batch(best, io.tok().padId);
                s.update(1, (micro, m) -> {
                    Scoring.Scores sc = Scoring.score(policy, batch, false);
                    return SftLoss.nll(sc.tokenLogps(), sc.mask());
                });
            });
        }
    }

    @Test
    void aNewOnlineMethodIsOneFileOnTheLoop() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        TrainerTest.CountA task = new TrainerTest.CountA();
        try (LlamaModel m = TrainerTest.nano(9)) {
            Map<String, float[]> before = TrainerTest.snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Raft.Config cfg = Configs.with(Raft.Config.DEFAULTS, "steps", 25, "promptsPerStep", 8, "samplesPerPrompt", 8, "maxNewTokens", 4, "lr", 1e-2, "warmupSteps", 0);
            Loop.Outcome out = Raft.train(m, Rewards.Weighted.of(Rewards.gold(task)), task.examples(Task.Split.TRAIN, 20, 0), cfg,
                    new Session(tok, dir.resolve("out"), metrics, null, null));
            double[][] reward = metrics.series("raft", "reward");
            double early = TrainerTest.earlyLate(reward, false), late = TrainerTest.earlyLate(reward, true);
            assertTrue(late > early + 0.2, "reward rose from " + early + " to " + late);
            assertTrue(Double.isFinite(out.get("loss")));
            TrainerTest.assertAllChanged(before, m);
            assertEquals(dir.resolve("out/checkpoint-25"), out.lastCheckpoint());
            assertEquals(8, dev.align4j.core.Json.read(out.lastCheckpoint().resolve("trainer_state.json")).get("config").get("samplesPerPrompt").asInt(),
                    "the saved config is flat, as --config reads it");
        }
    }
}
