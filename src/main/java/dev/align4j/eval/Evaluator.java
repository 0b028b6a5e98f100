package dev.align4j.eval;

import java.util.Map;

import java.util.LinkedHashMap;

import java.util.Arrays;

import dev.align4j.reward.Rewards;

import dev.align4j.reward.RewardFunction;

import dev.align4j.core.Progress;
import dev.align4j.generate.Completion;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.generate.Sampler;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Task;

import java.util.ArrayList;
import java.util.List;

/**
 * Held-out evaluation on a built-in task: greedy completions of the test prompts, scored by the gold
 * reward. Reports the mean gold reward, accuracy (share at the maximum reward), mean completion length
 * and each objective's mean.
 */
public final class Evaluator {
    private Evaluator() {}

    public record Sample(String prompt, String completion, double reward) {}

    public record Result(double reward, double accuracy, double length, double[] objectives, List<Sample> samples) {}

    public static Result evaluate(LlamaModel model, Tokenizer tok, Task task, List<Task.Example> test, int batchSize, boolean progress) {
        SamplingConfig cfg = SamplingConfig.greedy(Math.max(4, task.maxCompletionChars() + 4));
        double sum = 0, correct = 0, len = 0;
        double[] obj = new double[task.objectives().size()];
        List<Sample> samples = new ArrayList<>();
        Progress p = progress ? new Progress("eval", test.size()) : null;
        for (int i = 0; i < test.size(); i += batchSize) {
            List<Task.Example> chunk = test.subList(i, Math.min(test.size(), i + batchSize));
            List<int[]> prompts = new ArrayList<>();
            for (Task.Example e : chunk) prompts.add(tok.encode(e.prompt(), true));
            List<Completion> out = Sampler.generate(model, tok, prompts, cfg);
            for (int j = 0; j < chunk.size(); j++) {
                Task.Example e = chunk.get(j);
                String text = out.get(j).text();
                double r = task.reward(e, text);
                sum += r;
                if (task.correct(e, text)) correct++;
                len += out.get(j).tokens().length;
                double[] rv = task.rewards(e, text);
                for (int k = 0; k < obj.length; k++) obj[k] += rv[k];
                samples.add(new Sample(e.prompt(), text, r));
            }
            if (p != null) p.update(Math.min(test.size(), i + batchSize));
        }
        int n = Math.max(1, test.size());
        for (int k = 0; k < obj.length; k++) obj[k] /= n;
        return new Result(sum / n, correct / n, len / n, obj, samples);
    }

    /**
     * Held-out evaluation on a user's prompts, which have no gold reward: greedy completions scored by the run's reward
     * functions. Returns {@code reward} (the weighted total's mean), {@code reward/NAME} per component when there are
     * several, and {@code completion_length}.
     */
    public static Map<String, Double> evaluate(LlamaModel model, Tokenizer tok, List<Task.Example> test, Rewards.Weighted reward, int maxNewTokens, int batchSize) {
        SamplingConfig cfg = SamplingConfig.greedy(maxNewTokens);
        List<RewardFunction.Sample> samples = new ArrayList<>();
        for (int i = 0; i < test.size(); i += batchSize) {
            List<Task.Example> chunk = test.subList(i, Math.min(test.size(), i + batchSize));
            List<int[]> prompts = new ArrayList<>();
            for (Task.Example e : chunk) prompts.add(tok.encode(e.prompt(), true));
            List<Completion> out = Sampler.generate(model, tok, prompts, cfg);
            for (int j = 0; j < chunk.size(); j++)
                samples.add(new RewardFunction.Sample(chunk.get(j), out.get(j).text(), out.get(j).tokens().length, out.get(j).finishReason().equals("length")));
        }
        Rewards.Scored scored = reward.score(samples);
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("reward", Arrays.stream(scored.total()).average().orElse(0));
        if (scored.components().size() > 1) scored.componentMeans().forEach((k, v) -> m.put("reward/" + k, v));
        m.put("completion_length", samples.stream().mapToInt(RewardFunction.Sample::completionTokens).average().orElse(0));
        return m;
    }
}
