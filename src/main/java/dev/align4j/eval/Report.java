package dev.align4j.eval;

import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Metrics;

import java.nio.file.Path;
import java.util.*;

/**
 * The quickstart report: one self-contained HTML page (report.html) with PNG plots beside it — loss
 * curves, gold reward and accuracy per stage, held-out reward during training, and sample completions
 * before and after. Everything it shows is also in metrics.jsonl. And the {@code eval} command's page
 * ({@link #writeEval}): models side by side, with the same numbers in eval.json.
 */
public final class Report {
    private Report() {}

    /** One evaluated stage (base, sft, dpo, …). */
    public record Stage(String name, Evaluator.Result result, double seconds) {}

    public static Path write(Path dir, String title, Map<String, String> facts, List<Stage> stages, Metrics metrics,
                             List<String> notes, int samples) {
        List<String> plots = new ArrayList<>();
        // 1. gold reward and accuracy per stage
        List<String> names = stages.stream().map(Stage::name).toList();
        Map<String, double[]> bars = new LinkedHashMap<>();
        bars.put("gold reward", stages.stream().mapToDouble(s -> s.result.reward()).toArray());
        bars.put("accuracy", stages.stream().mapToDouble(s -> s.result.accuracy()).toArray());
        Plot.bars(dir.resolve("stages.png"), "Held-out gold reward and accuracy per stage", names, bars, 1.0);
        plots.add("stages.png");
        // 2. training losses
        for (String stage : List.of("sft", "dpo", "grpo", "reward")) {
            double[][] loss = metrics.series(stage, "loss");
            if (loss.length == 0) continue;
            Plot.lines(dir.resolve(stage + "_loss.png"), stage.toUpperCase() + " training loss", "step", "loss", Plot.one("loss", loss));
            plots.add(stage + "_loss.png");
        }
        if (metrics.series("dpo", "rewards/margins").length > 0) {
            Map<String, double[][]> r = new LinkedHashMap<>();
            for (String k : List.of("rewards/chosen", "rewards/rejected", "rewards/margins")) r.put(k, metrics.series("dpo", k));
            Plot.lines(dir.resolve("dpo_rewards.png"), "DPO implicit rewards β·log(π/π_ref)", "step", "", r);
            Map<String, double[][]> l = new LinkedHashMap<>();
            for (String k : List.of("logps/chosen", "logps/rejected")) l.put(k, metrics.series("dpo", k));
            Plot.lines(dir.resolve("dpo_logps.png"), "DPO policy log-probs of chosen and rejected", "step", "", l);
            plots.add("dpo_rewards.png");
            plots.add("dpo_logps.png");
        }
        // held-out evaluation during training, on one global step axis (each stage's steps follow the previous stage's)
        List<String> trained = List.of("sft", "dpo", "grpo");
        if (trained.stream().mapToInt(st -> metrics.series("eval/" + st, "accuracy").length).sum() > 1) {
            Map<String, double[][]> s = new LinkedHashMap<>();
            for (String k : List.of("gold_reward", "accuracy")) {
                List<double[]> pts = new ArrayList<>();
                double offset = 0;
                for (String st : trained) {
                    double[][] series = metrics.series("eval/" + st, k);
                    for (double[] p : series) pts.add(new double[]{p[0] + offset, p[1]});
                    if (series.length > 0) offset += series[series.length - 1][0];
                }
                s.put(k.replace('_', ' '), pts.toArray(new double[0][]));
            }
            Plot.lines(dir.resolve("eval_curve.png"), "Held-out evaluation during training (SFT, then DPO, then GRPO)", "global step", "", s);
            plots.add("eval_curve.png");
        }
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n")
                .append("<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}")
                .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}")
                .append("th{background:#f3f3f3}code{background:#f5f5f5;padding:1px 4px}img{max-width:100%;border:1px solid #eee;margin:6px 0}")
                .append(".good{color:#1a7f37}.bad{color:#b42318}</style></head><body>\n");
        h.append("<h1>").append(esc(title)).append("</h1>\n<table>");
        facts.forEach((k, v) -> h.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v)).append("</td></tr>"));
        h.append("</table>\n<h2>Results on held-out prompts</h2>\n<table><tr><th>stage</th><th>gold reward</th><th>accuracy</th>");
        boolean multi = !stages.isEmpty() && stages.get(0).result.objectives().length > 1;
        h.append("<th>mean completion tokens</th><th>time (s)</th></tr>\n");
        for (Stage s : stages)
            h.append(String.format("<tr><td>%s</td><td>%.3f</td><td>%.1f%%</td><td>%.1f</td><td>%.0f</td></tr>%n", esc(s.name),
                    s.result.reward(), 100 * s.result.accuracy(), s.result.length(), s.seconds));
        h.append("</table>\n");
        if (multi) h.append("<p>Objectives per stage: ").append(esc(stagesObjectives(stages))).append("</p>\n");
        for (String n : notes) h.append("<p>").append(esc(n)).append("</p>\n");
        h.append("<h2>Plots</h2>\n");
        for (String p : plots) h.append("<img src=\"").append(p).append("\" alt=\"").append(p).append("\">\n");
        h.append("<h2>Sample completions (held-out, greedy)</h2>\n<table><tr><th>prompt</th>");
        for (Stage s : stages) h.append("<th>").append(esc(s.name)).append("</th>");
        h.append("</tr>\n");
        int n = stages.isEmpty() ? 0 : Math.min(samples, stages.get(0).result.samples().size());
        for (int i = 0; i < n; i++) {
            h.append("<tr><td><code>").append(esc(stages.get(0).result.samples().get(i).prompt())).append("</code></td>");
            for (Stage s : stages) {
                Evaluator.Sample x = s.result.samples().get(i);
                h.append("<td class=\"").append(x.reward() >= 0.999 ? "good" : x.reward() <= 0.001 ? "bad" : "").append("\"><code>")
                        .append(esc(x.completion())).append("</code> (").append(String.format("%.2f", x.reward())).append(")</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n<p>Metrics: <code>metrics.jsonl</code> (one JSON object per logged step), TensorBoard events in <code>tb/</code>.</p>\n")
                .append("</body></html>\n");
        Path out = dir.resolve("report.html");
        AtomicFiles.writeString(out, h.toString());
        return out;
    }

    /** Metrics that are rates in [0, 1], the ones the eval chart draws (pass@K and maj@K match by prefix). */
    static final List<String> RATES = List.of("accuracy", "pass@", "maj@", "win_rate");

    /**
     * The eval page (eval.html) with its chart (eval.png) beside it: the settings, one row per model (a group of seeds as
     * IQM [95% CI], mean, min–max), each run's values, and a bar chart of the rate metrics with CI whiskers.
     */
    public static Path writeEval(Path dir, Map<String, String> settings, List<ModelEval.Group> groups) { return writeEval(dir, settings, groups, List.of()); }

    /** {@link #writeEval(Path, Map, List)} with a head-to-head matrix (W(row ≻ column)). */
    public static Path writeEval(Path dir, Map<String, String> settings, List<ModelEval.Group> groups, List<ModelEval.HeadToHead> h2h) {
        List<String> keys = new ArrayList<>();
        for (ModelEval.Group g : groups) for (String k : g.runs().get(0).keySet()) if (!keys.contains(k)) keys.add(k);
        List<Map<String, Stats.Summary>> agg = groups.stream().map(ModelEval.Group::aggregate).toList();
        // the chart: every rate metric, else the first metric that is never negative
        List<String> drawn = keys.stream().filter(k -> RATES.stream().anyMatch(k::startsWith)).toList();
        double yMax = 1.0;
        if (drawn.isEmpty())
            for (String k : keys)
                if (agg.stream().allMatch(a -> a.get(k) == null || a.get(k).min() >= 0)) {
                    drawn = List.of(k);
                    yMax = 1.15 * agg.stream().mapToDouble(a -> a.get(k) == null ? 0 : a.get(k).ciHigh()).max().orElse(1);
                    if (!(yMax > 0)) yMax = 1;
                    break;
                }
        Map<String, double[]> bars = new LinkedHashMap<>();
        Map<String, double[][]> whiskers = new LinkedHashMap<>();
        for (String k : drawn) {
            bars.put(k, agg.stream().mapToDouble(a -> a.get(k) == null ? 0 : a.get(k).iqm()).toArray());
            whiskers.put(k, agg.stream().map(a -> a.get(k) == null ? null : new double[]{a.get(k).ciLow(), a.get(k).ciHigh()}).toArray(double[][]::new));
        }
        List<String> labels = groups.stream().map(ModelEval.Group::label).toList();
        if (!drawn.isEmpty()) Plot.bars(dir.resolve("eval.png"), "Held-out results per model (IQM over seeds, 95% CI)", labels, bars, whiskers, yMax);

        StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>align4j eval</title><style>")
                .append("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}")
                .append("td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f3f3f3}img{max-width:100%}")
                .append(".ci{color:#666;font-size:90%}</style></head><body>\n<h1>align4j eval</h1>\n<table>");
        settings.forEach((k, v) -> h.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v)).append("</td></tr>"));
        h.append("</table>\n<h2>Results</h2>\n<p>One row per model. A model given as several run folders (seeds) shows the interquartile ")
                .append("mean over seeds with its 95% stratified-bootstrap confidence interval, then mean and min–max (Agarwal et al. 2021).</p>\n")
                .append("<table><tr><th>model</th><th>seeds</th>");
        for (String k : keys) h.append("<th>").append(esc(k)).append("</th>");
        h.append("</tr>\n");
        for (int i = 0; i < groups.size(); i++) {
            ModelEval.Group g = groups.get(i);
            h.append("<tr><td>").append(esc(g.label())).append("</td><td>").append(g.runs().size()).append("</td>");
            for (String k : keys) {
                Stats.Summary s = agg.get(i).get(k);
                h.append("<td>");
                if (s == null) h.append("–");
                else if (g.runs().size() == 1) h.append(String.format("%.3f", s.iqm()));
                else h.append(String.format("%.3f <span class=\"ci\">[%.3f, %.3f]<br>mean %.3f, %.3f–%.3f</span>", s.iqm(), s.ciLow(), s.ciHigh(), s.mean(), s.min(), s.max()));
                h.append("</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n");
        if (!drawn.isEmpty()) h.append("<img src=\"eval.png\" alt=\"bar chart of ").append(esc(String.join(", ", drawn))).append("\">\n");
        ModelEval.Pareto pf = ModelEval.pareto(groups);
        if (pf != null) {
            String xo = pf.objectives().get(0), yo = pf.objectives().get(1);
            double[][] xy = java.util.Arrays.stream(pf.points()).map(p -> new double[]{p[0], p[1]}).toArray(double[][]::new);
            Plot.scatter(dir.resolve("pareto.png"), "Pareto front (mean over seeds; filled: not dominated)", xo, yo, pf.labels(), xy, new java.util.HashSet<>(pf.front()));
            h.append("<h2>Pareto front</h2>\n<p>Over ").append(esc(String.join(", ", pf.objectives())))
                    .append(" (each model at its mean over seeds, every objective maximised): the models no other model beats on one objective without losing on another: <b>")
                    .append(esc(String.join(", ", pf.front()))).append("</b>. The plot shows the first two objectives.</p>\n<img src=\"pareto.png\" alt=\"Pareto front\">\n");
        }
        if (!h2h.isEmpty()) {
            h.append("<h2>Head to head</h2>\n<p>Cell (row, column): the row model's win rate against the column model under the ")
                    .append(esc(h2h.get(0).judge())).append(", mean over paired seeds (seed i against seed i) with min–max; ½ means neither is preferred.</p>\n<table><tr><th></th>");
            for (ModelEval.Group g : groups) h.append("<th>").append(esc(g.label())).append("</th>");
            h.append("</tr>\n");
            for (ModelEval.Group a : groups) {
                h.append("<tr><th>").append(esc(a.label())).append("</th>");
                for (ModelEval.Group b : groups) h.append("<td>").append(a == b ? "0.500" : esc(ModelEval.h2hCell(h2h, a.label(), b.label()))).append("</td>");
                h.append("</tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<h2>Each run</h2>\n<table><tr><th>model</th><th>directory</th>");
        for (String k : keys) h.append("<th>").append(esc(k)).append("</th>");
        h.append("</tr>\n");
        for (ModelEval.Group g : groups)
            for (int r = 0; r < g.runs().size(); r++) {
                h.append("<tr><td>").append(esc(g.label())).append("</td><td><code>").append(esc(g.dirs().get(r).toString())).append("</code></td>");
                for (String k : keys) {
                    Double v = g.runs().get(r).get(k);
                    h.append("<td>").append(v == null ? "–" : String.format("%.4f", v)).append("</td>");
                }
                h.append("</tr>\n");
            }
        h.append("</table>\n<p>Every number is also in <code>eval.json</code>; metric names are explained in docs/metrics.md.</p>\n</body></html>\n");
        Path out = dir.resolve("eval.html");
        AtomicFiles.writeString(out, h.toString());
        return out;
    }

    private static String stagesObjectives(List<Stage> stages) {
        StringBuilder sb = new StringBuilder();
        for (Stage s : stages) sb.append(s.name).append(" ").append(Arrays.toString(Arrays.stream(s.result.objectives())
                .map(v -> Math.round(v * 1000) / 1000.0).toArray())).append("; ");
        return sb.toString();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
