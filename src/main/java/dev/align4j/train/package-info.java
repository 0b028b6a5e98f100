/**
 * The training loop, written once ({@link dev.align4j.train.Loop}), and what every method shares: the common run
 * settings ({@link dev.align4j.train.RunConfig}), where a run reads and writes ({@link dev.align4j.train.Session}),
 * AdamW, the learning-rate schedule and checkpoints. Methods are recipes on the loop in two subpackages:
 * {@code train.offline} (SFT, the DPO family and MODPO, KTO, listwise, reward models) and {@code train.online}
 * (rollouts, advantage estimators, GRPO/RLOO/REINFORCE++, PPO, online DPO). See docs/architecture.md.
 */
package dev.align4j.train;
