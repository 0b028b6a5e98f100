package dev.align4j.cli;

import dev.align4j.reward.Judge;
import dev.align4j.reward.Judges;
import dev.align4j.task.Task;
import picocli.CommandLine.Option;

/**
 * How a general-preference trainer (sppo, nash-md, inpo, dno, spo) gets its pairwise feedback: {@code --judge gold} (a
 * built-in task's gold preference), {@code pm:DIR} (a model from {@code preference-model}) or {@code rm:DIR} (a
 * Bradley–Terry reward model, σ(r(a) − r(b))). Mix it in with {@code @Mixin JudgeFlags jf = new JudgeFlags();}.
 */
final class JudgeFlags {
    @Option(names = "--judge", defaultValue = "gold", paramLabel = "SPEC",
            description = "Pairwise judge P(a > b): gold (the task's gold preference), pm:DIR (preference-model output), rm:DIR (a Bradley-Terry reward model) or judge:DIR (a generative judge from ./align4j judge) (default: ${DEFAULT-VALUE}).")
    String judge = "gold";
    @Option(names = "--judge-temperature", defaultValue = "0.1", description = "For --judge gold on a transitive task: the annotator's tau in sigmoid((r_a - r_b)/tau) (default: ${DEFAULT-VALUE}).")
    double temperature = 0.1;

    /** The judge (close it to free a model's weights); {@code task} is null for a user's prompt file. */
    Judge build(Task task) { return Judges.parse(judge, task, temperature); }
}
