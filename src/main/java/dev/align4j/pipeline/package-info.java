/**
 * End-to-end jobs that chain the trainers: {@link dev.align4j.pipeline.Quickstart} (a fresh model → SFT → sampled
 * pairs from a simulated annotator → RPO → optional GRPO → held-out evaluation → report), {@link dev.align4j.pipeline.BestOfN},
 * {@link dev.align4j.pipeline.Rft} (sample → filter → SFT, iterated) and {@link dev.align4j.pipeline.Mcts} (tree search over steps → step
 * pairs → step-level DPO, iterated). Pipelines call trainers
 * through their public entry points; no training loop lives here.
 */
package dev.align4j.pipeline;
