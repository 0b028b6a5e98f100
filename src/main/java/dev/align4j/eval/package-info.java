/**
 * Held-out evaluation on built-in tasks and the HTML report with its PNG plots.
 */
package dev.align4j.eval;
