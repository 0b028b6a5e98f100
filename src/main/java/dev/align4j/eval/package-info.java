/**
 * Held-out evaluation: greedy evaluation during training ({@code Evaluator}), models side by side for the {@code eval}
 * command ({@code ModelEval}: pass@k, maj@k, win rate, exact KL against a reference, seed aggregates), the statistics
 * they use ({@code Stats}), exact win rates and exploitability of the preference game of {@code cycle} ({@code Game}), self-correction over several attempts with its Δ metrics ({@code Revisions}), and the HTML reports with their PNG plots. Never takes gradients.
 */
package dev.align4j.eval;
