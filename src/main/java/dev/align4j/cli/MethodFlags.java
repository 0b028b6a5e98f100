package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.Tokenized;
import dev.align4j.eval.Evaluator;
import dev.align4j.model.HfModel;
import dev.align4j.task.Task;
import dev.align4j.train.EvalHook;
import dev.align4j.train.offline.Batching;
import dev.align4j.train.online.RolloutConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Flag groups that several trainers share, each declared once and mixed in where it applies. */
final class MethodFlags {
    private MethodFlags() {}

    /** A built-in task: the data source or prompts, and the held-out evaluation. */
    static final class TaskFlags {
        @Option(names = "--task", description = "Built-in task: arithmetic, sort, phrase, brief-arith, chain, cycle (its data or prompts, and the held-out evaluation).")
        String task;
        @Option(names = "--eval-prompts", defaultValue = "200", description = "Held-out prompts per evaluation (default: ${DEFAULT-VALUE}).")
        int evalPrompts;

        /** The task, or null when --task is not given. */
        Task task() { return task == null ? null : Task.byName(task); }

        /** Greedy held-out evaluation on the test split (null without a task): {@code gold_reward}, {@code accuracy}, {@code completion_length}. */
        EvalHook eval(Task t, HfModel.Loaded l, long seed) {
            if (t == null) return null;
            List<Task.Example> test = t.examples(Task.Split.TEST, evalPrompts, seed + 1);
            return step -> {
                Evaluator.Result r = Evaluator.evaluate(l.model(), l.tokenizer(), t, test, 100, false);
                return Map.of("gold_reward", r.reward(), "accuracy", r.accuracy(), "completion_length", r.length());
            };
        }
    }

    /** How offline methods read and batch a dataset. */
    static final class DataFlags {
        @Option(names = "--data", paramLabel = "FILE", description = "Training data (JSONL); see the command's description for its columns.")
        Path data;
        @Option(names = "--skip-invalid", description = "Skip (and count) malformed dataset lines instead of stopping.")
        boolean skipInvalid;
        @Option(names = "--batch-size", description = "Rows (pairs, lists) per micro-batch (default: ${DEFAULT-VALUE}).")
        int batchSize;
        @Option(names = "--max-length", description = "Longest prompt + completion in tokens (default: ${DEFAULT-VALUE}).")
        int maxLength;
        @Option(names = "--truncation", paramLabel = "MODE",
                description = "Which end of a prompt longer than --max-length allows survives (of a multi-turn conversation: which end of it): keep_end or keep_start (default: ${DEFAULT-VALUE}).")
        String truncation;


        /** What the model trains on, in words (for the model card). */
        String describe(TaskFlags t) { return data != null ? data.toString() : "data built from the built-in task '" + t.task + "'"; }

        /** Exactly one of --data and --task. */
        void requireOneSource(TaskFlags t) {
            if ((data == null) == (t.task == null)) throw new UserError("give exactly one of --data FILE or --task NAME");
        }

        /** The rows read, with skipped invalid lines reported. */
        <T> List<T> rows(String stage, Jsonl.Read<T> read) {
            if (read.skipped() > 0) System.err.println(stage + ": skipped " + read.skipped() + " invalid lines of " + data + " (first: " + read.problems().get(0) + ")");
            return read.rows();
        }
    }

    /** A user's prompt file (TRL's prompt-only rows): how it is read. Used as it is by best-of-n and eval. */
    static class PromptFileFlags {
        @Option(names = "--data", paramLabel = "FILE", description = {"Prompt-only JSONL instead of --task: {\"prompt\": \"…\"} or {\"prompt\": [{\"role\": \"user\", …}]};",
                "other columns (e.g. solution) go to the reward functions."})
        Path data;
        @Option(names = "--answer-column", split = ",", paramLabel = "NAME", description = "Columns holding the reference answer for 'answer' and 'partial', first present wins (default: answer,solution,ground_truth,reference).")
        List<String> answerColumns;
        @Option(names = "--skip-invalid", description = "Skip (and count) malformed prompt lines instead of stopping.")
        boolean skipInvalid;

        /** The prompts of {@code file}, rendered with the model's chat template when conversational. */
        List<dev.align4j.task.Task.Example> read(Path file, HfModel.Loaded l) { return read(file, l.tokenizer()); }

        List<dev.align4j.task.Task.Example> read(Path file, dev.align4j.model.Tokenizer tok) {
            var read = dev.align4j.task.PromptFile.read(file, skipInvalid, tok.chatTemplate(),
                    answerColumns == null ? dev.align4j.task.PromptFile.ANSWER_COLUMNS : answerColumns);
            if (read.skipped() > 0) System.err.println("prompts: skipped " + read.skipped() + " invalid lines of " + file + " (first: " + read.problems().get(0) + ")");
            return dev.align4j.task.PromptFile.require(file, read);
        }
    }

    /** Where online methods take their prompts from: a built-in task, or a user's prompt file, plus a held-out one. */
    static final class PromptFlags extends PromptFileFlags {
        @Option(names = "--eval-data", paramLabel = "FILE", description = "Held-out prompt file scored before and after training (with --data).")
        Path evalData;
    }

    /** How online methods sample each step. */
    static final class RolloutFlags {
        @Option(names = "--prompts-per-step", description = "Prompts per rollout (default: ${DEFAULT-VALUE}).")
        int promptsPerStep;
        @Option(names = {"--samples-per-prompt", "--group-size"}, description = "Completions per prompt, G (default: ${DEFAULT-VALUE}).")
        int samplesPerPrompt;
        @Option(names = "--max-new-tokens", description = "Generation budget (default: ${DEFAULT-VALUE}).")
        int maxNewTokens;
        @Option(names = "--temperature", description = "Rollout temperature (default: ${DEFAULT-VALUE}).")
        double temperature;
    }

    /** A value head's loss and support (PPO's critic, the value model): {@code loss.ValueLoss.Head}. */
    static final class ValueHeadFlags {
        @Option(names = "--value-loss", description = {"mse (regression), or a categorical head trained by cross-entropy (Farebrother et al. 2024):",
                "hl-gauss (Gaussian histogram target) or two-hot (default: ${DEFAULT-VALUE})."})
        String valueLoss;
        @Option(names = "--value-bins", description = "Bins of a categorical value head, B (default: ${DEFAULT-VALUE}).")
        int valueBins;
        @Option(names = "--value-range", split = ",", paramLabel = "MIN,MAX", description = "Support of a categorical value head; targets outside are clamped (default: ${DEFAULT-VALUE}).")
        List<Double> valueRange;
        @Option(names = "--hl-sigma-ratio", description = "HL-Gauss sigma in bin widths (the paper's 0.75) (default: ${DEFAULT-VALUE}).")
        double hlSigmaRatio;
    }

    /** The method's β: the KL / temperature coefficient its loss or reward uses. */
    /** Lagrangian constraints on reward functions ({@code train.online.Constraints}): grpo, rloo, reinforce++ and ppo. */
    static final class ConstraintFlags {
        @Option(names = "--constraint", paramLabel = "NAME>=X|NAME<=X", description = {"Constrain the mean of reward function NAME (one of --reward) instead of adding it:",
                "Lagrangian relaxation with a multiplier per constraint, raised while the constraint is violated (repeatable; e.g. --reward correct,brief --constraint brief>=0.9)."})
        java.util.List<String> constraints;
        @Option(names = "--dual-lr", defaultValue = "0.5", description = "Step size of the Lagrange multipliers, eta (default: ${DEFAULT-VALUE}).")
        double dualLr;
        @Option(names = "--lagrange-init", defaultValue = "0", description = "Every multiplier's start value (default: ${DEFAULT-VALUE}).")
        double lagrangeInit;

        /** The constraints, or null without --constraint; announced on stderr. */
        dev.align4j.train.online.Constraints build(String stage) {
            if (constraints == null) return null;
            var c = new dev.align4j.train.online.Constraints(constraints.stream().map(dev.align4j.train.online.Constraints.Constraint::parse).toList(), dualLr, lagrangeInit);
            System.err.printf("%s: constraints %s (dual lr %s, multipliers from %s)%n", stage, c.list(), dualLr, lagrangeInit);
            return c;
        }
    }

    static final class BetaFlag {
        @Option(names = "--beta", description = "The method's beta: KL coefficient or implicit-reward temperature (default: ${DEFAULT-VALUE}).")
        double beta;
    }
}
