package dev.align4j.cli;

import dev.align4j.train.EvalHook;

import dev.align4j.reward.Rewards;

import dev.align4j.core.UserError;

import dev.align4j.core.Distributed;
import dev.align4j.core.Metrics;
import dev.align4j.eval.Evaluator;
import dev.align4j.eval.Game;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.task.Task;
import dev.align4j.train.Session;

import java.util.List;
import java.util.Map;

/** What every training command does around its trainer: load the model, print and save the config, train, save {@code final/}. */
final class TrainRun {
    private TrainRun() {}

    /** The body of an offline command: reads its data, trains, and returns the model to save as {@code final/}. */
    interface Offline {
        LlamaModel train(HfModel.Loaded loaded, Metrics metrics);
    }

    /** @param data what the model was trained on, for the model card */
    static void offline(String stage, TrainFlags f, Object cfg, String data, Offline body) {
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = Metrics.ofRun(f.output)) {
            TrainFlags.printConfig(stage, cfg, f.output);
            LlamaModel trained = body.train(l, metrics);
            if (!Distributed.get().isMain()) return;                          // rank 0 writes the final model
            HfModel.save(f.output.resolve("final"), trained, l.tokenizer());
            ModelCard.write(f.output.resolve("final"), stage, f, cfg, data, metrics);
            System.err.println(stage + ": final model in " + f.output.resolve("final"));
        }
    }

    /** The body of an online command: the loaded policy, its training prompts, the reward, and the session to train in. */
    interface Online {
        void train(HfModel.Loaded policy, List<Task.Example> prompts, Rewards.Weighted reward, Session io);
    }

    /**
     * Online commands take their prompts from a built-in task (held-out test split, gold reward and accuracy) or from a
     * user's prompt file (held-out {@code --eval-data} if given, scored by the run's own reward functions), and evaluate
     * greedily before (logged as {@code eval/STAGE} step 0) and after training.
     */
    static void online(String stage, TrainFlags f, MethodFlags.TaskFlags tf, MethodFlags.PromptFlags pf, RewardFlags rf, int maxNewTokens,
                       Object cfg, Online body) {
        online(stage, f, tf, pf, rf, maxNewTokens, cfg, null, body);
    }

    /** A method's own held-out measurement (it must report {@code accuracy} and {@code gold_reward}, as the default one does). */
    interface Measure {
        Map<String, Double> of(HfModel.Loaded policy, Task task, List<Task.Example> test);
    }

    /** The same with {@code measure} in place of the greedy one-attempt evaluation (null: that one). */
    static void online(String stage, TrainFlags f, MethodFlags.TaskFlags tf, MethodFlags.PromptFlags pf, RewardFlags rf, int maxNewTokens,
                       Object cfg, Measure measure, Online body) {
        if ((tf.task == null) == (pf.data == null)) throw new UserError("give exactly one of --task NAME or --data FILE (prompt rows)");
        Task t = tf.task();
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = Metrics.ofRun(f.output); Rewards.Weighted reward = rf.build(t, maxNewTokens)) {
            List<Task.Example> train = t != null ? t.examples(Task.Split.TRAIN, 20_000, f.seed) : pf.read(pf.data, l);
            List<Task.Example> test = t != null ? t.examples(Task.Split.TEST, tf.evalPrompts, f.seed + 1) : pf.evalData == null ? null : pf.read(pf.evalData, l);
            TrainFlags.printConfig(stage, cfg, f.output);
            System.err.printf("%s: %d training prompts%s%n", stage, train.size(), test == null ? " (no held-out prompts: add --eval-data FILE)" : ", " + test.size() + " held out");
            Game.Tracker game = test == null ? null : Game.Tracker.start(l.model(), l.tokenizer(), t, test, GAME_SAMPLES, f.seed + 2);
            EvalHook eval = test == null ? null : step -> {
                Map<String, Double> m = new java.util.LinkedHashMap<>(measure != null ? measure.of(l, t, test) : evaluate(t, l, test, reward, maxNewTokens));
                if (game != null) m.putAll(game.evaluate(l.model(), l.tokenizer()));
                return m;
            };
            if (eval != null && Distributed.get().isMain()) {
                Map<String, Double> before = eval.evaluate(0);
                System.err.println(stage + ": held-out before " + summary(before));
                if (f.resume == null) metrics.log("eval/" + stage, 0, before);
            }
            body.train(l, train, reward, f.session(l, metrics, eval));
            if (!Distributed.get().isMain()) return;                          // rank 0 evaluates and writes the final model
            if (eval != null) System.err.println(stage + ": held-out after " + summary(eval.evaluate(-1)));
            HfModel.save(f.output.resolve("final"), l.model(), l.tokenizer());
            ModelCard.write(f.output.resolve("final"), stage, f, cfg, t != null ? "the prompts of the built-in task '" + t.name() + "'" : "the prompts of " + pf.data, metrics);
        }
    }

    /** Samples per held-out prompt for the exact game quantities on a task such as {@code cycle} ({@link Game.Tracker}). */
    static final int GAME_SAMPLES = 8;

    private static Map<String, Double> evaluate(Task t, HfModel.Loaded l, List<Task.Example> test, Rewards.Weighted reward, int maxNewTokens) {
        if (t == null) return Evaluator.evaluate(l.model(), l.tokenizer(), test, reward, maxNewTokens, 100);
        Evaluator.Result r = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
        Map<String, Double> m = new java.util.LinkedHashMap<>(Map.of("gold_reward", r.reward(), "accuracy", r.accuracy()));
        if (t.objectives().size() > 1)                                      // a multi-objective task: each objective's mean too
            for (int k = 0; k < t.objectives().size(); k++) m.put("objective/" + t.objectives().get(k), r.objectives()[k]);
        return m;
    }

    private static String summary(Map<String, Double> m) {
        String s = m.containsKey("accuracy") ? String.format("accuracy %.1f%% (gold reward %.3f)", 100 * m.get("accuracy"), m.get("gold_reward"))
                : String.format("reward %.3f", m.get("reward"));
        return m.containsKey("exploitability") ? s + String.format(", exploitability %.3f, win rate vs start %.3f", m.get("exploitability"), m.get("win_rate")) : s;
    }

    /**
     * A warm-up stage that saved its model as {@code OUTPUT/NAME/}: on {@code --resume}, when that directory exists, its
     * weights are loaded into {@code model} and true is returned (the stage is done); otherwise false (train it).
     */
    static boolean resumeWarmup(dev.align4j.train.Session io, String name, dev.align4j.model.LlamaModel model, String stage) {
        if (io.resume() == null || io.output() == null || !java.nio.file.Files.isDirectory(io.output().resolve(name))) return false;
        try (HfModel.Loaded w = HfModel.load(io.output().resolve(name), model.dtype)) {
            model.loadFrom(w.model());
        }
        System.err.println(stage + ": resuming; the warmed-up model is " + io.output().resolve(name));
        return true;
    }

    /** A warm-up's supervised fine-tuning of {@code model} on {@code rows}; its metrics in {@code OUTPUT/STAGE/} (in memory without an output). */
    static void warmupSft(dev.align4j.model.LlamaModel model, List<dev.align4j.data.SftExample> rows, int steps, double lr, int batchSize, long seed,
                          dev.align4j.train.Session io, String stage) {
        dev.align4j.train.offline.Sft.Config sc = dev.align4j.core.Configs.with(dev.align4j.train.offline.Sft.Config.DEFAULTS, "steps", steps, "lr", lr,
                "warmupSteps", Math.min(20, steps / 10), "batchSize", batchSize, "maxLength", 128, "seed", seed);
        try (Metrics sm = io.output() == null ? Metrics.inMemory().quiet(true) : Metrics.fresh(io.output().resolve(stage))) {
            dev.align4j.train.offline.Sft.train(model, rows, sc, new dev.align4j.train.Session(io.tok(), null, sm, null, null));
        }
    }
}
