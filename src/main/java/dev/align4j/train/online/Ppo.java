package dev.align4j.train.online;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.loss.PolicyLoss;
import dev.align4j.loss.ValueLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Safetensors;
import dev.align4j.model.Scoring;
import dev.align4j.model.SeqBatch;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * PPO with a critic (Schulman et al. 2017), in the RLHF form of Ziegler et al. (2019) and Ouyang et al. (2022). Each
 * step: rollout and scores → old log-probs, reference log-probs and values (no gradients) → per-token rewards
 * −β·(log π_old − log π_ref) with the sequence's score on its last token → GAE(γ, λ) advantages (whitened) and
 * returns → epochs × minibatches of clipped policy and value updates → the fixed or adaptive KL controller.
 * Shapes: N sequences, T completion positions (full rollout), t ≤ T in a minibatch.
 *
 * <p>The value function is either a separate critic model (a second parameter group with its own AdamW and lr, saved
 * in each checkpoint under {@code critic/}), or, with {@link Config#sharedTrunk()}, a linear value head on the
 * policy's final hidden states: one forward gives log-probs and values, one optimizer steps both on
 * {@code policy_loss + vf_coef · value_loss}, and the head ({@code v_head.summary.weight}, TRL's name) is saved as
 * {@code value_head.safetensors} while its Adam moments travel in the checkpoint's optimizer state.
 *
 * <p>The value head is a regression head (one output, the clipped ½ (V − R)² loss) or, with {@code --value-loss hl-gauss}
 * or {@code two-hot}, a categorical head of B logits over a fixed support whose value is their expectation, trained by
 * cross-entropy against a histogram of the GAE return (Farebrother et al. 2024; {@link ValueLoss}); its settings are
 * saved beside the critic (or the value head) as {@code value_head.json}.
 */
public final class Ppo {
    private Ppo() {}

    /**
     * PPO settings (Schulman et al. 2017; the RLHF recipe of Ziegler et al. 2019 / Ouyang et al. 2022); defaults in {@link #DEFAULTS}.
     *
     * @param epochs      passes over each rollout batch
     * @param miniBatches minibatches per epoch (each an optimizer step for policy and critic)
     * @param criticLr    peak learning rate of a separate critic (0 = 2 × lr, at most 0.5); must be 0 with a shared trunk
     * @param clip        policy ratio clip ε
     * @param valueClip   value clip ε_v (0 = off)
     * @param gamma       GAE discount γ
     * @param lambda      GAE trace decay λ
     * @param whiten      whiten advantages over the batch
     * @param beta        initial KL coefficient (per-token −β·KL in the reward); 0 skips the reference model
     * @param klTarget    adaptive KL controller target (0 = fixed β)
     * @param klHorizon   adaptive KL controller horizon in samples
     * @param sharedTrunk the value head sits on the policy's own trunk (one model, one optimizer, loss = policy + vfCoef · value)
     *                    instead of a separate critic model
     * @param vfCoef      value-loss coefficient when the trunk is shared (TRL's {@code vf_coef})
     * @param value       the value head: mse, or a categorical loss (hl-gauss, two-hot) over bins of a support; value-clip
     *                    applies to mse only
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped RolloutConfig rollouts, int epochs, int miniBatches, double criticLr,
                            double clip, double valueClip, double gamma, double lambda, boolean whiten, double beta, double klTarget,
                            long klHorizon, boolean sharedTrunk, double vfCoef,
                            @JsonUnwrapped ValueLoss.Head value) {
        public Config {
            RolloutConfig.requireNoAccumulation(run);
            UserError.check(epochs >= 1 && miniBatches >= 1 && miniBatches <= rollouts.size(),
                    "ppo-epochs >= 1 and 1 <= mini-batches <= rollout size (%s)", rollouts.size());
            UserError.check(sharedTrunk ? criticLr == 0 : criticLr >= 0 && criticLr < 1,
                    sharedTrunk ? "--shared-trunk trains the value head with the policy's lr: critic-lr does not apply (%s)" : "critic-lr must be in [0, 1) (0 = twice lr, at most 0.5): %s", criticLr);
            UserError.check(clip > 0 && clip < 1 && valueClip >= 0, "clip must be in (0, 1), value-clip >= 0");
            UserError.check(gamma > 0 && gamma <= 1 && lambda >= 0 && lambda <= 1, "gamma in (0, 1], lambda in [0, 1]");
            UserError.check(beta >= 0 && klTarget >= 0 && klHorizon > 0, "beta >= 0, kl-target >= 0, kl-horizon > 0");
            UserError.check(vfCoef > 0, "vf-coef must be > 0: %s", vfCoef);
            UserError.check(klTarget == 0 || beta > 0, "an adaptive KL controller (--kl-target) needs an initial --beta > 0");
        }

        /** A separate critic's peak learning rate: {@code criticLr}, or 2 × lr (at most 0.5) when it is 0. */
        public double criticLearningRate() { return criticLr > 0 ? criticLr : Math.min(0.5, 2 * run.lr()); }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, Configs.plus(RolloutConfig.COMMON, ValueLoss.Head.DEFAULTS), "steps", 100, "lr", 1e-4, "warmupSteps", 5, "promptsPerStep", 32, "samplesPerPrompt", 4,
                "epochs", 2, "miniBatches", 2, "criticLr", 0.0, "clip", 0.2, "valueClip", 0.2, "gamma", 1.0, "lambda", 0.95, "whiten", true, "beta", 0.02,
                "klTarget", 0.0, "klHorizon", 10_000L, "sharedTrunk", false, "vfCoef", 0.1);
    }

    /** The shared-trunk value head's tensor name, as in TRL's {@code AutoModelForCausalLMWithValueHead}. */
    public static final String VALUE_HEAD = "v_head.summary.weight";
    public static final String VALUE_HEAD_FILE = "value_head.safetensors";

    public record Result(double finalReward, double finalBeta, Path lastCheckpoint) {}

    /**
     * Per-token log-probs (and entropy) of the policy, the value head's outputs (N, T, L) and the values (N, T), zero off
     * the completion; from one trunk pass when it is shared.
     */
    private record Forward(Scoring.Scores scores, Tensor outputs, Tensor values) {}

    private static Forward forward(LlamaModel policy, LlamaModel critic, Tensor valueHead, ValueLoss.Head head, SeqBatch sb, boolean entropy) {
        Scoring.Scores sc;
        Tensor out;
        if (valueHead == null) {
            sc = Scoring.score(policy, sb, entropy);
            out = Scoring.tokenHeadOutputs(critic.hidden(sb.ids(), null, null), critic::scoreHead);
        } else {
            Tensor h = policy.hidden(sb.ids(), null, null);                              // (B, T, H), one pass for both heads
            sc = Scoring.fromLogits(policy.lmHead(h), sb, entropy, false);
            out = Scoring.tokenHeadOutputs(h, x -> torch.linear(x, valueHead));
        }
        return new Forward(sc, out, head.value(out).mul(Scoring.mask(sb)));                // (B, T−1, L), (B, T−1)
    }

    /**
     * @param critic a separate critic (one score head), or null when {@code cfg.sharedTrunk()}: then a value head is
     *               created on the policy's trunk (seeded by the run's seed) or restored from the checkpoint
     */
    public static Result train(LlamaModel policy, LlamaModel critic, LlamaModel reference, Rewards.Weighted reward, List<Task.Example> prompts,
                               Config cfg, Session io) {
        return train(policy, critic, reference, reward, null, prompts, cfg, io);
    }

    /**
     * With {@code constraints} (null: none), the sequence score is the Lagrangian r_obj + Σ_c μ_c·s_c·r_c of {@link Constraints}
     * (PPO-Lagrangian, as Safe RLHF), the multipliers take a dual step after every rollout and go through checkpoints.
     */
    public static Result train(LlamaModel policy, LlamaModel critic, LlamaModel reference, Rewards.Weighted reward, Constraints constraints,
                               List<Task.Example> prompts, Config cfg, Session io) {
        if (constraints != null) constraints.check(reward);
        if (cfg.beta() > 0 && reference == null) throw new IllegalArgumentException("beta > 0 needs a reference model");
        if (cfg.sharedTrunk() != (critic == null)) throw new IllegalArgumentException("a separate critic exactly when the trunk is not shared");
        if (critic != null && critic.config.numLabels() != cfg.value().labels())
            throw new IllegalArgumentException("the critic needs " + cfg.value().labels() + " value-head outputs for --value-loss " + cfg.value().valueLoss().flag());
        if (cfg.value().categorical() && cfg.valueClip() > 0)
            System.err.println("ppo: --value-clip applies to the mse value loss only; the " + cfg.value().valueLoss().flag() + " cross-entropy is not clipped");
        if (prompts.isEmpty()) throw new UserError("ppo: no prompts");
        Tensor valueHead = cfg.sharedTrunk() ? newValueHead(policy, cfg.run().seed(), cfg.value().labels()) : null;
        Map<String, Tensor> trained = new LinkedHashMap<>(policy.trainableParameters());
        if (valueHead != null) trained.put(VALUE_HEAD, valueHead);
        List<Loop.Group> groups = new ArrayList<>(List.of(new Loop.Group("model", policy, trained, cfg.run().lr())));
        if (critic != null) groups.add(new Loop.Group("critic", critic, critic.parameters(), cfg.criticLearningRate()));
        KlController klCoef = new KlController(cfg.beta());
        try {
            Loop.Plan plan = new Loop.Plan("ppo", cfg.run(), cfg, groups, cfg.epochs() * cfg.miniBatches(), 1);
            Loop.Outcome out = Loop.run(io, plan, new Recipe(policy, critic, reference, valueHead, reward, constraints, prompts, cfg, io, klCoef));
            return new Result(out.get("reward"), klCoef.beta, out.lastCheckpoint());
        } finally {
            if (valueHead != null) valueHead.close();
        }
    }

    /** A one-output value head (1, H) on the policy's trunk; see {@link #newValueHead(LlamaModel, long, int)}. */
    public static Tensor newValueHead(LlamaModel policy, long seed) { return newValueHead(policy, seed, 1); }

    /** A value head (L, H) on the policy's trunk, initialised like a fresh score head (normal, the config's init std). */
    public static Tensor newValueHead(LlamaModel policy, long seed, int labels) {
        try (NoGradGuard g = new NoGradGuard();
             Tensor w = torch.zeros(new long[]{labels, policy.config.hiddenSize()}, Torch.cpuOpts(ScalarType.Float))) {
            w.normal_(0.0, policy.config.initializerRange(), new org.bytedeco.pytorch.GeneratorOptional(torch.make_generator_cpu(seed + 17)));
            return Torch.toDevice(w.to(policy.dtype).clone());
        }
    }

    /** A checkpoint to resume holds the same kind of value function as this run trains, or a user error says which it holds. */
    private static void requireSameValueFunction(Path checkpoint, boolean shared) {
        boolean hasCritic = Files.exists(checkpoint.resolve("critic").resolve("trainer_state.json"));
        boolean hasHead = Files.exists(checkpoint.resolve(VALUE_HEAD_FILE));
        if (shared && !hasHead)
            throw new UserError(checkpoint + ": PPO checkpoint without " + VALUE_HEAD_FILE + (hasCritic ? " (it has a separate critic/: resume without --shared-trunk)" : ""));
        if (!shared && !hasCritic)
            throw new UserError(checkpoint + ": PPO checkpoint without critic/" + (hasHead ? " (it was trained with --shared-trunk: resume with it)" : ""));
    }

    private static void restoreValueHead(Path checkpoint, Tensor valueHead) {
        Path file = checkpoint.resolve(VALUE_HEAD_FILE);
        Map<String, Tensor> saved = new LinkedHashMap<>();
        Safetensors.read(file, valueHead.scalar_type(), saved::put);
        Tensor w = saved.get(VALUE_HEAD);
        if (w == null || !Arrays.equals(w.shape(), valueHead.shape()))
            throw new UserError(file + ": expected tensor " + VALUE_HEAD + " of shape " + Arrays.toString(valueHead.shape()));
        try (NoGradGuard g = new NoGradGuard()) { valueHead.copy_(w); }
        saved.values().forEach(Tensor::close);
    }

    /** β of the per-token KL penalty: fixed, or adapted each step towards a target KL; carried through checkpoints as {@code kl_coef}. */
    private static final class KlController {
        double beta;

        KlController(double beta) { this.beta = beta; }
    }

    /** One step of PPO, top to bottom; the value function is a separate critic or the value head on the policy's trunk. */
    private record Recipe(LlamaModel policy, LlamaModel critic, LlamaModel reference, Tensor valueHead, Rewards.Weighted reward, Constraints constraints,
                          List<Task.Example> prompts, Config cfg, Session io, KlController klCoef) implements Loop.Recipe {
        @Override
        public void step(Loop.Step s) {
            // 1. rollout and scores; under launch this rank's share of the prompts (rows [offset, offset + n) of the whole
            //    rollout of W·n rows), as GRPO's
            Distributed dist = Distributed.get();
            Rollout ro = Rollout.sampleShard(policy, io.tok(), prompts, cfg.rollouts(), cfg.run().seed(), s.step);
            double[] scores;
            if (constraints == null) scores = ro.score(reward, s.metrics);
            else {                                                                               // the Lagrangian score, then the dual step
                scores = constraints.rewards(reward, ro.scoreAll(reward, s.metrics), s.metrics);
                constraints.update(s.metrics);
            }
            Rollout.gatherRewards(scores, s.metrics);
            int n = ro.size(), total = n * dist.world, offset = dist.rank * n;
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < n; i++) all.add(i);
            SeqBatch sb = ro.batch(all, io.tok().padId);
            Tensor mask = Scoring.mask(sb);                                                       // (N, T)
            // 2. old log-probs, KL to the reference and values, without gradients
            Tensor old, kl, values;
            try (NoGradGuard ng = new NoGradGuard()) {
                old = Scoring.score(policy, sb, false).tokenLogps();
                kl = klCoef.beta > 0 ? old.to(ScalarType.Double).sub(Scoring.score(reference, sb, false).tokenLogps().to(ScalarType.Double))
                        : torch.zeros_like(old).to(ScalarType.Double);
                values = forward(policy, critic, valueHead, cfg.value(), sb, false).values();
            }
            // 3. per-token rewards −β·KL, the score on the last token → GAE advantages and returns (N, T)
            Tensor tokenRewards = kl.mul(Torch.s(-klCoef.beta)).add(Advantages.lastToken(mask).to(ScalarType.Double).mul(Torch.doubles(scores, n).unsqueeze(1)));
            Tensor[] ar = Advantages.gae(tokenRewards, values, mask, cfg.gamma(), cfg.lambda());
            Tensor adv = (cfg.whiten() ? Advantages.whiten(ar[0], mask) : ar[0]).to(ScalarType.Float), ret = ar[1].to(ScalarType.Float);
            double klMean = dist.sum(Torch.item(kl.mul(mask).sum())) / total;                     // mean over every rank's sequences of Σ_t KL
            s.metrics.put("kl", klMean);
            s.metrics.put("kl_coef", klCoef.beta);
            s.metrics.put("explained_variance", Advantages.explainedVariance(ar[1], values, mask));
            // 4. epochs × minibatches of policy and value updates: every rank shuffles the whole rollout's rows alike and trains
            //    the rows of each minibatch it holds, its token-mean losses weighted by its share of the minibatch's tokens
            Random shuffle = new Random(cfg.run().seed() * 104_729 + s.step);
            List<Integer> everyRow = new ArrayList<>();
            for (int i = 0; i < total; i++) everyRow.add(i);
            for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
                List<Integer> order = new ArrayList<>(everyRow);
                Collections.shuffle(order, shuffle);
                for (int mb = 0; mb < cfg.miniBatches(); mb++) {
                    List<Integer> idx = new ArrayList<>();
                    for (int g : order.subList(mb * total / cfg.miniBatches(), (mb + 1) * total / cfg.miniBatches()))
                        if (g >= offset && g < offset + n) idx.add(g - offset);
                    Tensor rows = Torch.longs(idx.stream().mapToLong(Integer::longValue).toArray(), idx.size());
                    double weight = !dist.isDistributed() ? 1 : dist.meanWeight(idx.isEmpty() ? 0 : Torch.item(mask.index_select(0, rows).sum()));
                    List<Integer> batch = idx.isEmpty() ? List.of(0) : idx;           // a rank without rows steps with a zero loss
                    Tensor batchRows = idx.isEmpty() ? Torch.longs(new long[]{0}, 1) : rows;
                    s.update(1, (micro, m) -> minibatchLoss(ro.batch(batch, io.tok().padId), batchRows, old, adv, ret, values, m, idx.isEmpty() ? 0 : weight));
                }
            }
            // 5. adaptive KL controller
            if (cfg.klTarget() > 0 && Double.isFinite(klMean)) klCoef.beta = Advantages.adaptiveKl(klCoef.beta, klMean, cfg.klTarget(), n, cfg.klHorizon());
        }

        /**
         * The clipped policy loss plus the (weighted) value loss on one minibatch; rows {@code rows} of the rollout tensors.
         * Both are token means; under launch they and the metrics are multiplied by {@code weight}, this rank's share of the
         * minibatch's tokens (W·k_r / Σk), so that the ranks' average is the token mean over the whole minibatch.
         */
        Tensor minibatchLoss(SeqBatch mb, Tensor rows, Tensor old, Tensor adv, Tensor ret, Tensor values, Map<String, Double> m, double weight) {
            long t = mb.length() - 1;
            Tensor oldT = old.index_select(0, rows).narrow(1, 0, t), advT = adv.index_select(0, rows).narrow(1, 0, t);
            Tensor retT = ret.index_select(0, rows).narrow(1, 0, t), valT = values.index_select(0, rows).narrow(1, 0, t);
            Forward fw = forward(policy, critic, valueHead, cfg.value(), mb, true);
            Scoring.Scores sc = fw.scores();
            PolicyLoss.Out o = PolicyLoss.clippedSurrogate(sc.tokenLogps(), oldT, advT, sc.mask(), null, PolicyLoss.Clip.symmetric(cfg.clip(), cfg.rollouts().maxNewTokens()));
            PolicyLoss.ValueOut v = ValueLoss.loss(cfg.value(), fw.outputs(), valT, retT, sc.mask(), cfg.valueClip());
            double tokens = Math.max(1, Torch.item(sc.mask().sum()));
            Tensor logRatio = sc.tokenLogps().detach().sub(oldT);
            m.put("loss", Torch.item(o.loss()));
            m.put("value_loss", Torch.item(v.loss()));
            m.put("approx_kl", Torch.item(logRatio.mul(logRatio).mul(sc.mask()).sum()) / tokens / 2);   // ½ (log π − log π_old)², k2
            m.put("entropy", Torch.item(sc.entropy().sum()) / tokens);
            m.put("clip_ratio", o.clipFraction());
            m.put("value_clip_ratio", v.clipFraction());
            Tensor loss = o.loss().add(valueHead != null ? v.loss().mul(Torch.s(cfg.vfCoef())) : v.loss());    // disjoint graphs with a separate critic
            if (weight == 1) return loss;
            m.replaceAll((k, x) -> x * weight);
            return loss.mul(Torch.s(weight));
        }

        @Override
        public void save(ObjectNode state, Path dir) {
            state.put("kl_coef", klCoef.beta);
            if (constraints != null) constraints.save(state);
            if (valueHead != null) Safetensors.write(dir.resolve(VALUE_HEAD_FILE), Map.of(VALUE_HEAD, valueHead), valueHead.scalar_type(), Map.of());
            cfg.value().writeTo(valueHead != null ? dir : dir.resolve("critic"));             // how to read the head's outputs
        }

        @Override
        public void restore(JsonNode state, Path checkpoint) {
            requireSameValueFunction(checkpoint, cfg.sharedTrunk());
            klCoef.beta = state.path("kl_coef").asDouble(klCoef.beta);
            if (constraints != null) constraints.restore(state, checkpoint);
            if (valueHead != null) restoreValueHead(checkpoint, valueHead);
        }
    }
}
