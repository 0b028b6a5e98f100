package dev.align4j.cli;

import dev.align4j.data.Jsonl;
import dev.align4j.task.JudgeData;
import dev.align4j.task.Task;
import dev.align4j.task.TaskData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "export", description = {"Write a built-in task as a JSONL dataset in the formats users bring:",
        "sft, prompts, preference, unpaired, ranked, ratings, multi (preference with score vectors),",
        "stepwise (TRL's stepwise supervision: prompt, completions = the steps, labels = one true/false per step; --task chain),",
        "judge (judge prompt → Yes/No as prompt-completion rows, with label, critique, task_prompt, response) and judge-pairs",
        "(two responses → A/B); --critique puts the gold critique before the verdict ('digit 2 is 3, should be 2 => No').",
        "Example: ./align4j export --task phrase --format preference --n 2000 --output data/phrase-pairs.jsonl",
        "Example: ./align4j export --task chain --format stepwise --output data/chain-steps.jsonl",
        "Example: ./align4j export --task arithmetic --format judge --critique --error-rate 0.5 --output data/arith-judge.jsonl"})
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--task", required = true, description = "arithmetic, sort, phrase, brief-arith or chain.")
    String task;
    @Option(names = "--format", required = true, description = "sft, prompts, preference, unpaired, ranked, ratings, multi, stepwise, judge, judge-pairs.")
    String format;
    @Option(names = "--n", defaultValue = "1000", description = "Rows (default: ${DEFAULT-VALUE}).")
    int n;
    @Option(names = "--split", defaultValue = "train", description = "train or test (default: ${DEFAULT-VALUE}).")
    String split;
    @Option(names = "--error-rate", defaultValue = "0.3", description = "Share of flawed demonstrations (default: ${DEFAULT-VALUE}).")
    double errorRate;
    @Option(names = "--annotator-temperature", defaultValue = "0.1", description = "Annotator noise; 0 = perfect (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--critique", description = "judge, judge-pairs: the gold critique, then ' => ', then the verdict (CLoud's critique-then-verdict).")
    boolean critique;
    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--output", required = true, paramLabel = "FILE", description = "JSONL file to write (atomically).")
    Path output;

    @Override
    public Integer call() {
        Task.Split s = switch (split) {
            case "train" -> Task.Split.TRAIN;
            case "test" -> Task.Split.TEST;
            default -> throw new dev.align4j.core.UserError("--split " + split + ": expected train or test");
        };
        if (critique && !format.startsWith("judge")) throw new dev.align4j.core.UserError("--critique is for --format judge or judge-pairs, not " + format);
        var rows = switch (format) {
            case "judge" -> JudgeData.export(Task.byName(task), JudgeData.Mode.POINTWISE, critique, s, n, errorRate, seed);
            case "judge-pairs" -> JudgeData.export(Task.byName(task), JudgeData.Mode.PAIRWISE, critique, s, n, errorRate, seed);
            default -> TaskData.export(Task.byName(task), format, s, n, errorRate, temperature, seed);
        };
        Jsonl.write(output, rows);
        System.err.println("export: " + rows.size() + " rows -> " + output);
        return 0;
    }
}
