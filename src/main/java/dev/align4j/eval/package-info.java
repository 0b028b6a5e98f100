/**
 * Held-out evaluation on built-in tasks, the HTML report and its PNG plots, and the speed benchmark.
 */
package dev.align4j.eval;
