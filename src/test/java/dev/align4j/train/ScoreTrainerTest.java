package dev.align4j.train;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.generate.Revision;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.online.Score;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.align4j.train.TrainerTest.*;
import static org.junit.jupiter.api.Assertions.*;

/** SCoRe on a nano model: both stages run, the loss stays finite, every parameter moves and attempt 2's reward rises. */
class ScoreTrainerTest {
    @TempDir Path dir;

    @Test
    void scoreRaisesTheSecondAttemptsReward() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        TrainerTest.CountA task = new TrainerTest.CountA();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 20, 0);
        try (LlamaModel m = nano(9); LlamaModel ref = m.copy(ScalarType.Float)) {
            Map<String, float[]> before = snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Score.Config cfg = Configs.with(Score.Config.DEFAULTS, "steps", 24, "stageOneSteps", 8, "promptsPerStep", 4, "samplesPerPrompt", 4,
                    "maxNewTokens", 4, "lr", 2e-2, "warmupSteps", 0, "alpha", 2.0, "betaFirst", 0.5, "beta", 0.01);
            Score.Result r = Score.train(m, ref, Rewards.Weighted.of(Rewards.gold(task)), task, prompts, Revision.text(), cfg, new Session(tok, null, metrics, null, null));
            double[][] reward2 = metrics.series("score", "reward/t2"), loss = metrics.series("score", "loss"), stage = metrics.series("score", "score_stage");
            assertEquals(24, loss.length);
            for (double[] l : loss) assertTrue(Double.isFinite(l[1]), "finite loss at step " + l[0]);
            assertEquals(1.0, stage[7][1]);
            assertEquals(2.0, stage[8][1], "stage II starts after stage-one-steps");
            assertTrue(earlyLate(reward2, true) > earlyLate(reward2, false) + 0.2, "attempt 2's reward rose from " + earlyLate(reward2, false) + " to " + earlyLate(reward2, true));
            assertTrue(metrics.series("score", "kl/t1")[7][1] >= 0 && Double.isFinite(r.finalAccuracySecond()));
            assertAllChanged(before, m);
        }
    }
}
