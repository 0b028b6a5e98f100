package dev.align4j.train.online;

import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.SeqBatch;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The first stage of every online method: sample B prompts (a pure function of seed and step, so resume is exact),
 * G completions of each from the current policy, and score them with the reward functions. Sequence i belongs to
 * prompt i / G. Never takes gradients.
 */
public record Rollout(List<Task.Example> examples, List<int[]> promptIds, List<Completion> outs, int groupSize) {

    /** Samples {@code cfg.promptsPerStep()} prompts and {@code cfg.samplesPerPrompt()} completions of each. */
    public static Rollout sample(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step) {
        return sample(policy, null, 0, tok, prompts, cfg, seed, step, false);
    }

    /**
     * This rank's share of {@link #sample}'s rollout under {@code ./align4j launch}: the same B prompts are drawn on every
     * rank, rank r keeps prompts [r·B/W, (r+1)·B/W) with all G samples of each (a group never spans ranks), and the
     * completions are exactly those one process would sample ({@link Sampler.Shard}). The whole rollout in one process.
     */
    public static Rollout sampleShard(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step) {
        return sample(policy, null, 0, tok, prompts, cfg, seed, step, Distributed.get().isDistributed());
    }

    /**
     * The rewards of every rank's share, in rank order (all shards are equal in size), and {@code reward_std} of the whole
     * rollout in {@code m} (the mean, averaged over the ranks by the loop, needs no gathering). The identity in one process.
     */
    public static double[] gatherRewards(double[] local, Map<String, Double> m) {
        Distributed dist = Distributed.get();
        if (!dist.isDistributed()) return local;
        double[] all = dist.allGather(local);
        m.put("reward_std", Torch.item(Torch.doubles(all, all.length).std()));                // sample std (n − 1)
        return all;
    }

    /** Sampler's view of the process group: the active-row counts of every rank, gathered each token step. */
    private static final Sampler.Shard SHARD = new Sampler.Shard() {
        public int[] activeCounts(int local) {
            double[] all = Distributed.get().allGather(new double[]{local});
            int[] c = new int[all.length];
            for (int i = 0; i < c.length; i++) c[i] = (int) all[i];
            return c;
        }

        public int rank() { return Distributed.get().rank; }
    };

    /**
     * The same prompts as {@link #sample} at this step, but completions drawn from the geometric mixture
     * π^β ∝ π^{1−β} π_ref^β ({@link Sampler#generateMixture}) with an independent sampling seed: Nash-MD's opponents.
     */
    public static Rollout sampleMixture(LlamaModel policy, LlamaModel ref, double beta, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step) {
        return sample(policy, ref, beta, tok, prompts, cfg, seed, step, false);
    }

    /** This rank's share of {@link #sampleMixture} under {@code ./align4j launch} (the prompts of {@link #sampleShard}). */
    public static Rollout sampleMixtureShard(LlamaModel policy, LlamaModel ref, double beta, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step) {
        return sample(policy, ref, beta, tok, prompts, cfg, seed, step, Distributed.get().isDistributed());
    }

    /**
     * The same prompts as {@link #sample} at this step, one completion of each from {@code model} (a reference policy), with
     * an independent sampling seed: the reference samples ỹ ∼ π_ref of XPO, SELM and VPO.
     */
    public static Rollout sampleOnePerPrompt(LlamaModel model, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step) {
        RolloutConfig one = new RolloutConfig(cfg.promptsPerStep(), 1, cfg.maxNewTokens(), cfg.temperature());
        return sample(model, null, 0, tok, prompts, one, seed * 41 + 17, step, seed, false);
    }

    /** This rank's share of {@link #sampleOnePerPrompt} under {@code ./align4j launch} (the prompts of {@link #sampleShard}). */
    public static Rollout sampleOnePerPromptShard(LlamaModel model, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step) {
        RolloutConfig one = new RolloutConfig(cfg.promptsPerStep(), 1, cfg.maxNewTokens(), cfg.temperature());
        return sample(model, null, 0, tok, prompts, one, seed * 41 + 17, step, seed, Distributed.get().isDistributed());
    }

    /**
     * This rollout's G samples of every prompt followed by {@code extra}'s samples of the same prompt (the same prompts in
     * the same order): groups of G + G' rows.
     */
    public Rollout append(Rollout extra) {
        if (!examples.equals(extra.examples)) throw new IllegalArgumentException("append: the two rollouts have different prompts");
        int g = groupSize, h = extra.groupSize;
        List<int[]> ids = new ArrayList<>();
        List<Completion> o = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            for (int j = 0; j < g; j++) { ids.add(promptIds.get(i * g + j)); o.add(outs.get(i * g + j)); }
            for (int j = 0; j < h; j++) { ids.add(extra.promptIds.get(i * h + j)); o.add(extra.outs.get(i * h + j)); }
        }
        return new Rollout(examples, ids, o, g + h);
    }

    /**
     * Coverage: the mean over prompts of the number of distinct completion texts among each prompt's samples (1 = every
     * sample the same, G = all different).
     */
    public double distinctPerPrompt() {
        double sum = 0;
        for (int i = 0; i < examples.size(); i++) {
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (int j = 0; j < groupSize; j++) seen.add(outs.get(i * groupSize + j).text());
            sum += seen.size();
        }
        return sum / Math.max(1, examples.size());
    }

    private static Rollout sample(LlamaModel policy, LlamaModel ref, double beta, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step,
                                  boolean shard) {
        return sample(policy, ref, beta, tok, prompts, cfg, seed, step, seed, shard);
    }

    /**
     * @param promptSeed the seed of the prompt draw (the run's), {@code seed} that of the samples
     * @param shard      keep only this rank's share of the prompts under launch
     */
    private static Rollout sample(LlamaModel policy, LlamaModel ref, double beta, Tokenizer tok, List<Task.Example> prompts, RolloutConfig cfg, long seed, long step,
                                  long promptSeed, boolean shard) {
        List<Task.Example> all = drawPrompts(prompts, cfg.promptsPerStep(), promptSeed, step);   // every rank draws all B, in the same order
        List<Task.Example> batch = new ArrayList<>();
        List<int[]> promptIds = new ArrayList<>();
        int[] mine = shard ? Distributed.get().range(cfg.promptsPerStep(), "--prompts-per-step") : new int[]{0, cfg.promptsPerStep()};
        for (int i = 0; i < cfg.promptsPerStep(); i++) {
            Task.Example e = all.get(i);
            if (i < mine[0] || i >= mine[0] + mine[1]) continue;
            batch.add(e);
            int[] ids = tok.encode(e.prompt(), true);
            for (int k = 0; k < cfg.samplesPerPrompt(); k++) promptIds.add(ids);
        }
        List<Completion> outs = ref == null
                ? Sampler.generate(policy, tok, promptIds, new SamplingConfig(cfg.maxNewTokens(), cfg.temperature(), 0, 1.0, seed * 31 + step, List.of()), shard ? SHARD : null)
                : Sampler.generateMixture(policy, ref, beta, tok, promptIds, new SamplingConfig(cfg.maxNewTokens(), cfg.temperature(), 0, 1.0, seed * 37 + step + 1_000_003, List.of()),
                        shard ? SHARD : null);
        return new Rollout(batch, promptIds, outs, cfg.samplesPerPrompt());
    }

    /** The B prompts of step {@code step}: drawn with replacement, a pure function of the run's seed and the step (exact resume). */
    public static List<Task.Example> drawPrompts(List<Task.Example> prompts, int b, long seed, long step) {
        Random pick = new Random(seed * 7_919 + step);
        List<Task.Example> out = new ArrayList<>(b);
        for (int i = 0; i < b; i++) out.add(prompts.get(pick.nextInt(prompts.size())));
        return out;
    }

    public int size() { return outs.size(); }

    /**
     * The rewards of every sequence (N), and their metrics: {@code reward} (mean), {@code reward_std}, {@code reward/NAME}
     * per component when there are several, {@code completion_length} (mean tokens).
     */
    public double[] score(Rewards.Weighted reward, Map<String, Double> m) {
        return scoreAll(reward, m).total();
    }

    /** {@link #score}, with every reward function's own values (unweighted), e.g. for {@link Constraints}. */
    public Rewards.Scored scoreAll(Rewards.Weighted reward, Map<String, Double> m) {
        Rewards.Scored scored = reward.score(samples());
        double[] total = scored.total();
        m.put("reward", Arrays.stream(total).average().orElse(0));
        m.put("reward_std", Torch.item(Torch.doubles(total, total.length).std()));                 // sample std (n − 1)
        if (scored.components().size() > 1) scored.componentMeans().forEach((k, v) -> m.put("reward/" + k, v));
        m.put("completion_length", outs.stream().mapToInt(o -> o.tokens().length).average().orElse(0));
        return scored;
    }

    /** Sequences {@code rows} as one right-padded batch of prompt + completion. */
    public SeqBatch batch(List<Integer> rows, int padId) {
        List<int[]> p = new ArrayList<>(), c = new ArrayList<>();
        for (int i : rows) { p.add(promptIds.get(i)); c.add(completionIds(i, padId)); }
        return SeqBatch.of(p, c, padId);
    }

    /** Completion tokens of sample {@code i} as scored: an empty completion is scored as one pad token. */
    public int[] completionIds(int i, int padId) {
        int[] t = outs.get(i).tokens();
        return t.length == 0 ? new int[]{padId} : t;
    }

    List<RewardFunction.Sample> samples() {
        List<RewardFunction.Sample> s = new ArrayList<>();
        for (int i = 0; i < outs.size(); i++)
            s.add(new RewardFunction.Sample(examples.get(i / groupSize), outs.get(i).text(), outs.get(i).tokens().length,
                    outs.get(i).finishReason().equals("length")));
        return s;
    }
}
