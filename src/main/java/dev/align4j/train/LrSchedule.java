package dev.align4j.train;

/**
 * Linear warm-up from 0 to the peak over {@code warmup} steps, then cosine decay to
 * {@code minRatio · peak} at {@code total} steps. Steps count from 1.
 */
public record LrSchedule(double peak, int warmup, int total, double minRatio) {
    public double at(long step) {
        if (warmup > 0 && step <= warmup) return peak * step / warmup;
        if (total <= warmup) return peak;
        double progress = Math.min(1.0, (double) (step - warmup) / (total - warmup));
        return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}
