package dev.align4j.train.offline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.data.Batches;
import dev.align4j.data.StepwiseExample;
import dev.align4j.loss.ProcessRewardLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Scoring;
import dev.align4j.model.Tokenizer;
import dev.align4j.train.Loop;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Process reward model training (Lightman et al. 2023; Math-Shepherd, Wang et al. 2024; TRL's PRMTrainer): the decoder with
 * a per-token classification head (saved as *ForTokenClassification, num_labels 2, class 1 = "step correct") learns each
 * step's label at the last token of that step + separator ({@link StepwiseExample#tokenize}); every other token is ignored.
 * Logs {@code loss}, {@code prm/step_accuracy} and {@code prm/trajectory_accuracy}; held out, also the majority-class rates
 * to compare them with ({@link #evaluate}). Where the labels come from (a stepwise file, gold step labels, Monte Carlo
 * rollouts) is not its business: {@code pipeline.StepwiseData} builds them.
 */
public final class ProcessRewardModel {
    private ProcessRewardModel() {}

    /**
     * Process reward model settings; defaults in {@link #DEFAULTS} (TRL's PRMConfig: separator "\n", all steps trained).
     *
     * @param stepSeparator       appended to every step before tokenizing; the label sits on its last token
     * @param trainOnLastStepOnly train on the last step's label only (TRL's {@code train_on_last_step_only}); evaluation
     *                            still scores every step
     * <p>A trajectory longer than {@code batching.maxLength} is cut at its end as TRL cuts it ({@code batching.truncation}
     * does not apply); steps cut off lose their labels.
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, String stepSeparator, boolean trainOnLastStepOnly) {
        public Config {
            UserError.check(stepSeparator != null && !stepSeparator.isEmpty(), "step-separator must be a non-empty string: '%s'", stepSeparator);
        }

        /** Every setting's default; change some by name: {@code Configs.with(DEFAULTS, "steps", 30)}. */
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 300, "lr", 1e-4, "weightDecay", 0.0,
                "warmupSteps", 20, "batchSize", 32, "stepSeparator", "\n", "trainOnLastStepOnly", false);
    }

    /** A prompt, its steps and one target per step in [0, 1] (1 = correct; fractions are Math-Shepherd's soft labels). */
    public record Trajectory(String prompt, List<String> steps, double[] labels) {
        public Trajectory {
            steps = List.copyOf(steps);
            if (labels.length != steps.size()) throw new IllegalArgumentException(steps.size() + " steps but " + labels.length + " labels");
        }

        public static Trajectory of(StepwiseExample e) {
            double[] y = new double[e.labels().size()];
            for (int i = 0; i < y.length; i++) y[i] = e.labels().get(i) ? 1 : 0;
            return new Trajectory(e.prompt(), e.steps(), y);
        }
    }

    /** A tokenized trajectory: ids, the label positions that survived truncation and their targets. */
    record Row(int[] ids, int[] at, float[] y) {}

    public record Result(double finalLoss, double finalStepAccuracy, Path lastCheckpoint) {}

    public static Result train(LlamaModel prm, List<Trajectory> data, Config cfg, Session io) {
        if (!prm.config.tokenClassification()) throw new IllegalArgumentException("a process reward model needs a token-classification head (withTokenClassificationHead)");
        List<Row> rows = tokenize(io.tok(), data, cfg.stepSeparator(), cfg.batching().maxLength(), cfg.trainOnLastStepOnly());
        if (rows.isEmpty()) throw new UserError("prm: no trajectory has a labelled step within --max-length " + cfg.batching().maxLength());
        Batches order = new Batches(rows.size(), cfg.batching().batchSize(), cfg.run().seed());
        Loop.Outcome out = Loop.run(io, Loop.Plan.of("prm", cfg.run(), cfg, prm, 10), new Loop.Recipe() {
            public void step(Loop.Step s) {
                s.update((micro, m) -> {
                    int[] idx = Batching.rows(order, s.step, micro, cfg.run());
                    ProcessRewardLoss.Result r = loss(prm, rows, idx, io.tok().padId);
                    m.put("prm/step_accuracy", r.stepAccuracy());
                    m.put("prm/trajectory_accuracy", r.trajectoryAccuracy());
                    return r.loss();
                });
                s.metrics.put("epoch", order.epoch(s.step * cfg.run().gradAccum()));
            }

            public void save(ObjectNode state, Path dir) { StepwiseExample.saveSeparator(dir, cfg.stepSeparator()); }   // scorers split steps as trained
        });
        return new Result(out.get("loss"), out.get("prm/step_accuracy"), out.lastCheckpoint());
    }

    /** The loss of rows {@code idx}: one forward, the "correct" logit at every token, BCE at the label positions. */
    static ProcessRewardLoss.Result loss(LlamaModel prm, List<Row> rows, int[] idx, int padId) {
        int b = idx.length, t = 0;
        for (int i : idx) t = Math.max(t, rows.get(i).ids().length);
        long[] ids = new long[b * t];
        float[] y = new float[b * t], mask = new float[b * t];
        java.util.Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            Row row = rows.get(idx[r]);
            for (int j = 0; j < row.ids().length; j++) ids[r * t + j] = row.ids()[j];
            for (int k = 0; k < row.at().length; k++) {
                y[r * t + row.at()[k]] = row.y()[k];
                mask[r * t + row.at()[k]] = 1;
            }
        }
        Tensor z = Scoring.stepLogits(prm, Torch.longs(ids, b, t));                   // (B, T) right-padded: causal is exact
        return ProcessRewardLoss.stepwise(z, Torch.floats(y, b, t), Torch.floats(mask, b, t));
    }

    /**
     * Every trajectory tokenized ({@link StepwiseExample#tokenize}); with {@code lastOnly} only the last step keeps its label
     * (and a trajectory whose last step was truncated away trains on nothing). Trajectories left without a label are reported
     * and skipped.
     */
    static List<Row> tokenize(Tokenizer tok, List<Trajectory> data, String separator, int maxLength, boolean lastOnly) {
        List<Row> rows = new ArrayList<>(data.size());
        int empty = 0;
        for (Trajectory tr : data) {
            StepwiseExample.Tokens t = StepwiseExample.tokenize(tok, tr.prompt(), tr.steps(), separator, maxLength);
            List<Integer> at = new ArrayList<>();
            List<Float> y = new ArrayList<>();
            for (int i = lastOnly ? tr.steps().size() - 1 : 0; i < tr.steps().size(); i++)
                if (i >= 0 && t.stepEnds()[i] >= 0) { at.add(t.stepEnds()[i]); y.add((float) tr.labels()[i]); }
            if (at.isEmpty()) { empty++; continue; }
            float[] ys = new float[y.size()];
            for (int i = 0; i < ys.length; i++) ys[i] = y.get(i);
            rows.add(new Row(t.ids(), at.stream().mapToInt(Integer::intValue).toArray(), ys));
        }
        if (empty > 0) System.err.println("prm: " + empty + " trajectories without a labelled step within max-length " + maxLength + " were skipped");
        return rows;
    }

    /**
     * Held-out metrics over every step of {@code data}, no gradients: {@code loss}, {@code prm/step_accuracy},
     * {@code prm/trajectory_accuracy}, and what always answering the majority class of these labels would score,
     * {@code prm/majority_step_accuracy} and {@code prm/majority_trajectory_accuracy}; {@code prm/positive_rate} is the share
     * of steps labelled correct.
     */
    public static Map<String, Double> evaluate(LlamaModel prm, Tokenizer tok, List<Trajectory> data, String separator, int maxLength) {
        List<Row> rows = tokenize(tok, data, separator, maxLength, false);
        double loss = 0, rightSteps = 0, rightTraj = 0, steps = 0, positive = 0;
        try (NoGradGuard g = new NoGradGuard()) {
            for (int from = 0; from < rows.size(); from += 64) {
                int b = Math.min(64, rows.size() - from);
                int[] idx = new int[b];
                for (int j = 0; j < b; j++) idx[j] = from + j;
                try (PointerScope s = new PointerScope()) {
                    ProcessRewardLoss.Result r = loss(prm, rows, idx, tok.padId);
                    loss += Torch.item(r.loss()) * r.steps();
                    rightSteps += r.stepAccuracy() * r.steps();
                    rightTraj += r.trajectoryAccuracy() * b;
                    steps += r.steps();
                }
            }
        }
        for (Row r : rows) for (float y : r.y()) if (y > 0.5) positive++;
        boolean majorityCorrect = positive >= steps - positive;
        double majorityTraj = 0;
        for (Row r : rows) {
            boolean all = true;
            for (float y : r.y()) all &= (y > 0.5) == majorityCorrect;
            if (all) majorityTraj++;
        }
        Map<String, Double> m = new LinkedHashMap<>();
        double n = Math.max(1, steps), trajectories = Math.max(1, rows.size());
        m.put("loss", loss / n);
        m.put("prm/step_accuracy", rightSteps / n);
        m.put("prm/trajectory_accuracy", rightTraj / trajectories);
        m.put("prm/majority_step_accuracy", Math.max(positive, steps - positive) / n);
        m.put("prm/majority_trajectory_accuracy", majorityTraj / trajectories);
        m.put("prm/positive_rate", positive / n);
        m.put("prm/trajectories", (double) rows.size());
        return m;
    }
}
