package dev.align4j.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.*;

/**
 * One place metrics go: the console (stderr, one compact line), {@code metrics.jsonl} (one JSON object a
 * line, with step, stage and wall time) and TensorBoard event files under {@code tb/}. Names use the
 * field's vocabulary (loss, rewards/chosen, kl, …), explained in docs/metrics.md. Also keeps every
 * logged row in memory for reports.
 */
public final class Metrics implements AutoCloseable {
    private final Path file;
    private BufferedWriter jsonl;
    private final TensorBoard tb;
    private final long start = System.nanoTime();
    private final List<Row> rows = new ArrayList<>();
    private boolean quiet;

    /** A logged row: the stage (sft, dpo, eval/…), its step and the values. */
    public record Row(String stage, long step, Map<String, Double> values) {}

    /** A metrics sink in {@code dir} whose earlier metrics.jsonl and tb/ (an interrupted round's) are removed first. */
    public static Metrics fresh(Path dir) {
        AtomicFiles.deleteRecursively(dir);
        return new Metrics(dir);
    }

    /**
     * The metrics sink of a training command: files in {@code dir} on rank 0 (the only process when not launched);
     * on the other ranks of {@code ./align4j launch} a quiet in-memory sink, since rank 0 logs for the job.
     */
    public static Metrics ofRun(Path dir) {
        return Distributed.get().isMain() ? new Metrics(dir) : inMemory().quiet(true);
    }

    public Metrics(Path outputDir) {
        try {
            Files.createDirectories(outputDir);
            file = outputDir.resolve("metrics.jsonl");
            jsonl = open(file);
            tb = new TensorBoard(outputDir.resolve("tb"));
        } catch (IOException e) {
            throw new UserError(outputDir + ": cannot write metrics: " + e.getMessage(), e);
        }
    }

    /** A sink that only keeps rows in memory (tests, nested runs). */
    private Metrics() {
        file = null;
        jsonl = null;
        tb = null;
    }

    private static BufferedWriter open(Path file) throws IOException {
        return Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** Copies metrics.jsonl as it stands to {@code dest} (a checkpoint's copy of the metrics so far). */
    public synchronized void snapshot(Path dest) throws IOException {
        if (file == null) return;
        jsonl.flush();
        Files.copy(file, dest, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * After a resume from the checkpoint at {@code step}: metrics.jsonl becomes the checkpoint's copy
     * {@code saved} (dropping rows the interrupted run logged after the checkpoint, which the resumed run
     * logs again), the in-memory rows are reloaded from it, and TensorBoard is told to discard its later
     * events. Without a saved copy (older checkpoints) only the in-memory rows past {@code step} are dropped.
     */
    public synchronized void rewind(Path saved, long step) {
        try {
            if (file != null && Files.exists(saved)) {
                jsonl.close();
                Path tmp = AtomicFiles.tempSibling(file);
                Files.copy(saved, tmp);
                AtomicFiles.move(tmp, file);
                jsonl = open(file);
                rows.clear();
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) continue;
                    var o = Json.MAPPER.readTree(line);
                    Map<String, Double> v = new LinkedHashMap<>();
                    o.fields().forEachRemaining(e -> {
                        var x = e.getValue();
                        if (e.getKey().equals("step") || e.getKey().equals("time_s")) return;
                        if (x.isNumber()) v.put(e.getKey(), x.asDouble());
                        else if (x.isTextual() && x.asText().matches("NaN|-?Infinity")) v.put(e.getKey(), Double.parseDouble(x.asText()));
                    });
                    rows.add(new Row(o.path("stage").asText(), o.path("step").asLong(), v));
                }
            }
            if (tb != null) tb.sessionStart(step + 1);
        } catch (IOException e) {
            throw new UserError(file + ": cannot rewind metrics to the checkpoint: " + e.getMessage(), e);
        }
    }

    public Path file() { return file; }

    public static Metrics inMemory() { return new Metrics(); }

    public Metrics quiet(boolean q) { quiet = q; return this; }

    public boolean isQuiet() { return quiet; }

    /**
     * TensorBoard tags as the Hugging Face trainers write them: {@code train/KEY} for a training stage, {@code eval/KEY}
     * for its evaluations (on by default); off, tags are {@code STAGE/KEY} (a pipeline with several stages in one log).
     */
    public Metrics hfTags(boolean on) { hfTags = on; return this; }

    private boolean hfTags = true;

    String tag(String stage, String key) {
        if (!hfTags) return stage + "/" + key;
        return (stage.startsWith("eval/") ? "eval/" : stage.contains("/") ? stage.substring(0, stage.indexOf('/')) + "/" : "train/") + key;
    }

    public synchronized void log(String stage, long step, Map<String, Double> values) {
        Map<String, Double> v = new LinkedHashMap<>(values);
        rows.add(new Row(stage, step, v));
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (!quiet) {
            StringBuilder sb = new StringBuilder(String.format("[%s] step %d", stage, step));
            v.forEach((k, x) -> sb.append(String.format("  %s=%s", k, fmt(x))));
            System.err.println(sb);
        }
        if (jsonl == null) return;
        ObjectNode o = Json.object();
        o.put("stage", stage);
        o.put("step", step);
        o.put("time_s", Math.round(elapsed * 1000) / 1000.0);
        v.forEach(o::put);
        try {
            jsonl.write(Json.compact(o));
            jsonl.newLine();
            jsonl.flush();
            for (var e : v.entrySet()) if (Double.isFinite(e.getValue())) tb.scalar(tag(stage, e.getKey()), e.getValue(), step);
            tb.flush();
        } catch (IOException e) {
            throw new UserError(file + ": cannot write metrics: " + e.getMessage(), e);
        }
    }

    static String fmt(double x) {
        if (x == Math.rint(x) && Math.abs(x) < 1e9) return String.valueOf((long) x);
        return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? String.format("%.4f", x) : String.format("%.3e", x);
    }

    public synchronized List<Row> rows() { return List.copyOf(rows); }

    /** The (step, value) series of one metric in one stage. */
    public synchronized double[][] series(String stage, String key) {
        List<double[]> pts = new ArrayList<>();
        for (Row r : rows) if (r.stage.equals(stage) && r.values.containsKey(key)) pts.add(new double[]{r.step, r.values.get(key)});
        return pts.toArray(new double[0][]);
    }

    @Override
    public void close() {
        try {
            if (jsonl != null) jsonl.close();
            if (tb != null) tb.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
