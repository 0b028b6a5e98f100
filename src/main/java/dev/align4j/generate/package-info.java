/**
 * Batched generation with a KV cache: sampling rules (greedy, temperature, top-k, top-p), stop conditions, per-row log-probs. Never takes gradients.
 */
package dev.align4j.generate;
