/**
 * Scoring completions: the built-in reward functions and their weighted sum ({@link dev.align4j.reward.Rewards}), external
 * reward processes and endpoints, reward-model ensembles (mean, min, mean minus lambda std), and process reward models as a
 * reward or a prefix scorer ({@link dev.align4j.reward.ProcessRewards}: per-step P(correct) aggregated by min, product, last or mean).
 */
package dev.align4j.reward;
