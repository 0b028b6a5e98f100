package dev.align4j.cli;

import dev.align4j.core.Metrics;
import dev.align4j.eval.Evaluator;
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

    static void offline(String stage, TrainFlags f, Object cfg, Offline body) {
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output)) {
            TrainFlags.printConfig(stage, cfg, f.output);
            HfModel.save(f.output.resolve("final"), body.train(l, metrics), l.tokenizer());
            System.err.println(stage + ": final model in " + f.output.resolve("final"));
        }
    }

    /** The body of an online command: the loaded policy, the task's training prompts and the session to train in. */
    interface Online {
        void train(HfModel.Loaded policy, List<Task.Example> prompts, Session io);
    }

    /** Online commands also evaluate the policy on held-out prompts before (logged as {@code eval/STAGE} step 0) and after training. */
    static void online(String stage, TrainFlags f, MethodFlags.TaskFlags tf, Object cfg, Online body) {
        Task t = tf.required();
        List<Task.Example> train = t.examples(Task.Split.TRAIN, 20_000, f.seed), test = t.examples(Task.Split.TEST, tf.evalPrompts, f.seed + 1);
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output)) {
            TrainFlags.printConfig(stage, cfg, f.output);
            Evaluator.Result before = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
            System.err.printf("%s: held-out accuracy before %.1f%% (gold reward %.3f)%n", stage, 100 * before.accuracy(), before.reward());
            if (f.resume == null) metrics.log("eval/" + stage, 0, Map.of("gold_reward", before.reward(), "accuracy", before.accuracy()));
            body.train(l, train, f.session(l, metrics, step -> {
                Evaluator.Result r = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
                return Map.of("gold_reward", r.reward(), "accuracy", r.accuracy());
            }));
            Evaluator.Result after = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
            System.err.printf("%s: held-out accuracy after %.1f%% (gold reward %.3f)%n", stage, 100 * after.accuracy(), after.reward());
            HfModel.save(f.output.resolve("final"), l.model(), l.tokenizer());
        }
    }
}
