/**
 * End-to-end jobs that chain the trainers: {@link dev.align4j.pipeline.Quickstart} (a fresh model → SFT → sampled
 * pairs from a simulated annotator → RPO → optional GRPO → held-out evaluation → report), best-of-N and rejection-sampling
 * fine-tuning, and step-labelled trajectories for process reward models ({@link dev.align4j.pipeline.StepwiseData}: gold or
 * Math-Shepherd Monte Carlo labels). Pipelines call trainers
 * through their public entry points; no training loop lives here.
 */
package dev.align4j.pipeline;
