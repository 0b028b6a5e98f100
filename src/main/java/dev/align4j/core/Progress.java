package dev.align4j.core;

/** A one-line progress indicator on stderr for long work: "label 37/200 (18%) 12.3s, eta 54s". */
public final class Progress {
    private final String label;
    private final long total, start = System.nanoTime(), everyNanos;
    private long lastPrint;

    public Progress(String label, long total) { this(label, total, 2); }

    /** Prints at most every {@code everySeconds} (and at the end); the first update only starts the clock for the ETA. */
    public Progress(String label, long total, int everySeconds) {
        this.label = label;
        this.total = total;
        this.everyNanos = everySeconds * 1_000_000_000L;
        this.lastPrint = System.nanoTime();
    }

    public void update(long done) {
        long now = System.nanoTime();
        if (done < total && now - lastPrint < everyNanos) return;
        lastPrint = now;
        double el = (now - start) / 1e9;
        double eta = done > 0 ? el / done * (total - done) : 0;
        System.err.printf("%s %d/%d (%d%%) %.1fs, eta %.0fs%n", label, done, total, total == 0 ? 100 : done * 100 / total, el, eta);
    }
}
