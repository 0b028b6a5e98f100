/**
 * The speed and memory benchmark behind {@code ./align4j bench}: GEMM rate, forward / SFT-step / DPO-step throughput
 * with MFU, KV-cache generation at batch 1–64, and memory over a long run. It measures; it never trains a model for use.
 */
package dev.align4j.bench;
