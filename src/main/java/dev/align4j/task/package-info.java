/**
 * Built-in tasks with gold rewards and disjoint train/test splits, the simulated annotator that turns gold rewards into feedback of every kind, gold pairwise preferences ({@code GoldPreference}; intransitive for {@code cycle}), and dataset export.
 */
package dev.align4j.task;
