package dev.align4j.train;

import dev.align4j.core.UserError;

/**
 * The settings every training method shares, nested in each method's config (and flattened into its saved
 * {@code *_config.json}). Each method's builder starts from its own defaults; this record only validates.
 *
 * @param steps       optimizer steps (offline) or rollout + update rounds (online)
 * @param lr          peak learning rate (linear warm-up, then cosine decay to 10% of it)
 * @param weightDecay decoupled AdamW weight decay on matrices
 * @param warmupSteps linear warm-up, counted in optimizer updates
 * @param maxGradNorm global gradient-norm clip (0 = off)
 * @param gradAccum   micro-batches per optimizer update
 * @param evalEvery   evaluate every N steps (0 = at the end only)
 * @param saveEvery   checkpoint every N steps (0 = at the end only)
 * @param keep        checkpoints kept (0 = all)
 * @param seed        data order, sampling and initialisation
 * @param onNonFinite  stop or skip on a NaN/Inf loss or gradient norm
 * @param loggingSteps log every N steps, and the first and last (0 = the method's default: 10 offline, 1 online)
 */
public record RunConfig(int steps, double lr, double weightDecay, int warmupSteps, double maxGradNorm, int gradAccum,
                        int evalEvery, int saveEvery, int keep, long seed, NonFinite onNonFinite, int loggingSteps) {
    public RunConfig {
        onNonFinite = onNonFinite == null ? NonFinite.STOP : onNonFinite;
        UserError.check(steps >= 1, "steps must be >= 1: %s", steps);
        UserError.check(lr > 0 && lr < 1, "lr must be in (0, 1): %s", lr);
        UserError.check(weightDecay >= 0, "weight-decay must be >= 0: %s", weightDecay);
        UserError.check(warmupSteps >= 0, "warmup-steps must be >= 0: %s", warmupSteps);
        UserError.check(maxGradNorm >= 0, "max-grad-norm must be >= 0 (0 = off): %s", maxGradNorm);
        UserError.check(gradAccum >= 1, "grad-accum must be >= 1: %s", gradAccum);
        UserError.check(evalEvery >= 0 && saveEvery >= 0 && keep >= 0 && loggingSteps >= 0, "eval-every, save-every, keep and logging-steps must be >= 0");
    }

    /**
     * The run settings half of every method's builder: {@code Sft.Config.builder().steps(30).lr(1e-2).batchSize(16).build()}.
     * A method's builder sets its own defaults for these in its constructor.
     */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<B extends Builder<B>> {
        private int steps, warmupSteps, gradAccum = 1, evalEvery, saveEvery, keep = 2, loggingSteps;
        private double lr, weightDecay, maxGradNorm = 1.0;
        private long seed;
        private NonFinite onNonFinite = NonFinite.STOP;

        protected Builder(int steps, double lr, double weightDecay, int warmupSteps) {
            this.steps = steps;
            this.lr = lr;
            this.weightDecay = weightDecay;
            this.warmupSteps = warmupSteps;
        }

        public B steps(int v) { steps = v; return (B) this; }
        public B lr(double v) { lr = v; return (B) this; }
        public B weightDecay(double v) { weightDecay = v; return (B) this; }
        public B warmupSteps(int v) { warmupSteps = v; return (B) this; }
        public B maxGradNorm(double v) { maxGradNorm = v; return (B) this; }
        public B gradAccum(int v) { gradAccum = v; return (B) this; }
        public B evalEvery(int v) { evalEvery = v; return (B) this; }
        public B saveEvery(int v) { saveEvery = v; return (B) this; }
        public B keep(int v) { keep = v; return (B) this; }
        public B seed(long v) { seed = v; return (B) this; }
        public B onNonFinite(NonFinite v) { onNonFinite = v; return (B) this; }
        public B loggingSteps(int v) { loggingSteps = v; return (B) this; }

        protected RunConfig run() {
            return new RunConfig(steps, lr, weightDecay, warmupSteps, maxGradNorm, gradAccum, evalEvery, saveEvery, keep, seed, onNonFinite, loggingSteps);
        }
    }
}
