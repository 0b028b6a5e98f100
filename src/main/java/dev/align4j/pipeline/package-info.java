/**
 * End-to-end jobs that chain sampling, scoring and the trainers:
 * <ul>
 * <li>{@link dev.align4j.pipeline.Quickstart}: the main job (a fresh model → SFT → sampled pairs from a simulated
 * annotator → RPO → GRPO → held-out evaluation → report);</li>
 * <li>{@link dev.align4j.pipeline.BestOfN}: best-of-N, majority and reward-weighted vote at inference, and as a source of
 * chosen completions and best-vs-worst pairs;</li>
 * <li>{@link dev.align4j.pipeline.Rft}: rejection-sampling fine-tuning / expert iteration (RAFT, ReST-EM, B-STaR);</li>
 * <li>{@link dev.align4j.pipeline.Mcts}: tree search over steps → step-level preference pairs → step-level DPO, iterated
 * (MCTS-DPO, Step-APO), and its equal-budget outcome-level baseline;</li>
 * <li>{@link dev.align4j.pipeline.StepwiseData}: step-labelled trajectories for process reward models (gold step labels or
 * Math-Shepherd's Monte Carlo labels);</li>
 * <li>{@link dev.align4j.pipeline.Overoptimization}: proxy-vs-gold reward curves over KL (over-optimization study).</li>
 * </ul>
 * Pipelines call trainers through their public entry points; no training loop lives here.
 */
package dev.align4j.pipeline;
