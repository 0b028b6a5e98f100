package dev.align4j.cli;

import dev.align4j.core.Json;
import dev.align4j.generate.Completion;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.generate.Sampler;
import dev.align4j.model.HfModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "generate", description = {"Complete a prompt. Only the completion goes to stdout.",
        "Example: ./align4j generate --model out/quickstart/sft --prompt '37+85=' --temperature 0"})
final class GenerateCommand implements Callable<Integer> {
    @Mixin Common.ModelOptions m = new Common.ModelOptions();

    @Option(names = "--prompt", required = true, description = "Prompt text (BOS is added as the tokenizer config says).")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass; 1 = off (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", description = "Stop string (repeatable).")
    List<String> stop;

    @Option(names = "--json", description = "Print one JSON object (text, tokens, logprobs, finish_reason).")
    boolean json;

    @Override
    public Integer call() {
        SamplingConfig cfg = new SamplingConfig(maxNewTokens, temperature, topK, topP, seed, stop);
        try (HfModel.Loaded l = m.load()) {
            int[] ids = l.tokenizer().encode(prompt, true);
            Completion c = Sampler.generate(l.model(), l.tokenizer(), List.of(ids), cfg).get(0);
            if (json) {
                var o = Json.object();
                o.put("text", c.text());
                var t = o.putArray("tokens");
                for (int x : c.tokens()) t.add(x);
                var lp = o.putArray("logprobs");
                for (float x : c.logprobs()) lp.add(x);
                o.put("finish_reason", c.finishReason());
                System.out.println(Json.compact(o));
            } else {
                System.out.println(c.text());
            }
        }
        return 0;
    }
}
