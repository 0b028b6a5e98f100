package dev.align4j.train;

/** What a trainer does when a step's loss or gradient norm is NaN or infinite. */
public enum NonFinite {
    /** Stop with a message naming the last good checkpoint (default). */
    STOP,
    /** Drop the step's gradients, count it in {@code skipped_steps}, and go on. */
    SKIP
}
