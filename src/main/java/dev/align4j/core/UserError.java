package dev.align4j.core;

/**
 * A mistake in what the user gave us (a flag, a file, a model directory). The CLI prints its message
 * on one line and exits with code 2, without a stack trace. The message names the file, line or
 * field and says what was expected.
 */
public class UserError extends RuntimeException {
    public UserError(String message) { super(message); }

    public UserError(String message, Throwable cause) { super(message, cause); }

    /** Guava-style precondition: {@code check(beta > 0, "beta must be > 0: %s", beta)}. */
    public static void check(boolean ok, String fmt, Object... args) {
        if (!ok) throw new UserError(String.format(fmt, args));
    }
}
