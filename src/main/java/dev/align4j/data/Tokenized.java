package dev.align4j.data;

import dev.align4j.model.Tokenizer;

/**
 * A prompt and completion as token ids, truncated to a maximum length: first the prompt, as the given
 * {@link Truncation} says (keep_end loses tokens from its start and keeps at least one), then the
 * completion from its end. The completion ends with EOS. A row whose completion
 * ends up empty is the caller's to report and skip.
 */
public record Tokenized(int[] prompt, int[] completion) {

    /** Which end of a too-long prompt survives (TRL's {@code truncation_mode}). */
    public enum Truncation {
        /** Keep the prompt's end, next to the completion (default: the question usually comes last). */
        KEEP_END,
        /** Keep the prompt's start (instructions, system prompt) and drop its end. */
        KEEP_START;

        public static Truncation parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT).replace('-', '_')) {
                case "keep_end" -> KEEP_END;
                case "keep_start" -> KEEP_START;
                default -> throw new dev.align4j.core.UserError("--truncation " + s + ": expected keep_end or keep_start");
            };
        }
    }

    public static Tokenized of(Tokenizer tok, String prompt, String completion, int maxLength, Truncation truncation, boolean addEos) {
        int[] p = tok.encode(prompt, true);
        int[] c0 = tok.encode(completion, false);
        int[] c = c0;
        boolean endsWithEos = c0.length > 0 && tok.isEos(c0[c0.length - 1]);   // a chat template may close the turn itself
        if (addEos && tok.eosIds.length > 0 && !endsWithEos) {
            c = java.util.Arrays.copyOf(c0, c0.length + 1);
            c[c0.length] = tok.eosIds[0];
        }
        if (maxLength > 0 && p.length + c.length > maxLength) {
            int keepPrompt = Math.max(1, maxLength - c.length);
            if (keepPrompt < p.length)
                p = truncation == Truncation.KEEP_END ? java.util.Arrays.copyOfRange(p, p.length - keepPrompt, p.length)
                        : java.util.Arrays.copyOf(p, keepPrompt);
            if (p.length + c.length > maxLength) c = java.util.Arrays.copyOf(c, Math.max(0, maxLength - p.length));
        }
        return new Tokenized(p, c);
    }

    public int length() { return prompt.length + completion.length; }
}
