/**
 * Trainers, one readable loop each (SFT, DPO family, KTO, listwise, reward model, GRPO/RLOO), their validated config records, AdamW, the learning-rate schedule, advantages, checkpoints and the quickstart pipeline.
 */
package dev.align4j.train;
