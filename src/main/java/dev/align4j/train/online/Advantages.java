package dev.align4j.train.online;

import dev.align4j.core.Distributed;
import dev.align4j.core.Torch;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Advantage estimators as pure functions over tensors, computed in float64. Shapes: N sequences, the G completions
 * of one prompt contiguous (group g holds rows g·G … g·G + G − 1); T completion positions aligned with
 * {@code Scoring.tokenLogps}; {@code mask} (N, T) is 1 at completion tokens. Adding a GRPO-family estimator is one
 * constant of {@link Estimator} with its {@code estimate}.
 */
public final class Advantages {
    private Advantages() {}

    static final double EPS = 1e-4;

    /** How GRPO scales the group-centred rewards. */
    public enum Scale {
        /** (r − mean_group) / (std_group + ε): GRPO (Shao et al. 2024). */
        GROUP,
        /** (r − mean_group) / (std_batch + ε): batch-level scaling (Liu et al. 2025 recommend against per-group std). */
        BATCH,
        /** r − mean_group: Dr. GRPO (Liu et al. 2025). */
        NONE
    }

    /**
     * What an estimator sees for one rollout.
     *
     * @param rewards   (N) outcome rewards of every sampled sequence
     * @param groupSize G
     * @param scale     GRPO's scaling
     * @param keep      (K) long: the rows that train (dynamic sampling drops flat groups)
     * @param mask      (K, T) completion tokens of the kept rows
     * @param kl        (K, T) log π_old − log π_ref of the kept rows, or null without a reference
     * @param beta      KL coefficient (in the per-token reward of the token-level estimators)
     */
    public record Input(Tensor rewards, int groupSize, Scale scale, Tensor keep, Tensor mask, Tensor kl, double beta) {}

    /** The critic-free estimators: one advantage per sequence (K), or per token (K, T); float32. */
    public enum Estimator {
        /** GRPO (Shao et al. 2024): group-normalised outcome rewards. */
        GRPO("grpo", false, false) {
            Tensor estimate(Input in) { return grpo(in.rewards(), in.groupSize(), in.scale()).index_select(0, in.keep()); }
        },
        /**
         * RLOO as TRL's RLOOTrainer computes it (Ahmadian et al. 2024): the reward less β·Σ_t (log π_old − log π_ref) (k1, summed
         * over the sequence), then the leave-one-out baseline; the policy loss then uses one ratio of summed sequence
         * log-probs ({@link dev.align4j.loss.PolicyLoss.Ratio#SEQUENCE_SUM}).
         */
        RLOO("rloo", true, true) {
            Tensor estimate(Input in) {
                Tensor r = in.rewards().to(ScalarType.Double).index_select(0, in.keep());
                if (in.kl() != null) r = r.sub(in.kl().to(ScalarType.Double).mul(in.mask()).sum(new long[]{1}, false, new ScalarTypeOptional()).mul(Torch.s(in.beta())));
                return rloo(r, in.groupSize());
            }
        },
        /** align4j's earlier RLOO: leave-one-out advantages of the raw reward in the token-level GRPO loss, the KL (k3 by default) in the loss. */
        RLOO_TOKEN("rloo", false, false) {
            Tensor estimate(Input in) { return rloo(in.rewards(), in.groupSize()).index_select(0, in.keep()); }
        },
        /** REINFORCE++ (Hu 2025): β·KL in the per-token reward, returns normalised over the whole batch. */
        REINFORCE_PP("reinforce++", true, false) {
            Tensor estimate(Input in) { return reinforcePlusPlus(in.rewards().index_select(0, in.keep()), in.kl(), in.mask(), in.beta(), 1); }
        },
        /** REINFORCE++-baseline: the same after centring each group's rewards (no baseline when dynamic sampling broke the groups). */
        REINFORCE_PP_BASELINE("reinforce++", true, false) {
            Tensor estimate(Input in) {
                int groups = in.keep().size(0) == in.rewards().size(0) ? in.groupSize() : 1;
                return reinforcePlusPlus(in.rewards().index_select(0, in.keep()), in.kl(), in.mask(), in.beta(), groups);
            }
        };

        /** The metrics stage and checkpoint trainer name. */
        public final String stage;
        /** Whether β·KL goes into the reward (REINFORCE++, RLOO) rather than into the loss (GRPO). */
        public final boolean klInReward;
        /** Whether the policy loss takes one ratio of summed sequence log-probs (TRL's RLOO) instead of per-token ratios. */
        public final boolean sequenceLevel;

        Estimator(String stage, boolean klInReward, boolean sequenceLevel) {
            this.stage = stage;
            this.klInReward = klInReward;
            this.sequenceLevel = sequenceLevel;
        }

        abstract Tensor estimate(Input in);

        /** The advantages as float32: (K) outcome-level or (K, T) token-level. */
        public Tensor advantages(Input in) { return estimate(in).to(ScalarType.Float); }
    }

    /** GRPO advantages (N); std is the unbiased sample standard deviation, as torch.std (TRL). */
    public static Tensor grpo(Tensor rewards, int groupSize, Scale scale) {
        Tensor r = rewards.to(ScalarType.Double), x = groups(r, groupSize);                 // (N/G, G)
        Tensor centred = x.sub(x.mean(new long[]{1}, true, new ScalarTypeOptional()));
        Tensor a = switch (scale) {
            case NONE -> centred;
            case GROUP -> centred.div(std(x, groupSize).add(Torch.s(EPS)));
            case BATCH -> centred.div(std(r.view(1, -1), r.size(0)).add(Torch.s(EPS)));
        };
        return a.reshape(-1);
    }

    /** RLOO (Ahmadian et al. 2024): r_i − mean of the other G − 1 rewards of its group (N). */
    public static Tensor rloo(Tensor rewards, int groupSize) {
        if (groupSize < 2) throw new IllegalArgumentException("RLOO needs at least 2 samples per prompt");
        Tensor x = groups(rewards.to(ScalarType.Double), groupSize);
        Tensor others = x.sum(new long[]{1}, true, new ScalarTypeOptional()).sub(x).div(Torch.s((double) (groupSize - 1)));
        return x.sub(others).reshape(-1);
    }

    /** Rewards normalised over the whole batch, (r − mean_batch) / (std_batch + ε) with the sample std (N). */
    public static Tensor batchNormalized(Tensor rewards) {
        Tensor r = rewards.to(ScalarType.Double).view(1, -1);
        return r.sub(r.mean(new long[]{1}, true, new ScalarTypeOptional())).div(std(r, r.size(1)).add(Torch.s(EPS))).reshape(-1);
    }

    /**
     * REINFORCE++ (Hu 2025) token-level advantages (N, T). Per-token reward r_t = −β·kl_t, plus the outcome reward on
     * a sequence's last token; the return G_t = Σ_{s ≥ t} r_s (γ = 1); advantages are the returns whitened over every
     * completion token of the batch. With {@code groupSize} &gt; 1 the outcome rewards are first centred on their
     * group's mean (REINFORCE++-baseline).
     *
     * @param outcome (N) one reward per sequence
     * @param kl      (N, T) log π_old − log π_ref, or null when β = 0
     */
    public static Tensor reinforcePlusPlus(Tensor outcome, Tensor kl, Tensor mask, double beta, int groupSize) {
        Tensor r = outcome.to(ScalarType.Double), m = mask.to(ScalarType.Double);
        if (groupSize > 1) {
            Tensor x = groups(r, groupSize);
            r = x.sub(x.mean(new long[]{1}, true, new ScalarTypeOptional())).reshape(-1);
        }
        Tensor reward = lastToken(m).mul(r.unsqueeze(1));                                    // outcome on the last token
        if (kl != null) reward = kl.to(ScalarType.Double).mul(Torch.s(-beta)).mul(m).add(reward);
        Tensor returns = torch.cumsum(reward.flip(new long[]{1}), 1).flip(new long[]{1});    // G_t = Σ_{s ≥ t} r_s
        return whiten(returns, m);
    }

    /**
     * Generalised advantage estimation (Schulman et al. 2016) per sequence, γ-discounted over its completion tokens:
     * δ_t = r_t + γ·V_{t+1} − V_t with V = 0 after the last token, A_t = δ_t + γλ·A_{t+1}; returns R_t = A_t + V_t
     * are the critic's targets. Returns {advantages, returns}, each (N, T), zero outside the mask.
     */
    public static Tensor[] gae(Tensor rewards, Tensor values, Tensor mask, double gamma, double lambda) {
        Tensor m = mask.to(ScalarType.Double), r = rewards.to(ScalarType.Double).mul(m), v = values.to(ScalarType.Double).mul(m);
        long n = m.size(0), t = m.size(1);
        Tensor next = torch.zeros(new long[]{n}, Torch.opts(ScalarType.Double)), a = next;
        Tensor[] adv = new Tensor[(int) t], ret = new Tensor[(int) t];
        for (long j = t - 1; j >= 0; j--) {
            Tensor mj = m.select(1, j), vj = v.select(1, j);
            Tensor delta = r.select(1, j).add(next.mul(Torch.s(gamma))).sub(vj);
            a = delta.add(a.mul(Torch.s(gamma * lambda))).mul(mj);                       // resets to 0 outside the sequence
            adv[(int) j] = a;
            ret[(int) j] = a.add(vj).mul(mj);
            next = vj;
        }
        return new Tensor[]{torch.stack(new TensorVector(adv), 1), torch.stack(new TensorVector(ret), 1)};
    }

    /**
     * Whitening over all masked tokens of the batch: (x − mean) / (std + ε), population std (as TRL / OpenRLHF); 0 outside
     * the mask. Under {@code launch} the batch is every rank's: the count, sum and sum of squares are summed over the ranks
     * (one all-reduce), so each rank whitens with the statistics one process would compute on the whole batch.
     */
    public static Tensor whiten(Tensor x, Tensor mask) {
        Tensor m = mask.to(ScalarType.Double), xm = x.to(ScalarType.Double).mul(m);
        double[] stats = Distributed.get().sum(new double[]{Torch.item(m.sum()), Torch.item(xm.sum()), Torch.item(xm.mul(xm).sum())});
        double count = stats[0];
        if (count == 0) return xm;
        double mean = stats[1] / count, sq = stats[2] / count;
        double sd = Math.sqrt(Math.max(0, sq - mean * mean));
        return xm.sub(Torch.s(mean)).div(Torch.s(sd + EPS)).masked_fill(m.eq(Torch.s(0.0)), Torch.s(0.0));   // +0 outside the mask
    }

    /**
     * 1 − Var(R − V) / Var(R) over the masked tokens (population variances): 1 = the critic predicts the returns perfectly.
     * Under {@code launch}, over every rank's tokens (their sums all-reduced, as {@link #whiten}).
     */
    public static double explainedVariance(Tensor returns, Tensor values, Tensor mask) {
        Tensor m = mask.to(ScalarType.Double), r = returns.to(ScalarType.Double).mul(m), d = r.sub(values.to(ScalarType.Double).mul(m));
        double[] sums = Distributed.get().sum(new double[]{Torch.item(m.sum()), Torch.item(r.sum()), Torch.item(d.sum()), Torch.item(r.mul(r).sum()),
                Torch.item(d.mul(d).sum())});
        double k = sums[0];
        if (k == 0) return Double.NaN;
        double mr = sums[1] / k, md = sums[2] / k;
        double varR = sums[3] / k - mr * mr, varD = sums[4] / k - md * md;
        return varR <= 0 ? Double.NaN : 1 - varD / varR;
    }

    /**
     * The adaptive KL controller of Ziegler et al. (2019): β ← β · (1 + K_β · e · n / horizon) with the proportional
     * error e = clip(KL / target − 1, −0.2, 0.2) and K_β = 1 as in their code; n = samples this step.
     */
    public static double adaptiveKl(double beta, double observedKl, double target, long samples, long horizon) {
        double e = Math.max(-0.2, Math.min(0.2, observedKl / target - 1));
        return beta * (1 + e * samples / horizon);
    }

    /** Whether every reward in the group is equal (the group then carries no GRPO signal). */
    public static boolean zeroStd(double[] rewards, int start, int groupSize) {
        for (int i = start + 1; i < start + groupSize; i++) if (rewards[i] != rewards[start]) return false;
        return true;
    }

    /** 1 at each row's last masked position (N, T). */
    static Tensor lastToken(Tensor mask) {
        long n = mask.size(0), t = mask.size(1);
        Tensor shifted = torch.cat(new TensorVector(mask.narrow(1, 1, t - 1), torch.zeros(new long[]{n, 1}, Torch.opts(mask.scalar_type()))), 1);
        return mask.sub(shifted).clamp_min(Torch.s(0.0));
    }

    private static Tensor groups(Tensor r, int groupSize) {
        long n = r.size(0);
        if (groupSize < 1 || n % groupSize != 0) throw new IllegalArgumentException(n + " rewards do not split into groups of " + groupSize);
        return r.view(n / groupSize, groupSize);
    }

    /** Unbiased std along dim 1 of (rows, n), keepdim; 0 when n &lt; 2. */
    private static Tensor std(Tensor x, long n) {
        Tensor c = x.sub(x.mean(new long[]{1}, true, new ScalarTypeOptional()));
        if (n < 2) return torch.zeros_like(x.narrow(1, 0, 1));
        return c.mul(c).sum(new long[]{1}, true, new ScalarTypeOptional()).div(Torch.s((double) (n - 1))).sqrt();
    }
}
