package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.align4j.core.Json;
import dev.align4j.loss.ValueLoss;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.ModelTestAccess;
import dev.align4j.model.TestModels;
import dev.align4j.model.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** value-model and guided generate through the real CLI on a tiny random policy: the saved head, every decoding, user errors. */
class ValueCliTest {
    @TempDir Path dir;

    Path model() {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTestAccess.random(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 1)) {
            Path out = dir.resolve("m");
            HfModel.save(out, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            return out;
        }
    }

    @Test
    void aValueModelTrainsSavesItsSupportAndGuidesGeneration() throws Exception {
        Path m = model(), vm = dir.resolve("vm");
        CliTest.Result r = CliTest.run("value-model", "--policy", m.toString(), "--task", "chain", "--reward", "partial", "--samples", "2", "--prompts", "16",
                "--eval-prompts", "4", "--steps", "3", "--batch-size", "8", "--value-loss", "hl-gauss", "--value-bins", "9", "--value-range", "-0.5,1.5",
                "--output", vm.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode held = Json.MAPPER.readTree(r.out());
        assertTrue(held.has("value/mse") && held.has("value/explained_variance") && held.has("value/prompt_auc"), r.out());
        assertEquals(9, HfModel.config(vm.resolve("final")).numLabels());
        assertEquals(new ValueLoss.Head(ValueLoss.Kind.HL_GAUSS, 9, List.of(-0.5, 1.5), 0.75), ValueLoss.Head.readFrom(vm.resolve("final")));
        assertTrue(r.err().contains("value-model: held-out value mse"), r.err());

        String guide = "value:" + vm.resolve("final");
        for (String[] decoding : new String[][]{{"--temperature", "0"}, {"--guide", guide, "--guide-beta", "2", "--guide-top-k", "3"},
                {"--beam", "2"}, {"--guide", guide, "--beam", "2", "--beam-by", "value", "--expand", "2"}, {"--guide", guide, "--best-of", "3"}}) {
            String[] args = new String[8 + decoding.length];
            System.arraycopy(new String[]{"generate", "--model", m.toString(), "--task", "chain", "--prompts", "6", "--json"}, 0, args, 0, 8);
            System.arraycopy(decoding, 0, args, 8, decoding.length);
            r = CliTest.run(args);
            assertEquals(0, r.code(), String.join(" ", decoding) + ": " + r.err());
            JsonNode sum = Json.MAPPER.readTree(r.out());
            assertEquals(6, sum.get("prompts").asInt());
            assertTrue(sum.get("accuracy").asDouble() >= 0 && sum.get("policy_forwards_per_prompt").asDouble() > 0, sum.toString());
            assertEquals(decoding[0].equals("--guide"), sum.get("scorer_rows_per_prompt").asDouble() > 0, String.join(" ", decoding) + ": " + sum);
        }
        // one prompt: the completion only
        r = CliTest.run("generate", "--model", m.toString(), "--prompt", "12+3-4+1=", "--guide", guide, "--max-new-tokens", "5");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.out().split("\n").length, r.out());
    }

    @Test
    void badGuidesAndDecodingFlagsExitTwoWithOneLine() {
        Path m = model();
        String[][] bad = {
                {"--guide", "prm:" + dir.resolve("prm")},
                {"--guide", "oracle:x"},
                {"--guide", "value:" + m},                                   // a causal LM, not a value model
                {"--beam", "2", "--beam-by", "value"},
                {"--beam", "2", "--best-of", "3"},
                {"--beam", "2", "--beam-by", "width"},
        };
        for (String[] b : bad) {
            List<String> args = new java.util.ArrayList<>(List.of("generate", "--model", m.toString(), "--task", "chain", "--prompts", "2"));
            args.addAll(List.of(b));
            CliTest.Result r = CliTest.run(args.toArray(new String[0]));
            assertEquals(2, r.code(), String.join(" ", b) + ": " + r.err());
            assertEquals(1, r.err().strip().split("\n").length, r.err());
        }
        CliTest.Result r = CliTest.run("generate", "--model", m.toString(), "--task", "chain", "--prompts", "2", "--guide", "prm:" + dir.resolve("p"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(dir.resolve("p").toString()), "names the missing process reward model: " + r.err());
        r = CliTest.run("value-model", "--policy", m.toString(), "--task", "chain", "--value-loss", "gaussian", "--output", dir.resolve("v").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--value-loss gaussian: expected mse, hl-gauss or two-hot"), r.err());
        r = CliTest.run("ppo", "--model", m.toString(), "--task", "chain", "--value-loss", "hl-gauss", "--value-range", "1,0", "--output", dir.resolve("p").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("value-range must be two numbers MIN,MAX with MIN < MAX"), r.err());
    }
}
