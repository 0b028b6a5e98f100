/**
 * Combining reward signals: reward-model ensembles (mean, min, mean minus lambda std).
 */
package dev.align4j.reward;
