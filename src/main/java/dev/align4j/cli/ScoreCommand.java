package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.data.SftExample;
import dev.align4j.eval.Revisions;
import dev.align4j.generate.Revision;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.train.Session;
import dev.align4j.train.online.Advantages;
import dev.align4j.train.online.Score;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "score", description = {"SCoRe (Kumar et al. 2024): train two-attempt self-correction by RL on the policy's own attempts. Each prompt is",
        "answered (attempt 1), followed by the fixed instruction 'Check and correct:' and answered again (attempt 2).",
        "Stage I (--stage-one-steps): RL on attempt 2's reward, attempt 1 held at the start policy by a strong KL (--beta-first);",
        "stage II (the remaining --steps): RL on both attempts, attempt 2's reward shaped by the bonus --alpha x (r2 - r1).",
        "--sft-steps N first fine-tunes on two-attempt demonstrations (attempt 1 sampled from the model, attempt 2 the gold",
        "answer) for a model that never saw the format; it is saved as OUTPUT/warmup/ and the RL reference is it.",
        "Held-out evaluation reports accuracy/t1, accuracy/t2, delta/i_to_c, delta/c_to_i (greedy). Needs --task.",
        "Example: ./align4j score --model /work/models/arith-sft-0 --task arithmetic --sft-steps 300 --steps 200 --output out/score"})
final class ScoreCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    final MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();     // no --data: attempts are judged by a task's gold check
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin RewardFlags rf = new RewardFlags();

    @Option(names = "--stage-one-steps", description = "Steps of stage I; the rest of --steps are stage II; 0 = stage II only (default: ${DEFAULT-VALUE}).")
    int stageOneSteps;
    @Option(names = "--alpha", description = "Stage II's self-correction bonus alpha x (r2 - r1) on attempt 2's reward (default: ${DEFAULT-VALUE}).")
    double alpha;
    @Option(names = "--beta-first", description = "Stage I's KL coefficient on attempt 1, beta2 (strong: attempt 1 stays the start policy's) (default: ${DEFAULT-VALUE}).")
    double betaFirst;
    @Option(names = "--kl", description = "KL estimator: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    PolicyLoss.KlEstimator kl;
    @Option(names = "--scale", description = "Advantage scaling over a prompt's attempts: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Advantages.Scale scale;
    @Option(names = "--sft-steps", description = "Warm-up SFT steps on two-attempt demonstrations before RL; 0 = none (default: ${DEFAULT-VALUE}).")
    int sftSteps;
    @Option(names = "--sft-examples", description = "Demonstrations the warm-up samples (default: ${DEFAULT-VALUE}).")
    int sftExamples;
    @Option(names = "--sft-lr", description = "The warm-up's learning rate (default: ${DEFAULT-VALUE}).")
    double sftLr;
    @Option(names = "--sft-batch-size", description = "The warm-up's batch size (default: ${DEFAULT-VALUE}).")
    int sftBatchSize;

    @Override public Object defaults() { return Score.Config.DEFAULTS; }

    @Override
    public Integer call() {
        Score.Config cfg = f.config(Score.Config.DEFAULTS);
        if (tf.task == null) throw new UserError("score needs --task NAME: attempts are judged right or wrong by a built-in task's gold check");
        Revision format = Revision.text();
        int budget = cfg.rollouts().maxNewTokens();
        TrainRun.Measure measure = (l, t, test) -> Revisions.evaluate(l.model(), l.tokenizer(), format, null, t, test, 1, SamplingConfig.greedy(budget), 100).metrics();
        TrainRun.online("score", f, tf, pf, rf, budget, cfg, measure, (l, prompts, reward, io) -> {
            Task task = tf.task();
            if (cfg.sftSteps() > 0) warmup(l, task, prompts, format, cfg, io);
            try (LlamaModel ref = l.model().copy(l.model().dtype)) {
                Score.train(l.model(), ref, reward, task, prompts, format, cfg, io);
            }
        });
        return 0;
    }

    /** The supervised warm-up on two-attempt demonstrations; its metrics in OUTPUT/warmup-sft/, the model in OUTPUT/warmup/. */
    private void warmup(HfModel.Loaded l, Task task, List<Task.Example> prompts, Revision format, Score.Config cfg, Session io) {
        if (TrainRun.resumeWarmup(io, "warmup", l.model(), "score")) return;      // a resumed run: the RL reference is the saved warm-up
        long seed = cfg.run().seed();
        List<SftExample> demos = Score.demonstrations(l.model(), l.tokenizer(), task, prompts, format, cfg.sftExamples(), cfg.rollouts().maxNewTokens(),
                cfg.rollouts().temperature(), seed + 101);
        System.err.printf("score: warm-up SFT, %d steps on %d two-attempt demonstrations%n", cfg.sftSteps(), demos.size());
        TrainRun.warmupSft(l.model(), demos, cfg.sftSteps(), cfg.sftLr(), cfg.sftBatchSize(), seed + 102, io, "warmup-sft");
        if (io.output() != null) HfModel.save(io.output().resolve("warmup"), l.model(), l.tokenizer());
        if (io.eval() != null) {
            var m = io.eval().evaluate(0);
            System.err.printf("score: after the warm-up, held-out accuracy/t1 %.1f%%, accuracy/t2 %.1f%%%n", 100 * m.get("accuracy/t1"), 100 * m.get("accuracy/t2"));
            if (io.resume() == null) io.metrics().log("eval/score-warmup", 0, m);
        }
    }
}
