package dev.align4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Distributed;
import dev.align4j.core.Json;
import dev.align4j.core.Progress;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Recompute;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop, written once for every method. A method is a {@link Recipe}: what one step does (work
 * without gradients, then one or more {@link Step#update updates}) and any state of its own to checkpoint.
 * The loop owns everything else:
 *
 * <pre>
 * resume (weights, optimizer moments, skipped-step count, metrics rewound, the recipe's state)
 * for step in start+1 .. steps:
 *     with a native scope and the run's precision (fp32, or bf16 autocast over fp32 master weights):  recipe.step(s)
 *         s.update(loss):   requiresGrad on → for each micro-batch (own scope): loss / accum → backward
 *                           → requiresGrad off → (under launch: average gradients over the ranks) → clip each
 *                           group → skip if non-finite, else AdamW step at the scheduled lr → zero grads
 *     (under launch: average the step's metrics over the ranks)
 *     log (every logEvery, first, last) → evaluate (evalEvery, last) → checkpoint (saveEvery, last)
 * </pre>
 *
 * Under {@code ./align4j launch} ({@link Distributed}) each rank runs this loop on its shard: gradients are averaged over
 * the ranks before clipping, so every rank takes the same step; the step's metrics are averaged over the ranks; rank 0
 * alone evaluates, logs to files and writes checkpoints, and every rank resumes from them.
 *
 * The learning-rate schedule counts optimizer updates: {@code steps × updatesPerStep} in all, update k of step s
 * at index (s − 1)·updatesPerStep + k + 1. It never computes a loss and never samples.
 */
public final class Loop {
    private Loop() {}

    /**
     * Parameters that train together under one AdamW and peak learning rate. A recipe's first group is the model
     * saved at a checkpoint's root (its params may include extra tensors, e.g. PPO's value head, whose moments
     * then travel in that optimizer's state); any further group is saved in a subdirectory named after it.
     */
    public record Group(String name, LlamaModel model, Map<String, Tensor> params, double lr) {
        public static Group of(LlamaModel model, double lr) { return new Group("model", model, model.trainableParameters(), lr); }
    }

    /** A training method on the loop. */
    public interface Recipe {
        /** Runs one step: work without gradients, then {@link Step#update} once or more; puts its metrics in {@code s.metrics}. */
        void step(Step s);

        /** Adds the method's own resume state to {@code state} (trainer_state.json) and writes files into the checkpoint {@code dir}. */
        default void save(ObjectNode state, Path dir) {}

        /** Restores what {@link #save} wrote, before the loop restores weights and optimizers; a mismatch is a user error. */
        default void restore(JsonNode state, Path checkpoint) {}
    }

    /** The loss of one micro-batch; may put per-micro-batch metrics in {@code m} (the loop averages them over the step). */
    @FunctionalInterface
    public interface MicroLoss {
        Tensor loss(int micro, Map<String, Double> m);
    }

    /**
     * How the loop runs a method.
     *
     * @param stage          metrics stage and checkpoint trainer name (sft, dpo, grpo, …)
     * @param run            the common settings
     * @param config         the resolved config record, saved in every checkpoint's trainer_state.json
     * @param groups         what trains; the first group's model is the checkpoint's model
     * @param updatesPerStep optimizer updates per step (GRPO's μ, PPO's epochs × minibatches; 1 otherwise)
     * @param logEvery       log every N steps (and the first and last)
     */
    public record Plan(String stage, RunConfig run, Object config, List<Group> groups, int updatesPerStep, int logEvery) {
        public Plan {
            if (groups.isEmpty()) throw new IllegalArgumentException("nothing to train");
            if (updatesPerStep < 1 || logEvery < 1) throw new IllegalArgumentException("updatesPerStep and logEvery must be >= 1");
        }

        /** The common case: one model at the run's lr, one update a step. */
        public static Plan of(String stage, RunConfig run, Object config, LlamaModel model, int logEvery) {
            return new Plan(stage, run, config, List.of(Group.of(model, run.lr())), 1, logEvery);
        }
    }

    /** One step as the recipe sees it. */
    public static final class Step {
        /** The step number, from 1. */
        public final long step;
        /** Metrics of this step: the recipe's, the update metrics averaged over its micro-batches so far, then grad_norm, learning_rate, skipped_steps. */
        public final Map<String, Double> metrics = new LinkedHashMap<>();
        private final Map<String, double[]> averaged = new LinkedHashMap<>();   // key → {sum, count} over micro-batches
        private final Run loop;
        private int updates;

        private Step(Run loop, long step) {
            this.loop = loop;
            this.step = step;
        }

        /** One optimizer update over {@code run.gradAccum()} micro-batches; returns the mean loss. */
        public double update(MicroLoss loss) { return update(loop.plan.run().gradAccum(), loss); }

        /** One optimizer update over {@code micros} micro-batches, each backpropagated as loss / micros. */
        public double update(int micros, MicroLoss loss) {
            if (updates >= loop.plan.updatesPerStep())
                throw new IllegalStateException(loop.plan.stage() + ": more than " + loop.plan.updatesPerStep() + " updates in step " + step);
            long index = (step - 1) * loop.plan.updatesPerStep() + ++updates;
            double total = 0;
            loop.requiresGrad(true);
            try {
                for (int micro = 0; micro < micros; micro++) {
                    try (PointerScope scope = new PointerScope()) {
                        Recompute.clear();                                       // nothing pending from outside this micro-batch's scope
                        Map<String, Double> m = new LinkedHashMap<>();
                        Tensor l = loss.loss(micro, m);
                        Recompute.backward(micros > 1 ? l.div(Torch.s((double) micros)) : l);   // plain backward, then checkpointed blocks
                        double value = Torch.item(l);
                        total += value / micros;
                        m.putIfAbsent("loss", value);
                        m.forEach((k, v) -> { double[] a = averaged.computeIfAbsent(k, x -> new double[2]); a[0] += v; a[1]++; });
                    }
                }
            } finally {
                Recompute.clear();
                loop.requiresGrad(false);
            }
            averaged.forEach((k, a) -> metrics.put(k, a[0] / a[1]));
            loop.optimizerStep(this, total, index);
            return total;
        }
    }

    /** How a run ended: the newest checkpoint (null without an output directory) and the last step's metrics. */
    public record Outcome(Path lastCheckpoint, Map<String, Double> last) {
        /** A metric of the last step, NaN when it was not logged then. */
        public double get(String key) { return last.getOrDefault(key, Double.NaN); }
    }

    /** Runs {@code recipe} under {@code plan}. */
    public static Outcome run(Session io, Plan plan, Recipe recipe) {
        Run r = new Run(io, plan);
        try {
            return r.loop(recipe);
        } finally {
            r.close();
        }
    }

    /** The state of one run: optimizers, schedules, the skipped-step count and the newest checkpoint. */
    private static final class Run {
        final Session io;
        final Plan plan;
        final List<AdamW> opts = new ArrayList<>();
        final List<LrSchedule> schedules = new ArrayList<>();
        long skipped;
        Path lastCheckpoint;
        double[] lastNorms;
        Precision precision;          // resolved in loop(): a resumed auto run keeps its checkpoint's choice

        Run(Session io, Plan plan) {
            this.io = io;
            this.plan = plan;
            RunConfig run = plan.run();
            for (Group g : plan.groups()) {
                opts.add(new AdamW(g.params(), run.weightDecay()));
                schedules.add(new LrSchedule(g.lr(), run.warmupSteps(), run.steps() * plan.updatesPerStep(), 0.1));
                if (g.model() != null) g.model().gradientCheckpointing(run.gradientCheckpointing());
            }
            requiresGrad(false);
        }

        Outcome loop(Recipe recipe) {
            RunConfig run = plan.run();
            long start = resume(recipe);
            if (precision == null) {
                precision = run.dtype().resolve();
                // under launch every rank runs rank 0's choice: each probes its own CPU, and the ranks must do the same arithmetic
                Distributed d = Distributed.get();
                if (d.isDistributed() && run.dtype() == Precision.AUTO)
                    precision = d.sum(d.isMain() && precision == Precision.BFLOAT16 ? 1.0 : 0.0) > 0.5 ? Precision.BFLOAT16 : Precision.FLOAT32;
            }
            Map<String, Double> last = Map.of();
            Progress progress = io.metrics().isQuiet() ? null : new Progress(plan.stage() + ": step", run.steps(), 30);
            for (long step = start + 1; step <= run.steps(); step++) {
                Step s = new Step(this, step);
                lastNorms = null;
                try (PointerScope scope = new PointerScope(); Precision.Autocast ac = precision.autocast()) {
                    recipe.step(s);
                } catch (UserError e) {                                    // e.g. a reward process that died: say where to resume from
                    throw new UserError(plan.stage() + ": step " + step + ": " + e.getMessage() + "; last checkpoint: "
                            + (lastCheckpoint == null ? "none" : lastCheckpoint), e);
                }
                Distributed.get().averageMetrics(s.metrics);                   // rank 0 logs the job's mean
                if (lastNorms != null) s.metrics.put("grad_norm", lastNorms[0]);
                s.metrics.put("learning_rate", schedules.get(0).at(step * plan.updatesPerStep()));
                finish(s, recipe);
                last = s.metrics;
                if (progress != null) progress.update(step);
            }
            return new Outcome(lastCheckpoint, last);
        }

        void requiresGrad(boolean on) {
            for (Group g : plan.groups()) for (Tensor t : g.params().values()) t.requires_grad_(on);
        }

        /** Clip every group, then step all of them, or (non-finite loss or norm, SKIP) none; gradients are zeroed either way. */
        void optimizerStep(Step s, double loss, long index) {
            Distributed dist = Distributed.get();
            if (dist.isDistributed()) {                                    // every rank steps on the mean gradient
                for (Group g : plan.groups()) dist.averageGradients(g.params().values());
                loss = dist.mean(loss);
            }
            double[] norms = new double[opts.size()];
            double total = 0;
            for (int i = 0; i < opts.size(); i++) total += norms[i] = opts.get(i).clipGradNorm(plan.run().maxGradNorm());
            if (!skip(s.step, loss, total))
                for (int i = 0; i < opts.size(); i++) opts.get(i).step(schedules.get(i).at(index));
            for (AdamW o : opts) o.zeroGrad();
            lastNorms = norms;
        }

        /** True when the update must be dropped (non-finite, SKIP); with STOP a user error names the last good checkpoint. */
        boolean skip(long step, double loss, double gradNorm) {
            if (Double.isFinite(loss) && Double.isFinite(gradNorm)) return false;
            String what = "non-finite loss or gradient";
            if (plan.run().onNonFinite() == NonFinite.SKIP) {
                skipped++;
                System.err.println(plan.stage() + ": step " + step + " skipped: " + what + " (loss " + loss + ", grad_norm " + gradNorm
                        + "); " + skipped + " skipped so far");
                return true;
            }
            throw new UserError(plan.stage() + ": " + what + " at step " + step + " (loss " + loss + ", grad_norm " + gradNorm
                    + "); last good checkpoint: " + (lastCheckpoint == null ? "none" : lastCheckpoint) + ". Try a lower --lr.");
        }

        /**
         * Resumes when asked: the recipe's state, then weights and optimizer moments of every group, the skipped-step
         * count, and metrics.jsonl rewound to the checkpoint's copy so that no step is logged twice. Returns the step
         * training continues after (0 when fresh).
         */
        long resume(Recipe recipe) {
            if (io.output() == null) return 0;
            if (io.resume() == null) {
                List<Path> previous = Checkpoints.list(io.output());
                if (!previous.isEmpty())
                    throw new UserError(io.output() + ": holds checkpoints of a previous run (" + previous.get(previous.size() - 1).getFileName()
                            + "); resume it (an empty resume path means the newest) or train into another directory");
                return 0;
            }
            Path from = Checkpoints.resolve(io.output(), io.resume());
            if (from == null) return 0;
            JsonNode state = Json.read(from.resolve("trainer_state.json"));
            recipe.restore(state, from);
            for (int i = 0; i < opts.size(); i++) {
                Group g = plan.groups().get(i);
                Checkpoints.restore(i == 0 ? from : from.resolve(g.name()), g.model(), opts.get(i));
            }
            long step = state.get("step").asLong();
            skipped = state.path("skipped_steps").asLong(0);
            if (plan.run().dtype() == Precision.AUTO && state.has("compute_dtype")) {   // the same arithmetic as the run being continued
                precision = Precision.parse(state.get("compute_dtype").asText());
                System.err.println("dtype auto: " + precision.describe() + ", as the checkpoint's run");
            }
            io.metrics().rewind(from.resolve(Checkpoints.METRICS), step);
            System.err.println(plan.stage() + ": resumed from " + from + " at step " + step);
            lastCheckpoint = from;
            return step;
        }

        /** Logs (a resumed run logs exactly the rows an uninterrupted one would), evaluates and checkpoints when due. */
        void finish(Step s, Recipe recipe) {
            RunConfig run = plan.run();
            long step = s.step;
            Torch.releaseFreedMemory(step);
            if (skipped > 0) s.metrics.put("skipped_steps", (double) skipped);
            int logEvery = run.loggingSteps() > 0 ? run.loggingSteps() : plan.logEvery();
            if (step % logEvery == 0 || step == run.steps() || step == 1) io.metrics().log(plan.stage(), step, s.metrics);
            boolean rank0 = Distributed.get().isMain();
            if (rank0 && io.eval() != null && ((run.evalEvery() > 0 && step % run.evalEvery() == 0) || step == run.steps()))
                try (PointerScope scope = new PointerScope()) {                   // generation and scoring tensors die here
                    io.metrics().log("eval/" + plan.stage(), step, io.eval().evaluate(step));
                }
            boolean save = io.output() != null && ((run.saveEvery() > 0 && step % run.saveEvery() == 0) || step == run.steps());
            if (save && !rank0) lastCheckpoint = io.output().resolve("checkpoint-" + step);   // rank 0 writes it
            else if (save) {
                ObjectNode state = Json.object();
                state.put("trainer", plan.stage());
                state.put("global_step", step);                            // as transformers' TrainerState
                state.put("max_steps", run.steps());
                state.put("logging_steps", logEvery);
                state.set("log_history", logHistory());
                state.put("optimizer_steps", opts.get(0).steps());
                state.put("skipped_steps", skipped);
                state.put("compute_dtype", precision.flag());
                state.set("config", Json.MAPPER.valueToTree(plan.config()));
                Group main = plan.groups().get(0);
                lastCheckpoint = Checkpoints.save(io.output(), step, main.model(), io.tok(), opts.get(0), state, run.keep(), io.metrics(), lastCheckpoint, dir -> {
                    for (int i = 1; i < opts.size(); i++) Checkpoints.saveModel(dir.resolve(plan.groups().get(i).name()), plan.groups().get(i).model(), io.tok(), opts.get(i));
                    recipe.save(state, dir);
                });
            }
        }

        /** This stage's logged rows as transformers' {@code log_history}: {"step": N, metrics…}, evaluation metrics prefixed {@code eval_}. */
        com.fasterxml.jackson.databind.node.ArrayNode logHistory() {
            var history = Json.MAPPER.createArrayNode();
            for (var row : io.metrics().rows()) {
                boolean eval = row.stage().equals("eval/" + plan.stage());
                if (!eval && !row.stage().equals(plan.stage())) continue;
                ObjectNode o = history.addObject();
                row.values().forEach((k, v) -> { if (Double.isFinite(v)) o.put(eval ? "eval_" + k.replace('/', '_') : k, v); });
                o.put("step", row.step());
            }
            return history;
        }

        void close() {
            requiresGrad(false);
            opts.forEach(AdamW::close);
        }
    }
}
