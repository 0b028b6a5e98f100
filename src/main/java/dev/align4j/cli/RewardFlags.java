package dev.align4j.cli;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import dev.align4j.reward.ExternalRewards;
import dev.align4j.reward.GenerativeJudge;
import dev.align4j.reward.ProcessRewards;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** How online trainers score rollouts: a weighted combination of reward functions, each reported separately. */
final class RewardFlags {
    @Option(names = "--reward", split = ",", paramLabel = "NAME[:W]",
            description = {"Reward functions and weights, e.g. gold:1,overlong:0.5 (default: gold with --task, answer with --data). Names:",
                    "gold (the task's reward), answer (extracted answer vs reference, --answer-tolerance), partial (right-aligned",
                    "character agreement with the reference), format (--format-regex), length (-coef * tokens), overlong (DAPO's",
                    "soft punishment, --overlong-buffer), rm (--reward-model), prm (a process reward model, --prm-model, steps",
                    "aggregated by --prm-aggregate), json (the completion is JSON, --json-schema),",
                    "cmd (a process speaking JSONL on stdin/stdout, --reward-command), http (a JSON POST endpoint, --reward-url),",
                    "judge:DIR[:W] (a generative judge from ./align4j judge: P(Yes) / (P(Yes) + P(No)))."})
    List<String> reward;
    @Option(names = "--answer-regex", description = "How 'answer' extracts the answer: the last match (group 1 if any); default: the last number.")
    String answerRegex;
    @Option(names = "--answer-tolerance", defaultValue = "0", description = "Relative numeric tolerance of 'answer' (default: ${DEFAULT-VALUE}).")
    double answerTolerance;
    @Option(names = "--format-regex", description = "The first line must match this for 'format' to give 1.")
    String formatRegex;
    @Option(names = "--length-penalty", defaultValue = "0.01", description = "Per-token coefficient of 'length' (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;
    @Option(names = "--overlong-buffer", defaultValue = "0", description = "DAPO's L_cache for 'overlong'; 0 = a quarter of --max-new-tokens.")
    int overlongBuffer;
    @Option(names = "--reward-model", paramLabel = "DIR", description = "A reward model (*ForSequenceClassification) for 'rm'.")
    Path rewardModel;
    @Option(names = "--reward-model-head", defaultValue = "0", description = "Which head of a multi-head reward model (default: ${DEFAULT-VALUE}).")
    int rewardModelHead;
    @Option(names = "--prm-model", paramLabel = "DIR", description = "A process reward model (*ForTokenClassification, from ./align4j prm) for 'prm'.")
    Path prmModel;
    @Option(names = "--prm-aggregate", defaultValue = "min", description = {"How 'prm' turns step probabilities into one reward: min (the weakest step, Math-Shepherd),",
            "product (all steps right, Lightman et al.), last (the last step), mean (default: ${DEFAULT-VALUE})."})
    String prmAggregate;
    @Option(names = "--json-schema", paramLabel = "FILE", description = "JSON schema the completion must satisfy for 'json' (type, properties, required, items, enum, …).")
    Path jsonSchema;
    @Option(names = "--reward-command", paramLabel = "CMD", description = {"For 'cmd': a command (run by /bin/sh -c) that reads one JSON request per line on stdin,",
            "{\"prompts\": [...], \"completions\": [...], <each extra data column>: [...]}, and answers {\"rewards\": [...]} on one line."})
    String rewardCommand;
    @Option(names = "--reward-url", paramLabel = "URL", description = "For 'http': an endpoint that answers the same JSON request, POSTed, with {\"rewards\": [...]}.")
    String rewardUrl;
    @Option(names = "--reward-timeout", defaultValue = "60", paramLabel = "SECONDS", description = "How long 'cmd' or 'http' may take for one batch; one retry, then the run stops (default: ${DEFAULT-VALUE}).")
    int rewardTimeout;

    /**
     * The combined reward; a reward model or process, if any, is started here (close the result to stop it). {@code task}
     * is null for a user's prompt file: there is no gold reward then, and the default becomes {@code answer}.
     */
    Rewards.Weighted build(Task task, int maxNewTokens) {
        List<String> reward = this.reward != null ? this.reward : List.of(task != null ? "gold" : "answer");
        List<RewardFunction> fns = new ArrayList<>();
        double[] w = new double[reward.size()];
        for (int i = 0; i < reward.size(); i++) {
            String[] nw = reward.get(i).trim().split(":", 2);
            if (nw[0].equals("judge")) {                                   // judge:DIR or judge:DIR:W — the DIR may not be a number
                String[] dw = judgeSpec(reward.get(i).trim());
                w[i] = dw[1] == null ? 1.0 : Double.parseDouble(dw[1]);
                fns.add(GenerativeJudge.load(Path.of(dw[0])).reward("judge"));
                continue;
            }
            try {
                w[i] = nw.length > 1 ? Double.parseDouble(nw[1]) : 1.0;
            } catch (NumberFormatException e) {
                throw new UserError("--reward " + reward.get(i) + ": weight '" + nw[1] + "' is not a number");
            }
            if (task != null && task.objectives().size() > 1 && task.objectives().contains(nw[0])) {      // one objective of a multi-objective task
                fns.add(Rewards.objective(task, nw[0]));
                continue;
            }
            fns.add(switch (nw[0]) {
                case "gold" -> {
                    if (task == null) throw new UserError("--reward gold needs --task; a prompt file is scored with answer, partial, format, json, cmd, http, rm or prm");
                    yield Rewards.gold(task);
                }
                case "json" -> Rewards.json(jsonSchema == null ? null : dev.align4j.core.Json.read(jsonSchema));
                case "cmd" -> {
                    if (rewardCommand == null) throw new UserError("--reward cmd needs --reward-command CMD");
                    yield ExternalRewards.process("cmd", rewardCommand, Duration.ofSeconds(rewardTimeout));
                }
                case "http" -> {
                    if (rewardUrl == null) throw new UserError("--reward http needs --reward-url URL");
                    yield ExternalRewards.http("http", rewardUrl, Duration.ofSeconds(rewardTimeout));
                }
                case "answer" -> Rewards.answerMatch(answerRegex == null ? Rewards.LAST_NUMBER : compile(answerRegex), answerTolerance);
                case "partial" -> Rewards.partial();
                case "format" -> {
                    if (formatRegex == null) throw new UserError("--reward format needs --format-regex");
                    yield Rewards.format(formatRegex);
                }
                case "length" -> Rewards.lengthPenalty(lengthPenalty);
                case "overlong" -> Rewards.overlong(maxNewTokens, overlongBuffer > 0 ? overlongBuffer : Math.max(1, maxNewTokens / 4));
                case "rm" -> {
                    if (rewardModel == null) throw new UserError("--reward rm needs --reward-model DIR");
                    HfModel.Loaded rm = HfModel.load(rewardModel, Torch.dtype("float32"));
                    yield Rewards.model("rm", rm.model(), rm.tokenizer(), rewardModelHead, 32, 1024);
                }
                case "prm" -> {
                    if (prmModel == null) throw new UserError("--reward prm needs --prm-model DIR (a process reward model from ./align4j prm)");
                    ProcessRewards.Aggregate how = ProcessRewards.Aggregate.parse(prmAggregate);
                    yield ProcessRewards.load(prmModel, Torch.dtype("float32")).reward(how);
                }
                default -> throw new UserError("--reward " + nw[0] + ": unknown reward function; expected gold, answer, partial, format, length, overlong, rm, prm, json, cmd, http, judge:DIR"
                        + (task != null && task.objectives().size() > 1 ? " or one of the task's objectives " + String.join(", ", task.objectives()) : ""));
            });
        }
        return new Rewards.Weighted(fns, w);
    }

    /**
     * {@code judge:DIR} or {@code judge:DIR:W} → {DIR, W or null}. A trailing {@code :NUMBER} is a weight unless DIR:NUMBER
     * is itself a directory.
     */
    static String[] judgeSpec(String spec) {
        String rest = spec.substring("judge".length());
        if (!rest.startsWith(":") || rest.length() < 2) throw new UserError("--reward " + spec + ": expected judge:DIR (a directory saved by ./align4j judge), optionally judge:DIR:WEIGHT");
        rest = rest.substring(1);
        int colon = rest.lastIndexOf(':');
        if (colon > 0 && !java.nio.file.Files.isDirectory(Path.of(rest)) && rest.substring(colon + 1).matches("[-+]?\\d*\\.?\\d+([eE][-+]?\\d+)?"))
            return new String[]{rest.substring(0, colon), rest.substring(colon + 1)};
        return new String[]{rest, null};
    }

    static Pattern compile(String regex) {
        try {
            return Pattern.compile(regex);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new UserError("--answer-regex '" + regex + "': not a valid regular expression: " + e.getDescription());
        }
    }
}
