/**
 * The Llama-family decoder and everything needed to use Hugging Face checkpoints with it: config.json, safetensors (memory-mapped), directory IO, tokenizers and chat templates, the KV cache, padded batches and sequence scoring. Not here: training, sampling policy, losses.
 */
package dev.align4j.model;
