package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Safetensors;
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
 * β follows a fixed or adaptive KL controller.
 *
 * <p>The value function is either a separate critic model (by default a copy of the policy's trunk with a fresh
 * value head; saved in each checkpoint under {@code critic/} with its own optimizer), or, with
 * {@link PpoConfig#sharedTrunk()}, a linear value head on the policy's own final hidden states: one forward
 * gives log-probs and values, one optimizer steps both on {@code policy_loss + vf_coef · value_loss}, and the
 * head ({@code v_head.summary.weight}, TRL's name) is saved in each checkpoint as {@code value_head.safetensors}
 * while its Adam moments travel in the checkpoint's optimizer state.
 */
public final class PpoTrainer {
    private PpoTrainer() {}

    /** The shared-trunk value head's tensor name, as in TRL's {@code AutoModelForCausalLMWithValueHead}. */
    public static final String VALUE_HEAD = "v_head.summary.weight";
    public static final String VALUE_HEAD_FILE = "value_head.safetensors";

    public record Result(double finalReward, double finalBeta, Path lastCheckpoint) {}

    /** Per-token log-probs (and entropy) of the policy and the values, from one trunk pass when it is shared. */
    private record Forward(Scoring.Scores scores, Tensor values) {}

    private static Forward forward(LlamaModel policy, LlamaModel critic, Tensor valueHead, SeqBatch sb, boolean entropy) {
        if (valueHead == null) return new Forward(Scoring.score(policy, sb, entropy), Scoring.tokenValues(critic, sb));
        Tensor h = policy.hidden(sb.ids(), null, null);                                  // (B, T, H), one pass for both heads
        return new Forward(Scoring.fromLogits(policy.lmHead(h), sb, entropy, false),
                Scoring.tokenValues(h, x -> org.bytedeco.pytorch.global.torch.linear(x, valueHead), sb));
    }

    /**
     * @param critic a separate critic (one score head), or null when {@code cfg.sharedTrunk()}: then a value head
     *               is created on the policy's trunk (seeded by {@code cfg.seed()}) or restored from the checkpoint
     */
    public static Result train(LlamaModel policy, LlamaModel critic, LlamaModel reference, Tokenizer tok, Rewards.Weighted reward,
                               List<Task.Example> prompts, PpoConfig cfg, Path output, Metrics metrics, SftTrainer.EvalHook eval, Path resume) {
        if (cfg.beta() > 0 && reference == null) throw new IllegalArgumentException("beta > 0 needs a reference model");
        if (cfg.sharedTrunk() != (critic == null)) throw new IllegalArgumentException("a separate critic exactly when the trunk is not shared");
        if (critic != null && critic.config.numLabels() != 1) throw new IllegalArgumentException("the critic needs exactly one value head");
        if (prompts.isEmpty()) throw new UserError("ppo: no prompts");
        int updates = cfg.steps() * cfg.epochs() * cfg.miniBatches();
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps(), updates, 0.1);
        LrSchedule criticSchedule = new LrSchedule(cfg.criticLr(), cfg.warmupSteps(), updates, 0.1);
        Path lastCkpt = null;
        double lastReward = Double.NaN, beta = cfg.beta();
        StepEnd end = new StepEnd("ppo", cfg.steps(), 1, cfg.evalEvery(), cfg.saveEvery(), cfg.keep(), output, metrics, eval, cfg.toJson(), cfg.onNonFinite());
        Tensor valueHead = cfg.sharedTrunk() ? newValueHead(policy, cfg.seed()) : null;
        Map<String, Tensor> trained = new LinkedHashMap<>(policy.parameters());
        if (valueHead != null) trained.put(VALUE_HEAD, valueHead);
        setRequiresGrad(trained, critic, false);
        if (output != null) requireSameValueFunction(Checkpoints.resolve(output, resume), cfg.sharedTrunk());
        try (AdamW opt = new AdamW(trained, cfg.weightDecay()); AdamW criticOpt = critic == null ? null : new AdamW(critic.parameters(), cfg.weightDecay())) {
            StepEnd.Resumed resumed = end.resume(resume, policy, opt);
            long start = resumed.step();
            beta = resumed.state().path("kl_coef").asDouble(beta);
            if (resumed.checkpoint() != null) restoreValueFunction(resumed.checkpoint(), critic, criticOpt, valueHead);
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
                    values = TokenRows.rows(forward(policy, critic, valueHead, sb, false).values(), offsets, lengths);
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
                        setRequiresGrad(trained, critic, true);
                        try (PointerScope scope = new PointerScope()) {
                            List<int[]> mp = new ArrayList<>(), mc = new ArrayList<>();
                            for (int i : idx) { mp.add(p.get(i)); mc.add(c.get(i)); }
                            SeqBatch sb = SeqBatch.of(mp, mc, tok.padId);
                            long t = sb.length() - 1;
                            Tensor oldT = TokenRows.dense(old, idx, offsets, lengths, t), advT = TokenRows.dense(adv, idx, offsets, lengths, t);
                            Tensor retT = TokenRows.dense(ret, idx, offsets, lengths, t), valT = TokenRows.dense(values, idx, offsets, lengths, t);
                            Forward fw = forward(policy, critic, valueHead, sb, true);
                            Scoring.Scores sc = fw.scores();
                            PolicyLoss.Out o = PolicyLoss.clippedSurrogate(sc.tokenLogps(), oldT, advT, sc.mask(), cfg.clip(), cfg.clip(),
                                    false, null, 0, PolicyLoss.Aggregation.TOKEN_MEAN, cfg.maxNewTokens());
                            PolicyLoss.ValueOut v = PolicyLoss.valueLoss(fw.values(), valT, retT, sc.mask(), cfg.valueClip());
                            if (valueHead != null) o.loss().add(v.loss().mul(Torch.s(cfg.vfCoef()))).backward();   // one trunk, one backward
                            else {
                                o.loss().backward();
                                v.loss().backward();
                            }
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
                        setRequiresGrad(trained, critic, false);
                        gradNorm = opt.clipGradNorm(cfg.maxGradNorm());
                        double criticNorm = criticOpt == null ? 0 : criticOpt.clipGradNorm(cfg.maxGradNorm());
                        if (!end.skip(step, loss + vloss, gradNorm + criticNorm, lastCkpt)) {   // a skipped step only drops its gradients
                            opt.step(schedule.at(update));
                            if (criticOpt != null) criticOpt.step(criticSchedule.at(update));
                        }
                        opt.zeroGrad();
                        if (criticOpt != null) criticOpt.zeroGrad();
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
                lastCkpt = end.finish(step, start + 1, m, policy, tok, opt, extra, lastCkpt, dir -> {
                    if (critic != null) Checkpoints.saveModel(dir.resolve("critic"), critic, tok, criticOpt);
                    else Safetensors.write(dir.resolve(VALUE_HEAD_FILE), Map.of(VALUE_HEAD, valueHead), valueHead.scalar_type(), Map.of());
                });
            }
        } finally {
            if (valueHead != null) valueHead.close();
        }
        return new Result(lastReward, beta, lastCkpt);
    }

    /** A value head (1, H) on the policy's trunk, initialised like a fresh score head (normal, the config's init std). */
    static Tensor newValueHead(LlamaModel policy, long seed) {
        try (NoGradGuard g = new NoGradGuard();
             Tensor w = org.bytedeco.pytorch.global.torch.zeros(new long[]{1, policy.config.hiddenSize()}, Torch.opts(ScalarType.Float))) {
            w.normal_(0.0, policy.config.initializerRange(), new org.bytedeco.pytorch.GeneratorOptional(org.bytedeco.pytorch.global.torch.make_generator_cpu(seed + 17)));
            return w.to(policy.dtype).clone();
        }
    }

    private static void setRequiresGrad(Map<String, Tensor> trained, LlamaModel critic, boolean on) {
        for (Tensor t : trained.values()) t.requires_grad_(on);
        if (critic != null) critic.requiresGrad(on);
    }

    /** A checkpoint to resume holds the same kind of value function as this run trains, or a user error says which it holds. */
    private static void requireSameValueFunction(Path checkpoint, boolean shared) {
        if (checkpoint == null) return;
        boolean hasCritic = Files.exists(checkpoint.resolve("critic").resolve("trainer_state.json"));
        boolean hasHead = Files.exists(checkpoint.resolve(VALUE_HEAD_FILE));
        if (shared && !hasHead)
            throw new UserError(checkpoint + ": PPO checkpoint without " + VALUE_HEAD_FILE + (hasCritic ? " (it has a separate critic/: resume without --shared-trunk)" : ""));
        if (!shared && !hasCritic)
            throw new UserError(checkpoint + ": PPO checkpoint without critic/" + (hasHead ? " (it was trained with --shared-trunk: resume with it)" : ""));
    }

    /** The value function's half of a PPO checkpoint (its kind already checked): the critic and its optimizer, or the value head. */
    private static void restoreValueFunction(Path checkpoint, LlamaModel critic, AdamW criticOpt, Tensor valueHead) {
        if (critic != null) {
            Checkpoints.restore(checkpoint.resolve("critic"), critic, criticOpt);
            return;
        }
        Path file = checkpoint.resolve(VALUE_HEAD_FILE);
        Map<String, Tensor> saved = new LinkedHashMap<>();
        Safetensors.read(file, valueHead.scalar_type(), saved::put);
        Tensor w = saved.get(VALUE_HEAD);
        if (w == null || !java.util.Arrays.equals(w.shape(), valueHead.shape()))
            throw new UserError(file + ": expected tensor " + VALUE_HEAD + " of shape " + java.util.Arrays.toString(valueHead.shape()));
        try (NoGradGuard g = new NoGradGuard()) { valueHead.copy_(w); }
        saved.values().forEach(Tensor::close);
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
