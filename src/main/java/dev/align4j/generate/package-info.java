/**
 * Batched generation with a KV cache: sampling rules (greedy, temperature, top-k, top-p), stop conditions, per-row log-probs;
 * and decoding steered beyond the next-token distribution ({@link dev.align4j.generate.GuidedDecoding}: Value Augmented
 * Sampling, value-guided step beams, likelihood beam search, best-of-N), which reads a scorer of partial solutions through a
 * small interface and knows nothing of what the scorer is; and the multi-attempt prompt of self-correction
 * ({@link dev.align4j.generate.Revision}). Never takes gradients.
 */
package dev.align4j.generate;
