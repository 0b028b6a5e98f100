package dev.align4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.generate.Completion;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.generate.Sampler;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.*;

/**
 * GRPO and its variants (Dr. GRPO, DAPO's clip-higher / token-level loss / dynamic sampling, GSPO's
 * sequence ratio) and RLOO, on outcome rewards from a task's reward function. One readable loop per
 * round: sample prompts → G completions each → rewards → advantages → (old / reference log-probs) →
 * μ clipped policy-gradient updates → log. Shapes: N = B·G sequences, T completion positions.
 */
public final class GrpoTrainer {
    private GrpoTrainer() {}

    public record Result(double finalReward, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, Tokenizer tok, Task task, List<Task.Example> prompts,
                               GrpoConfig cfg, Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        if (cfg.beta() > 0 && reference == null) throw new IllegalArgumentException("beta > 0 needs a reference model");
        if (prompts.isEmpty()) throw new UserError("grpo: no prompts");
        int g = cfg.groupSize();
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps() * cfg.updatesPerRollout(), 0.1);
        Path lastCkpt = null;
        double lastReward = Double.NaN;
        StepEnd end = new StepEnd("grpo", cfg.steps(), 1, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        policy.requiresGrad(false);
        try (AdamW opt = new AdamW(policy.parameters(), cfg.weightDecay())) {
            JsonNode resumed = end.resume(resume, policy, opt);
            long start = resumed == null ? 0 : resumed.get("step").asLong();
            for (long step = start + 1; step <= cfg.steps(); step++) {
                // 1. rollout: B prompts (a fixed function of the step), G samples each
                Random pick = new Random(cfg.seed() * 7_919 + step);
                List<Task.Example> batch = new ArrayList<>();
                List<int[]> promptIds = new ArrayList<>();
                for (int i = 0; i < cfg.promptsPerStep(); i++) {
                    Task.Example e = prompts.get(pick.nextInt(prompts.size()));
                    batch.add(e);
                    int[] ids = tok.encode(e.prompt(), true);
                    for (int k = 0; k < g; k++) promptIds.add(ids);
                }
                List<Completion> outs = Sampler.generate(policy, tok, promptIds,
                        new SamplingConfig(cfg.maxNewTokens(), cfg.temperature(), 0, 1.0, cfg.seed() * 31 + step, List.of()));
                // 2. rewards and advantages
                int n = outs.size();
                double[] rewards = new double[n];
                double[][] components = new double[n][];
                double length = 0;
                for (int i = 0; i < n; i++) {
                    Task.Example e = batch.get(i / g);
                    rewards[i] = task.reward(e, outs.get(i).text());
                    components[i] = task.rewards(e, outs.get(i).text());
                    length += outs.get(i).tokens().length;
                }
                double[] adv = cfg.estimator() == GrpoConfig.Estimator.RLOO ? Advantages.rloo(rewards, g) : Advantages.grpo(rewards, g, cfg.scale());
                int zeroStdGroups = 0;
                List<Integer> keep = new ArrayList<>();
                for (int s = 0; s < n; s += g) {
                    boolean flat = Advantages.zeroStd(rewards, s, g);
                    if (flat) zeroStdGroups++;
                    if (!(flat && cfg.dynamicSampling())) for (int i = s; i < s + g; i++) keep.add(i);
                }
                Map<String, Double> m = new LinkedHashMap<>();
                double meanReward = Arrays.stream(rewards).average().orElse(0);
                m.put("reward", meanReward);
                m.put("reward_std", Advantages.std(rewards, 0, n));
                if (components[0].length > 1)
                    for (int k = 0; k < components[0].length; k++) {
                        double s = 0;
                        for (double[] c : components) s += c[k];
                        m.put("reward/" + task.objectives().get(k), s / n);
                    }
                m.put("frac_reward_zero_std", (double) zeroStdGroups / (n / g));
                m.put("completion_length", length / n);
                lastReward = meanReward;
                if (!keep.isEmpty()) {
                    // 3. the kept sequences as one right-padded batch; old and reference log-probs without gradients
                    List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
                    float[] a = new float[keep.size()];
                    for (int j = 0; j < keep.size(); j++) {
                        int i = keep.get(j);
                        p.add(promptIds.get(i));
                        c.add(outs.get(i).tokens().length == 0 ? new int[]{tok.padId} : outs.get(i).tokens());
                        a[j] = (float) adv[i];
                    }
                    try (PointerScope scope = new PointerScope()) {
                        SeqBatch sb = SeqBatch.of(p, c, tok.padId);
                        Tensor advT = Torch.floats(a, a.length);
                        Tensor oldLogp = null, refLogp = null;
                        try (NoGradGuard ng = new NoGradGuard()) {
                            if (cfg.updatesPerRollout() > 1) oldLogp = Scoring.score(policy, sb, false).tokenLogps();
                            if (cfg.beta() > 0) refLogp = Scoring.score(reference, sb, false).tokenLogps();
                        }
                        policy.requiresGrad(true);
                        double loss = 0, kl = 0, entropy = 0, clip = 0, gradNorm = 0;
                        for (int it = 0; it < cfg.updatesPerRollout(); it++) {
                            try (PointerScope inner = new PointerScope()) {
                                Scoring.Scores sc = Scoring.score(policy, sb, true);
                                Tensor logp = sc.tokenLogps(), mask = sc.mask();
                                Tensor old = oldLogp != null ? oldLogp : logp.detach();
                                Tensor klT = refLogp == null ? null : PolicyLoss.kl(logp, refLogp, cfg.kl());
                                PolicyLoss.Out o = PolicyLoss.clippedSurrogate(logp, old, advT, mask, cfg.epsLow(), cfg.epsHigh(),
                                        cfg.sequenceRatio(), klT, cfg.beta(), cfg.aggregation(), cfg.maxNewTokens());
                                o.loss().backward();
                                double tokens = Math.max(1, Torch.item(mask.sum()));
                                loss += Torch.item(o.loss()) / cfg.updatesPerRollout();
                                clip += o.clipFraction() / cfg.updatesPerRollout();
                                entropy += Torch.item(sc.entropy().sum()) / tokens / cfg.updatesPerRollout();
                                if (klT != null) kl += Torch.item(klT.detach().mul(mask).sum()) / tokens / cfg.updatesPerRollout();
                            }
                            gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                            if (!end.skip(step, loss, gradNorm, lastCkpt)) opt.step(schedule.at((step - 1) * cfg.updatesPerRollout() + it + 1));   // a skipped step only drops its gradients
                            opt.zeroGrad();
                        }
                        policy.requiresGrad(false);
                        m.put("loss", loss);
                        m.put("kl", kl);
                        m.put("entropy", entropy);
                        m.put("clip_ratio", clip);
                        m.put("grad_norm", gradNorm);
                    }
                }
                m.put("learning_rate", schedule.at(step * cfg.updatesPerRollout()));
                lastCkpt = end.finish(step, start + 1, m, policy, tok, opt, null, lastCkpt);
            }
        }
        return new Result(lastReward, lastCkpt);
    }
}
