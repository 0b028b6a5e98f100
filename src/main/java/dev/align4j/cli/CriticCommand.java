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
import dev.align4j.train.online.CriticRl;
import dev.align4j.train.online.Score;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "critic", description = {"Train a critic whose critiques make a fixed generator's revisions succeed (CTRL, Xie et al. 2025; RL4F,",
        "Akyurek et al. 2023). Each step the generator (--generator DIR) answers B prompts; the critic (--model) writes G one-line",
        "critiques of each answer ('Critique:'); the generator revises after each; the critic is rewarded by the revision's gold",
        "reward (GRPO over the G critiques of one answer, KL --beta to its start).",
        "--generator-sft-steps N first teaches the generator to revise after gold critiques (saved as OUTPUT/generator/);",
        "--sft-steps N first teaches the critic to write gold critiques of the generator's answers (CTRL's stage 1; OUTPUT/warmup/).",
        "Held-out evaluation (greedy): accuracy/t1 (the generator alone), accuracy/t2 (after the critic's critique), delta/i_to_c,",
        "delta/c_to_i. Use the result with ./align4j generate --model GENERATOR --revise 1 --critic OUTPUT/final. Needs --task.",
        "Example: ./align4j critic --model sft-sort --generator sft-sort --task sort --generator-sft-steps 300 --sft-steps 300 --output out/critic"})
final class CriticCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.TaskFlags tf = new MethodFlags.TaskFlags();
    final MethodFlags.PromptFlags pf = new MethodFlags.PromptFlags();     // no --data: revisions are judged by a task's gold check
    @Mixin MethodFlags.RolloutFlags ro = new MethodFlags.RolloutFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();
    @Mixin RewardFlags rf = new RewardFlags();

    @Option(names = "--generator", required = true, paramLabel = "DIR", description = "The fixed generator that answers and revises (a model directory).")
    Path generator;
    @Option(names = "--kl", description = "KL estimator: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    PolicyLoss.KlEstimator kl;
    @Option(names = "--scale", description = "Advantage scaling over an answer's critiques: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Advantages.Scale scale;
    @Option(names = "--answer-tokens", description = "The generator's budget per answer and revision; 0 = the task's (default: ${DEFAULT-VALUE}).")
    int answerTokens;
    @Option(names = "--attempt-temperature", description = "The generator's temperature for the answers the critic critiques (default: ${DEFAULT-VALUE}).")
    double attemptTemperature;
    @Option(names = "--revision-temperature", description = "The generator's temperature for its revisions; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double revisionTemperature;
    @Option(names = "--sft-steps", description = "The critic's warm-up: SFT steps on gold critiques of the generator's answers; 0 = none (default: ${DEFAULT-VALUE}).")
    int sftSteps;
    @Option(names = "--sft-examples", description = "Critiques the critic's warm-up samples (default: ${DEFAULT-VALUE}).")
    int sftExamples;
    @Option(names = "--generator-sft-steps", description = "The generator's warm-up: SFT steps on revisions after gold critiques; 0 = none (default: ${DEFAULT-VALUE}).")
    int generatorSftSteps;
    @Option(names = "--generator-sft-examples", description = "Demonstrations the generator's warm-up samples (default: ${DEFAULT-VALUE}).")
    int generatorSftExamples;
    @Option(names = "--sft-lr", description = "Both warm-ups' learning rate (default: ${DEFAULT-VALUE}).")
    double sftLr;
    @Option(names = "--sft-batch-size", description = "Both warm-ups' batch size (default: ${DEFAULT-VALUE}).")
    int sftBatchSize;

    @Override public Object defaults() { return CriticRl.Config.DEFAULTS; }

    @Override
    public Integer call() {
        CriticRl.Config cfg = f.config(CriticRl.Config.DEFAULTS);
        if (tf.task == null) throw new UserError("critic needs --task NAME: revisions are judged right or wrong by a built-in task's gold check");
        if (!Files.isDirectory(generator)) throw new UserError("--generator " + generator + ": not a model directory");
        Task task = tf.task();
        Revision format = Revision.text();
        int answer = cfg.answerTokens() > 0 ? cfg.answerTokens() : Math.max(4, task.maxCompletionChars() + 4);
        int critique = cfg.rollouts().maxNewTokens();
        try (HfModel.Loaded gen = HfModel.load(generator, TrainFlags.WEIGHTS)) {
            CriticRl.Generator g = CriticRl.modelGenerator(gen.model(), gen.tokenizer(), format, answer, cfg.attemptTemperature(), cfg.revisionTemperature());
            TrainRun.Measure measure = (l, t, test) -> Revisions.evaluate(gen.model(), gen.tokenizer(), format,
                    Revisions.modelCritic(l.model(), l.tokenizer(), format, SamplingConfig.greedy(critique)), t, test, 1, SamplingConfig.greedy(answer), 100).metrics();
            TrainRun.online("critic", f, tf, pf, rf, answer, cfg, measure, (l, prompts, reward, io) -> {
                if (l.tokenizer().vocabSize != gen.tokenizer().vocabSize)
                    throw new UserError("critic: --model and --generator must share a tokenizer (vocabularies of " + l.tokenizer().vocabSize + " and "
                            + gen.tokenizer().vocabSize + " tokens)");
                if (cfg.generatorSftSteps() > 0) generatorWarmup(gen, task, prompts, format, answer, cfg, io);
                if (cfg.sftSteps() > 0) criticWarmup(l, g, task, prompts, format, cfg, io);
                try (LlamaModel ref = cfg.beta() > 0 ? l.model().copy(l.model().dtype) : null) {
                    CriticRl.train(l.model(), ref, g, reward, task, prompts, format, cfg, io);
                }
            });
        }
        return 0;
    }

    /** Teaches the generator to revise after gold critiques; OUTPUT/generator/ (reloaded on --resume). */
    private void generatorWarmup(HfModel.Loaded gen, Task task, List<Task.Example> prompts, Revision format, int answer, CriticRl.Config cfg, Session io) {
        if (TrainRun.resumeWarmup(io, "generator", gen.model(), "critic")) return;
        Path saved = io.output() == null ? null : io.output().resolve("generator");
        long seed = cfg.run().seed();
        List<SftExample> demos = Score.demonstrations(gen.model(), gen.tokenizer(), task, prompts, format, cfg.generatorSftExamples(), answer,
                cfg.attemptTemperature(), seed + 201, true);
        System.err.printf("critic: generator warm-up, %d SFT steps on %d demonstrations of revising after a gold critique%n", cfg.generatorSftSteps(), demos.size());
        TrainRun.warmupSft(gen.model(), demos, cfg.generatorSftSteps(), cfg.sftLr(), cfg.sftBatchSize(), seed + 202, io, "generator-sft");
        if (saved != null) HfModel.save(saved, gen.model(), gen.tokenizer());
    }

    /** Teaches the critic the gold critiques of the generator's answers; OUTPUT/warmup/ (reloaded on --resume); the RL reference is it. */
    private void criticWarmup(HfModel.Loaded l, CriticRl.Generator g, Task task, List<Task.Example> prompts, Revision format, CriticRl.Config cfg, Session io) {
        if (TrainRun.resumeWarmup(io, "warmup", l.model(), "critic")) return;
        Path saved = io.output() == null ? null : io.output().resolve("warmup");
        long seed = cfg.run().seed();
        List<SftExample> demos = CriticRl.critiqueDemonstrations(g, task, prompts, format, cfg.sftExamples(), seed + 101);
        System.err.printf("critic: critic warm-up, %d SFT steps on %d gold critiques%n", cfg.sftSteps(), demos.size());
        TrainRun.warmupSft(l.model(), demos, cfg.sftSteps(), cfg.sftLr(), cfg.sftBatchSize(), seed + 102, io, "warmup-sft");
        if (saved != null) HfModel.save(saved, l.model(), l.tokenizer());
        if (io.eval() != null) {
            Map<String, Double> m = io.eval().evaluate(0);
            System.err.printf("critic: after the warm-ups, held-out accuracy/t1 %.1f%%, accuracy/t2 %.1f%%%n", 100 * m.get("accuracy/t1"), 100 * m.get("accuracy/t2"));
            io.metrics().log("eval/critic-warmup", 0, m);
        }
    }

}
