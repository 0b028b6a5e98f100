package dev.align4j.generate;

/**
 * One generated row.
 *
 * @param tokens       the new token ids (the EOS token included when it ended the row)
 * @param text         decoded text without special tokens, cut before a stop string
 * @param logprobs     log π(token) under the unmodified model (temperature 1, no top-k/top-p): what
 *                     importance ratios and KL terms need
 * @param finishReason "eos", "stop" (a stop string) or "length"
 */
public record Completion(int[] tokens, String text, float[] logprobs, String finishReason) {
    public double sumLogprob() {
        double s = 0;
        for (float l : logprobs) s += l;
        return s;
    }
}
