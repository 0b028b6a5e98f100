package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.PolicyLoss;
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

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * PPO with a critic (Schulman et al. 2017), in the RLHF form of Ziegler et al. (2019) and Ouyang et al.
 * (2022): the per-token reward is −β·(log π_old − log π_ref) with the sequence's score added on its last
 * token; GAE(γ, λ) over the critic's values gives advantages (whitened over the batch) and returns; then
 * several epochs of minibatches update the policy (clipped surrogate) and the critic (clipped value loss).
 * β follows a fixed or adaptive KL controller. The critic is a separate model (by default the policy's trunk
 * with a fresh value head) and is saved in each checkpoint under {@code critic/}.
 */
public final class PpoTrainer {
    private PpoTrainer() {}

    public record Result(double finalReward, double finalBeta, Path lastCheckpoint) {}

    public static Result train(LlamaModel policy, LlamaModel critic, LlamaModel reference, Tokenizer tok, Rewards.Weighted reward,
                               List<Task.Example> prompts, PpoConfig cfg, Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        if (cfg.beta() > 0 && reference == null) throw new IllegalArgumentException("beta > 0 needs a reference model");
        if (critic.config.numLabels() != 1) throw new IllegalArgumentException("the critic needs exactly one value head");
        if (prompts.isEmpty()) throw new UserError("ppo: no prompts");
        int updates = cfg.steps() * cfg.epochs() * cfg.miniBatches();
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), updates, 0.1);
        LrSchedule criticSchedule = new LrSchedule(cfg.criticLr(), cfg.warmupSteps(), updates, 0.1);
        Path lastCkpt = null;
        double lastReward = Double.NaN, beta = cfg.beta();
        StepEnd end = new StepEnd("ppo", cfg.steps(), 1, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        policy.requiresGrad(false);
        critic.requiresGrad(false);
        try (AdamW opt = new AdamW(policy.parameters(), cfg.weightDecay()); AdamW criticOpt = new AdamW(critic.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, policy, opt);
            long start = resumed.step();
            beta = resumed.state().path("kl_coef").asDouble(beta);
            if (resumed.checkpoint() != null) {
                Path critics = resumed.checkpoint().resolve("critic");
                if (!Files.exists(critics.resolve("trainer_state.json"))) throw new UserError(resumed.checkpoint() + ": PPO checkpoint without critic/");
                Checkpoints.restore(critics, critic, criticOpt);
            }
            long update = start * cfg.epochs() * cfg.miniBatches();
            for (long step = start + 1; step <= cfg.steps(); step++) {
                // 1. rollout and scores
                GrpoTrainer.Rollout ro = GrpoTrainer.rollout(policy, tok, prompts, cfg.promptsPerStep(), cfg.samplesPerPrompt(),
                        cfg.maxNewTokens(), cfg.temperature(), cfg.seed(), step);
                Rewards.Scored scored = reward.score(ro.samples());
                double[] scores = scored.total();
                int n = scores.length;
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("reward", Arrays.stream(scores).average().orElse(0));
                m.put("reward_std", Advantages.std(scores, 0, n));
                if (scored.components().size() > 1) scored.componentMeans().forEach((k, v) -> m.put("reward/" + k, v));
                m.put("completion_length", ro.meanLength());
                lastReward = m.get("reward");
                List<int[]> p = new ArrayList<>(ro.promptIds()), c = new ArrayList<>();
                for (int i = 0; i < n; i++) c.add(ro.completionIds(i, tok));
                int[] lengths = new int[n], offsets = new int[n];
                for (int i = 0; i < n; i++) { lengths[i] = c.get(i).length; offsets[i] = p.get(i).length - 1; }
                // 2. old log-probs, reference log-probs and values, without gradients, as (N)(len) arrays
                double[][] old, kl = new double[n][], values;
                try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                    SeqBatch sb = SeqBatch.of(p, c, tok.padId);
                    old = TokenRows.rows(Scoring.score(policy, sb, false).tokenLogps(), offsets, lengths);
                    double[][] ref = beta > 0 ? TokenRows.rows(Scoring.score(reference, sb, false).tokenLogps(), offsets, lengths) : null;
                    values = TokenRows.rows(Scoring.tokenValues(critic, sb), offsets, lengths);
                    for (int i = 0; i < n; i++) {
                        kl[i] = new double[lengths[i]];
                        for (int u = 0; u < lengths[i] && ref != null; u++) kl[i][u] = old[i][u] - ref[i][u];
                    }
                }
                // 3. per-token rewards → GAE advantages and returns
                double[][] tokenRewards = new double[n][];
                double klMean = 0;
                for (int i = 0; i < n; i++) {
                    tokenRewards[i] = new double[lengths[i]];
                    double seqKl = 0;
                    for (int u = 0; u < lengths[i]; u++) { tokenRewards[i][u] = -beta * kl[i][u]; seqKl += kl[i][u]; }
                    tokenRewards[i][lengths[i] - 1] += scores[i];
                    klMean += seqKl / n;
                }
                double[][][] ar = Advantages.gae(tokenRewards, values, lengths, cfg.gamma(), cfg.lambda());
                double[][] adv = cfg.whiten() ? Advantages.whiten(ar[0], lengths) : ar[0], ret = ar[1];
                m.put("kl", klMean);
                m.put("kl_coef", beta);
                m.put("explained_variance", explainedVariance(ret, values, lengths));
                // 4. epochs × minibatches of policy and critic updates
                double loss = 0, vloss = 0, clip = 0, vclip = 0, approxKl = 0, entropy = 0, gradNorm = 0;
                int mbs = cfg.epochs() * cfg.miniBatches();
                Random shuffle = new Random(cfg.seed() * 104_729 + step);
                for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
                    List<Integer> order = new ArrayList<>();
                    for (int i = 0; i < n; i++) order.add(i);
                    Collections.shuffle(order, shuffle);
                    for (int mb = 0; mb < cfg.miniBatches(); mb++) {
                        List<Integer> idx = order.subList(mb * n / cfg.miniBatches(), (mb + 1) * n / cfg.miniBatches());
                        update++;
                        policy.requiresGrad(true);
                        critic.requiresGrad(true);
                        try (PointerScope scope = new PointerScope()) {
                            List<int[]> mp = new ArrayList<>(), mc = new ArrayList<>();
                            for (int i : idx) { mp.add(p.get(i)); mc.add(c.get(i)); }
                            SeqBatch sb = SeqBatch.of(mp, mc, tok.padId);
                            long t = sb.length() - 1;
                            Tensor oldT = TokenRows.dense(old, idx, offsets, lengths, t), advT = TokenRows.dense(adv, idx, offsets, lengths, t);
                            Tensor retT = TokenRows.dense(ret, idx, offsets, lengths, t), valT = TokenRows.dense(values, idx, offsets, lengths, t);
                            Scoring.Scores sc = Scoring.score(policy, sb, true);
                            PolicyLoss.Out o = PolicyLoss.clippedSurrogate(sc.tokenLogps(), oldT, advT, sc.mask(), cfg.clip(), cfg.clip(),
                                    false, null, 0, PolicyLoss.Aggregation.TOKEN_MEAN, cfg.maxNewTokens());
                            PolicyLoss.ValueOut v = PolicyLoss.valueLoss(Scoring.tokenValues(critic, sb), valT, retT, sc.mask(), cfg.valueClip());
                            o.loss().backward();
                            v.loss().backward();
                            double tokens = Math.max(1, Torch.item(sc.mask().sum()));
                            // approx_kl = mean over tokens of ½ (log π − log π_old)²  (Schulman's k2 estimate)
                            Tensor lr = sc.tokenLogps().detach().sub(oldT);
                            approxKl += Torch.item(lr.mul(lr).mul(sc.mask()).sum()) / tokens / 2 / mbs;
                            loss += Torch.item(o.loss()) / mbs;
                            vloss += Torch.item(v.loss()) / mbs;
                            clip += o.clipFraction() / mbs;
                            vclip += v.clipFraction() / mbs;
                            entropy += Torch.item(sc.entropy().sum()) / tokens / mbs;
                        }
                        policy.requiresGrad(false);
                        critic.requiresGrad(false);
                        gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                        double criticNorm = criticOpt.clipGradNorm(cfg.maxGradNorm());
                        if (!end.skip(step, loss + vloss, gradNorm + criticNorm, lastCkpt)) {   // a skipped step only drops its gradients
                            opt.step(schedule.at(update));
                            criticOpt.step(criticSchedule.at(update));
                        }
                        opt.zeroGrad();
                        criticOpt.zeroGrad();
                    }
                }
                m.put("loss", loss);
                m.put("value_loss", vloss);
                m.put("approx_kl", approxKl);
                m.put("entropy", entropy);
                m.put("clip_ratio", clip);
                m.put("value_clip_ratio", vclip);
                m.put("grad_norm", gradNorm);
                m.put("learning_rate", schedule.at(update));
                // 5. adaptive KL controller
                if (cfg.klTarget() > 0) beta = Advantages.adaptiveKl(beta, klMean, cfg.klTarget(), n, cfg.klHorizon());
                ObjectNode extra = Json.object();
                extra.put("kl_coef", beta);
                lastCkpt = end.finish(step, start + 1, m, policy, tok, opt, extra, lastCkpt,
                        dir -> Checkpoints.saveModel(dir.resolve("critic"), critic, tok, criticOpt));
            }
        }
        return new Result(lastReward, beta, lastCkpt);
    }

    /** 1 − Var(R − V) / Var(R) over all completion tokens: 1 = the critic predicts the returns perfectly. */
    static double explainedVariance(double[][] returns, double[][] values, int[] lengths) {
        double sr = 0, srr = 0, sd = 0, sdd = 0;
        long k = 0;
        for (int i = 0; i < lengths.length; i++)
            for (int u = 0; u < lengths[i]; u++) {
                double r = returns[i][u], d = r - values[i][u];
                sr += r; srr += r * r; sd += d; sdd += d * d; k++;
            }
        if (k == 0) return Double.NaN;
        double varR = srr / k - (sr / k) * (sr / k), varD = sdd / k - (sd / k) * (sd / k);
        return varR <= 0 ? Double.NaN : 1 - varD / varR;
    }
}
