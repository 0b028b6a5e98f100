/**
 * Datasets in the JSONL formats users bring (SFT, preference, unpaired, ranked, conversational, stepwise; the last tokenized as TRL's PRMTrainer does) with file:line errors, truncation to a maximum length, and the deterministic batch order that makes resume exact.
 */
package dev.align4j.data;
