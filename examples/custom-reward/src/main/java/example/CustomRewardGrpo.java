package example;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.Session;
import dev.align4j.train.online.Grpo;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * GRPO with a reward written in Java, using align4j as a library. The reward is a plain function of each sampled
 * completion (and its prompt row); here it asks for answers made of vowels only. Swap in your own checker: a unit-test
 * runner, a regex, a call into your service. Prompts would normally come from your files
 * ({@code PromptFile.read(path, false, tokenizer.chatTemplate(), PromptFile.ANSWER_COLUMNS)}).
 */
public final class CustomRewardGrpo {
    /** The reward: the share of vowels in the completion (1 for "aeiou", 0 for "xyz"). Batched: one call per rollout. */
    static final RewardFunction VOWELS = new RewardFunction() {
        public String name() { return "vowels"; }

        public double[] score(List<Sample> samples) {
            double[] out = new double[samples.size()];
            for (int i = 0; i < out.length; i++) {
                String c = samples.get(i).completion();
                out[i] = c.isEmpty() ? 0 : c.chars().filter(ch -> "aeiou".indexOf(ch) >= 0).count() / (double) c.length();
            }
            return out;
        }
    };

    /** Trains a fresh nano model for {@code steps} GRPO steps into {@code out}; returns the mean reward of the first and the last three steps. */
    public static double[] run(Path out, int steps) throws Exception {
        Torch.init();
        Files.createDirectories(out);
        Tokenizer tok = Tokenizer.writeBuiltin(out.resolve("tokenizer"));
        ModelConfig nano = ModelConfig.builtin("nano", Tokenizer.BUILTIN_VOCAB, Tokenizer.BUILTIN_BOS, new int[]{Tokenizer.BUILTIN_EOS}, Tokenizer.BUILTIN_PAD);
        List<Task.Example> prompts = new ArrayList<>();
        for (char c = 'b'; c <= 'z'; c++) prompts.add(new Task.Example("say " + c + ":", ""));
        Grpo.Config cfg = Configs.with(Grpo.Config.DEFAULTS, "steps", steps, "promptsPerStep", 4, "samplesPerPrompt", 8, "maxNewTokens", 4, "lr", 2e-2, "warmupSteps", 0, "updatesPerRollout", 2);
        try (LlamaModel policy = LlamaModel.init(nano, 0, ScalarType.Float); Metrics metrics = new Metrics(out.resolve("run")).quiet(true)) {
            Grpo.train(policy, null, Rewards.Weighted.of(VOWELS), prompts, cfg, Session.inMemory(tok).withMetrics(metrics));
            double[][] r = metrics.series("grpo", "reward");
            double early = (r[0][1] + r[1][1] + r[2][1]) / 3, late = (r[r.length - 1][1] + r[r.length - 2][1] + r[r.length - 3][1]) / 3;
            return new double[]{early, late};
        }
    }

    public static void main(String[] args) throws Exception {
        double[] r = run(Path.of(args.length > 0 ? args[0] : "out/custom-reward"), args.length > 1 ? Integer.parseInt(args[1]) : 30);
        System.out.printf("mean reward of the first 3 steps %.3f, of the last 3 %.3f%n", r[0], r[1]);
    }
}
