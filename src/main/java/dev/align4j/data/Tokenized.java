package dev.align4j.data;

import dev.align4j.model.Tokenizer;

/**
 * A prompt and completion as token ids, truncated to a maximum length: the prompt loses tokens from its
 * start (keep_end), then the completion from its end (keep_start). The completion ends with EOS.
 */
public record Tokenized(int[] prompt, int[] completion) {

    public static Tokenized of(Tokenizer tok, String prompt, String completion, int maxLength, boolean addEos) {
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
            if (keepPrompt < p.length) p = java.util.Arrays.copyOfRange(p, p.length - keepPrompt, p.length);
            if (p.length + c.length > maxLength) c = java.util.Arrays.copyOf(c, Math.max(0, maxLength - p.length));
        }
        return new Tokenized(p, c);
    }

    public int length() { return prompt.length + completion.length; }
}
