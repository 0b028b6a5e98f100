package dev.align4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
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
 * @param policy    stop or skip on a non-finite loss / gradient norm
 * @param skipped   a one-element counter of skipped steps, logged as {@code skipped_steps}
 */
record StepEnd(String trainer, long steps, int logEvery, int evalEvery, int saveEvery, int keep, Path output, Metrics metrics,
               SftTrainer.EvalHook eval, ObjectNode config, NonFinite policy, long[] skipped) {

    StepEnd(String trainer, long steps, int logEvery, int evalEvery, int saveEvery, int keep, Path output, Metrics metrics,
            SftTrainer.EvalHook eval, ObjectNode config, NonFinite policy) {
        this(trainer, steps, logEvery, evalEvery, saveEvery, keep, output, metrics, eval, config, policy, new long[1]);
    }

    /**
     * Resumes when asked: restores weights, optimizer state and the skipped-step count from the checkpoint
     * {@code resume} names (or the newest in the output directory), and rewinds metrics.jsonl to the
     * checkpoint's copy so that no step is logged twice. Returns where training continues: step 0, no
     * checkpoint and an empty state when starting fresh.
     */
    Resumed resume(Path resume, LlamaModel model, AdamW opt) {
        Path from = output == null ? null : Checkpoints.resolve(output, resume);
        if (from == null) return new Resumed(null, Json.object(), 0);
        var state = Checkpoints.restore(from, model, opt);
        long step = state.get("step").asLong();
        skipped[0] = state.path("skipped_steps").asLong(0);
        metrics.rewind(from.resolve(Checkpoints.METRICS), step);
        System.err.println(trainer + ": resumed from " + from + " at step " + step);
        return new Resumed(from, state, step);
    }

    /** Where a run continues: the checkpoint it resumed from (null when fresh), its trainer_state.json and step. */
    record Resumed(Path checkpoint, com.fasterxml.jackson.databind.JsonNode state, long step) {}

    /**
     * True when this step must be skipped: its loss or gradient norm is NaN/Inf and the policy is SKIP
     * (the caller then drops the gradients). With STOP a user error names the last good checkpoint.
     */
    boolean skip(long step, double loss, double gradNorm, Path lastCheckpoint) {
        if (Double.isFinite(loss) && Double.isFinite(gradNorm)) return false;
        if (policy == NonFinite.SKIP) {
            skipped[0]++;
            System.err.println(trainer + ": step " + step + " skipped: non-finite loss or gradient (loss " + loss + ", grad_norm " + gradNorm
                    + "); " + skipped[0] + " skipped so far");
            return true;
        }
        throw new UserError(trainer + ": non-finite loss or gradient at step " + step + " (loss " + loss + ", grad_norm " + gradNorm
                + "); last good checkpoint: " + (lastCheckpoint == null ? "none" : lastCheckpoint) + ". Try a lower --lr.");
    }

    /**
     * Logs {@code m} (every {@code logEvery}th, the first and the last step; a resumed run logs exactly the rows an uninterrupted one would), evaluates and checkpoints when due.
     * {@code extra} adds trainer-specific resume state. Returns the newest checkpoint (or {@code last}).
     */
    Path finish(long step, long firstStep, Map<String, Double> m, LlamaModel model, Tokenizer tok, AdamW opt, ObjectNode extra, Path last) {
        return finish(step, firstStep, m, model, tok, opt, extra, last, null);
    }

    /** As above; {@code alsoSave} writes more into each checkpoint before it becomes visible (PPO's critic). */
    Path finish(long step, long firstStep, Map<String, Double> m, LlamaModel model, Tokenizer tok, AdamW opt, ObjectNode extra, Path last,
                java.util.function.Consumer<Path> alsoSave) {
        Torch.releaseFreedMemory(step);
        if (skipped[0] > 0) m.put("skipped_steps", (double) skipped[0]);
        if (step % logEvery == 0 || step == steps || step == 1) metrics.log(trainer, step, m);
        if (eval != null && ((evalEvery > 0 && step % evalEvery == 0) || step == steps)) metrics.log("eval/" + trainer, step, eval.evaluate(step));
        if (output != null && ((saveEvery > 0 && step % saveEvery == 0) || step == steps)) {
            ObjectNode state = Json.object();
            state.put("trainer", trainer);
            state.put("optimizer_steps", opt.steps());
            state.put("skipped_steps", skipped[0]);
            if (extra != null) state.setAll(extra);
            state.set("config", config);
            return Checkpoints.save(output, step, model, tok, opt, state, keep, metrics, last, alsoSave);
        }
        return last;
    }
}
