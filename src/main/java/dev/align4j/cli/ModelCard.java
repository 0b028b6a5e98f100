package dev.align4j.cli;

import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;

import java.nio.file.Path;
import java.util.Map;

/**
 * {@code final/README.md}: a Hugging Face model card (YAML front matter the Hub reads, then prose) saying what the model
 * is: its base model, the method and its config, the data, the final metrics and the command that made it.
 */
final class ModelCard {
    private ModelCard() {}

    static void write(Path dir, String stage, TrainFlags f, Object config, String data, Metrics metrics) {
        String base = f.m.model != null ? f.m.model.toString() : "a fresh built-in '" + f.init + "' model (seed " + f.seed + ")";
        StringBuilder b = new StringBuilder();
        b.append("---\nlibrary_name: align4j\ntags:\n- align4j\n- ").append(stage).append('\n');
        if (f.m.model != null) b.append("base_model: ").append(f.m.model.getFileName()).append('\n');
        b.append("---\n\n# ").append(f.output.getFileName()).append("\n\n");
        b.append("Trained with align4j's `").append(stage).append("` from ").append(base).append(" on ").append(data).append(".\n\n");
        b.append("## Command\n\n```\n./align4j ").append(Main.invocation()).append("\n```\n\n");
        b.append("## Config\n\n```json\n").append(Json.pretty(Json.MAPPER.valueToTree(config))).append("\n```\n\n");
        Map<String, Double> train = last(metrics, stage), eval = last(metrics, "eval/" + stage);
        if (!train.isEmpty() || !eval.isEmpty()) {
            b.append("## Final metrics\n\n| metric | value |\n| --- | --- |\n");
            train.forEach((k, v) -> b.append("| ").append(k).append(" | ").append(String.format("%.4g", v)).append(" |\n"));
            eval.forEach((k, v) -> b.append("| eval/").append(k).append(" | ").append(String.format("%.4g", v)).append(" |\n"));
            b.append("\nMetric names are explained in align4j's docs/metrics.md.\n");
        }
        AtomicFiles.writeString(dir.resolve("README.md"), b.toString());
    }

    private static Map<String, Double> last(Metrics metrics, String stage) {
        Map<String, Double> out = Map.of();
        for (Metrics.Row r : metrics.rows()) if (r.stage().equals(stage)) out = r.values();
        return out;
    }
}
