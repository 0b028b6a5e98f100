/**
 * Reward functions for reward-maximising trainers ({@code RewardFunction}, {@code Rewards}, ensembles: mean, min, mean minus lambda std), scorers of partial solutions ({@code PrefixScorer}), and pairwise judges P(a ≻ b | x) for the general-preference trainers ({@code Judge}, {@code Judges}: gold, pm:DIR, rm:DIR).
 */
package dev.align4j.reward;
