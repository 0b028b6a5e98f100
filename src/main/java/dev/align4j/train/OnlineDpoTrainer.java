package dev.align4j.train;

import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.file.Path;
import java.util.*;

/**
 * Online DPO: each round samples two completions of every prompt from the current policy, ranks them with
 * the reward (a reward model, a verifier or the task's gold reward), and takes one DPO-family step on the
 * pairs that are not tied. The reference is the frozen starting policy.
 */
public final class OnlineDpoTrainer {
    private OnlineDpoTrainer() {}

    public record Result(double finalReward, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel reference, Tokenizer tok, Rewards.Weighted reward, List<Task.Example> prompts,
                               OnlineDpoConfig cfg, Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        if (prompts.isEmpty()) throw new UserError("online-dpo: no prompts");
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), cfg.steps(), 0.1);
        Path lastCkpt = null;
        double lastReward = Double.NaN;
        StepEnd end = new StepEnd("online-dpo", cfg.steps(), 1, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        policy.requiresGrad(false);
        try (AdamW opt = new AdamW(policy.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, policy, opt);
            long start = resumed.step();
            for (long step = start + 1; step <= cfg.steps(); step++) {
                // 1. two samples per prompt, scored
                GrpoTrainer.Rollout ro = GrpoTrainer.rollout(policy, tok, prompts, cfg.promptsPerStep(), 2, cfg.maxNewTokens(), cfg.temperature(), cfg.seed(), step);
                Rewards.Scored scored = reward.score(ro.samples());
                double[] r = scored.total();
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("reward", Arrays.stream(r).average().orElse(0));
                if (scored.components().size() > 1) scored.componentMeans().forEach((k, v) -> m.put("reward/" + k, v));
                m.put("completion_length", ro.meanLength());
                lastReward = m.get("reward");
                // 2. the better of each untied pair is chosen
                List<int[]> p = new ArrayList<>(), chosen = new ArrayList<>(), rejected = new ArrayList<>();
                for (int b = 0; b < cfg.promptsPerStep(); b++) {
                    int i = 2 * b, j = 2 * b + 1;
                    if (r[i] == r[j]) continue;
                    int w = r[i] > r[j] ? i : j, l = w == i ? j : i;
                    p.add(ro.promptIds().get(i));
                    chosen.add(ro.completionIds(w, tok));
                    rejected.add(ro.completionIds(l, tok));
                }
                m.put("frac_ties", 1.0 - (double) chosen.size() / cfg.promptsPerStep());
                if (!chosen.isEmpty()) {
                    int k = chosen.size();
                    List<int[]> prompts2 = new ArrayList<>(p), comps = new ArrayList<>(chosen);
                    prompts2.addAll(p);
                    comps.addAll(rejected);
                    boolean norm = cfg.loss().lengthNormalized();
                    try (PointerScope scope = new PointerScope()) {
                        SeqBatch sb = SeqBatch.of(prompts2, comps, tok.padId);           // rows 0..k−1 chosen, k..2k−1 rejected
                        Tensor refC, refR;
                        try (NoGradGuard ng = new NoGradGuard()) {
                            Scoring.Scores rs = Scoring.score(reference, sb, false);
                            Tensor x = norm ? rs.mean() : rs.sum();
                            refC = x.narrow(0, 0, k).clone();
                            refR = x.narrow(0, k, k).clone();
                        }
                        policy.requiresGrad(true);
                        Scoring.Scores s = Scoring.score(policy, sb, false);
                        Tensor x = norm ? s.mean() : s.sum();
                        PreferenceLoss.Out o = PreferenceLoss.compute(cfg.loss(), x.narrow(0, 0, k), x.narrow(0, k, k), refC, refR,
                                cfg.beta(), cfg.labelSmoothing(), 0);
                        Tensor loss = o.losses().mean();
                        loss.backward();
                        policy.requiresGrad(false);
                        m.put("loss", Torch.item(loss));
                        m.put("rewards/chosen", Torch.item(o.chosenRewards().mean()));
                        m.put("rewards/rejected", Torch.item(o.rejectedRewards().mean()));
                        m.put("rewards/accuracies", Torch.item(o.chosenRewards().gt(o.rejectedRewards()).to(ScalarType.Float).mean()));
                        m.put("rewards/margins", Torch.item(o.chosenRewards().sub(o.rejectedRewards()).mean()));
                        m.put("logps/chosen", Torch.item(s.sum().narrow(0, 0, k).mean()));
                        m.put("logps/rejected", Torch.item(s.sum().narrow(0, k, k).mean()));
                    }
                    double gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                    if (!end.skip(step, m.get("loss"), gradNorm, lastCkpt)) opt.step(schedule.at(step));   // a skipped step only drops its gradients
                    opt.zeroGrad();
                    m.put("grad_norm", gradNorm);
                }
                m.put("learning_rate", schedule.at(step));
                lastCkpt = end.finish(step, start + 1, m, policy, tok, opt, null, lastCkpt);
            }
        }
        return new Result(lastReward, lastCkpt);
    }
}
