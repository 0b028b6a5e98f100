/**
 * Offline methods as recipes on {@link dev.align4j.train.Loop}, each trained from a fixed dataset: SFT, the DPO family
 * (and MODPO), KTO, listwise (LiPO-λ, ListMLE, PRO) Bradley–Terry reward models and process reward models. Each file tokenizes its data,
 * precomputes what never changes (reference log-probs), and supplies one micro-batch's loss and metrics.
 */
package dev.align4j.train.offline;
