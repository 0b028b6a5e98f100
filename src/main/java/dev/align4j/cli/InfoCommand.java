package dev.align4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.model.HfModel;
import dev.align4j.model.ModelConfig;
import dev.align4j.model.Safetensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "info", description = {"Describe a model directory: architecture, parameters, dtypes, vocabulary, special tokens.",
        "Example: ./align4j info --model out/quickstart/dpo"})
final class InfoCommand implements Callable<Integer> {
    @Mixin Common.ModelOptions m = new Common.ModelOptions();

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() {
        try (HfModel.Loaded l = m.load()) {
            ModelConfig c = l.model().config;
            TreeMap<String, Integer> dtypes = new TreeMap<>();
            boolean adapter = dev.align4j.model.Lora.isAdapterDir(m.model);
            for (var f : HfModel.weightFiles(adapter ? dev.align4j.model.Lora.baseOf(m.model) : m.model))
                for (var e : Safetensors.header(f).values()) dtypes.merge(e.dtype(), 1, Integer::sum);
            ObjectNode o = Json.object();
            o.put("model", m.model.toString());
            o.put("architecture", c.architecture());
            o.put("parameters", l.model().parameterCount());
            if (adapter) {                                             // a PEFT LoRA adapter on the base it names
                var a = l.model().lora();
                o.put("adapter", "lora r=" + a.config.loraR() + " alpha=" + a.config.loraAlpha() + (a.config.useRslora() ? " rslora" : "") + (a.config.useDora() ? " dora" : "")
                        + " on " + String.join(",", a.config.modules()));
                o.put("adapter_parameters", a.parameterCount());
                o.put("base_model", String.valueOf(a.baseModel));
            }
            o.put("layers", c.numLayers());
            o.put("hidden_size", c.hiddenSize());
            o.put("heads", c.numHeads());
            o.put("kv_heads", c.numKvHeads());
            o.put("head_dim", c.headDim());
            o.put("vocab_size", c.vocabSize());
            o.put("tokenizer_vocab", l.tokenizer().vocabSize);
            o.put("max_position_embeddings", c.maxPositionEmbeddings());
            o.put("tie_word_embeddings", c.tieWordEmbeddings());
            o.put("rope_theta", c.ropeTheta());
            o.put("rope_scaling", c.ropeScaling() == null ? "none" : c.ropeScaling().type() + " x" + c.ropeScaling().factor());
            o.put("disk_dtypes", dtypes.toString());
            o.put("compute_dtype", Torch.dtypeName(l.model().dtype));
            o.put("bos_token_id", l.tokenizer().bosId);
            o.put("eos_token_ids", java.util.Arrays.toString(l.tokenizer().eosIds));
            o.put("pad_token_id", l.tokenizer().padId);
            o.put("add_bos_token", l.tokenizer().addBos);
            o.put("chat_template", l.tokenizer().chatTemplate != null);
            if (json) System.out.println(Json.compact(o));
            else o.fields().forEachRemaining(e -> System.out.printf("%-24s %s%n", e.getKey(), e.getValue().asText()));
        }
        return 0;
    }
}
