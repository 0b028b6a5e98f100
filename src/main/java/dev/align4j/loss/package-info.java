/**
 * Loss functions as small pure functions over log-probabilities or scores, each with its formula and paper: SFT, the DPO family and reference-free variants, MODPO, KTO, listwise (LiPO-lambda, ListMLE, PRO), reward models, process reward models (per-step cross-entropy), and the clipped policy-gradient losses of online RL. No model, config or logging inside.
 */
package dev.align4j.loss;
