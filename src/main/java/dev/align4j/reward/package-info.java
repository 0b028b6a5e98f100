/**
 * Scoring completions: the built-in reward functions and their weighted sum ({@link dev.align4j.reward.Rewards}), external
 * reward processes and endpoints, reward-model ensembles (mean, min, mean minus lambda std), process reward models as a
 * reward or a prefix scorer ({@link dev.align4j.reward.ProcessRewards}: per-step P(correct) aggregated by min, product, last
 * or mean), scorers of partial solutions ({@link dev.align4j.reward.PrefixScorer}: process reward and value models), and
 * pairwise judges P(a ≻ b | x) for the general-preference trainers ({@link dev.align4j.reward.Judge},
 * {@link dev.align4j.reward.Judges}: gold, pm:DIR, rm:DIR).
 */
package dev.align4j.reward;
