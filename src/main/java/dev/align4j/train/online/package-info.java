/**
 * Online methods as recipes on {@link dev.align4j.train.Loop}: each step samples from the current policy
 * ({@link dev.align4j.train.online.Rollout}), scores with reward functions, estimates advantages on tensors
 * ({@link dev.align4j.train.online.Advantages}) and updates: GRPO and its variants, RLOO, REINFORCE++, PPO with a critic,
 * online DPO.
 */
package dev.align4j.train.online;
