/**
 * Infrastructure every package uses: native loading and tensor helpers ({@link dev.align4j.core.Torch}), JSON, atomic file writes, the metrics sink (console, JSONL, TensorBoard), progress lines, the c10d process group of a multi-process run ({@link dev.align4j.core.Distributed}), and {@link dev.align4j.core.UserError} for mistakes in what the user gave us. Not here: any model or training logic.
 */
package dev.align4j.core;
