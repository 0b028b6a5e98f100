package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;

import java.nio.file.Path;
import java.util.Map;

/**
 * What every trainer does at the end of a step, in one place: refuse a non-finite loss or gradient
 * (naming the last good checkpoint), log, evaluate and checkpoint on their cadence. The loops stay in
 * the trainers; only this shared tail lives here.
 *
 * @param trainer   stage name for metrics and checkpoints (sft, dpo, …)
 * @param steps     total steps of the run
 * @param logEvery  log every N steps (and the first and last)
 * @param evalEvery evaluate every N steps (0 = at the end only)
 * @param saveEvery checkpoint every N steps (0 = at the end only)
 */
record StepEnd(String trainer, long steps, int logEvery, int evalEvery, int saveEvery, int keep, Path output, Metrics metrics,
               SftTrainer.EvalHook eval, ObjectNode config) {

    /** Throws a user error for a non-finite loss or gradient norm. */
    void checkFinite(long step, double loss, double gradNorm, Path lastCheckpoint) {
        if (Double.isFinite(loss) && Double.isFinite(gradNorm)) return;
        throw new UserError(trainer + ": non-finite loss or gradient at step " + step + " (loss " + loss + ", grad_norm " + gradNorm
                + "); last good checkpoint: " + (lastCheckpoint == null ? "none" : lastCheckpoint) + ". Try a lower --lr.");
    }

    /**
     * Logs {@code m} (every {@code logEvery}th, the first and the last step), evaluates and checkpoints when due.
     * {@code extra} adds trainer-specific resume state. Returns the newest checkpoint (or {@code last}).
     */
    Path finish(long step, long firstStep, Map<String, Double> m, LlamaModel model, Tokenizer tok, AdamW opt, ObjectNode extra, Path last) {
        if (step % logEvery == 0 || step == steps || step == firstStep) metrics.log(trainer, step, m);
        if (eval != null && ((evalEvery > 0 && step % evalEvery == 0) || step == steps)) metrics.log("eval/" + trainer, step, eval.evaluate(step));
        if (output != null && ((saveEvery > 0 && step % saveEvery == 0) || step == steps)) {
            ObjectNode state = Json.object();
            state.put("trainer", trainer);
            state.put("optimizer_steps", opt.steps());
            if (extra != null) state.setAll(extra);
            state.set("config", config);
            return Checkpoints.save(output, step, model, tok, opt, state, keep);
        }
        return last;
    }
}
