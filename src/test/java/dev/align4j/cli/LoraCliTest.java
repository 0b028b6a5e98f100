package dev.align4j.cli;

import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.model.*;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** LoRA from the command line: adapters trained and saved in PEFT's layout, loaded from --model, merged; user errors. */
class LoraCliTest {
    @TempDir Path dir;

    Path base() {
        try (PointerScope s = new PointerScope(); LlamaModel m = ModelTestAccess.random(TestModels.llama(Tokenizer.BUILTIN_VOCAB), 1)) {
            Path out = dir.resolve("base");
            HfModel.save(out, m, Tokenizer.writeBuiltin(dir.resolve("tok")));
            return out;
        }
    }

    @Test
    void sftAndDpoTrainAdaptersThatLoadGenerateAndMerge() {
        Path base = base(), sft = dir.resolve("sft"), dpo = dir.resolve("dpo"), merged = dir.resolve("merged");
        CliTest.Result r = CliTest.run("sft", "--model", base.toString(), "--task", "sort", "--examples", "32", "--eval-prompts", "4", "--steps", "3",
                "--lr", "1e-2", "--lora-r", "4", "--lora-targets", "q_proj,v_proj,down_proj", "--use-dora", "--threads", "1", "--output", sft.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("lora: r=4"), r.err());
        var cfg = Json.read(sft.resolve("final/adapter_config.json"));
        assertEquals(base.toAbsolutePath().normalize().toString(), cfg.get("base_model_name_or_path").asText());
        assertTrue(cfg.get("use_dora").asBoolean());
        assertFalse(Files.exists(sft.resolve("final/model.safetensors")));
        // --model pointing at the adapter directory: the base it names, with the adapter on (and training on from there)
        r = CliTest.run("dpo", "--model", sft.resolve("final").toString(), "--task", "sort", "--pairs", "16", "--eval-prompts", "4", "--steps", "2",
                "--batch-size", "4", "--threads", "1", "--output", dpo.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(dpo.resolve("final/adapter_model.safetensors")));
        CliTest.Result a = CliTest.run("generate", "--model", dpo.resolve("final").toString(), "--prompt", "cba", "--max-new-tokens", "6", "--temperature", "0");
        assertEquals(0, a.code(), a.err());
        r = CliTest.run("merge", "--model", dpo.resolve("final").toString(), "--output", merged.toString());
        assertEquals(0, r.code(), r.err());
        CliTest.Result b = CliTest.run("generate", "--model", merged.toString(), "--prompt", "cba", "--max-new-tokens", "6", "--temperature", "0");
        assertEquals(a.out(), b.out(), "the merged model generates what the adapter does");
        try (HfModel.Loaded ad = HfModel.load(dpo.resolve("final"), ScalarType.Float); HfModel.Loaded full = HfModel.load(merged, ScalarType.Float);
             PointerScope s = new PointerScope()) {
            float[] x = Torch.toFloats(ad.model().logits(Torch.longs(new long[]{1, 5, 6, 7}, 1, 4), null));
            float[] y = Torch.toFloats(full.model().logits(Torch.longs(new long[]{1, 5, 6, 7}, 1, 4), null));
            assertArrayEquals(x, y, 1e-5f);
        }
        // --model BASE --adapter DIR is the same merge
        r = CliTest.run("merge", "--model", base.toString(), "--adapter", dpo.resolve("final").toString(), "--output", dir.resolve("merged2").toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void userErrorsNameWhatIsExpected() {
        Path base = base();
        CliTest.Result r = CliTest.run("sft", "--model", base.toString(), "--task", "sort", "--lora-r", "4", "--lora-targets", "q_proj,qkv", "--output", dir.resolve("a").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'qkv'") && r.err().contains("q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj") && r.err().contains("all-linear")
                && !r.err().contains("\tat "), r.err());
        r = CliTest.run("grpo", "--init", "nano", "--task", "sort", "--lora-r", "4", "--output", dir.resolve("b").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--lora-r adapts a pretrained model"), r.err());
        r = CliTest.run("sft", "--model", base.toString(), "--task", "sort", "--lora-r", "-1", "--output", dir.resolve("c").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--lora-r must be >= 0"), r.err());
        r = CliTest.run("reward", "--model", base.toString(), "--task", "sort", "--lora-r", "4", "--steps", "1", "--output", dir.resolve("d").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("reward: LoRA adapters are for causal-LM policies"), r.err());
        r = CliTest.run("merge", "--model", base.toString(), "--output", dir.resolve("e").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("without adapters"), r.err());
        assertTrue(CliTest.run("grpo", "--help").out().contains("--lora-targets=MODULES"));
    }
}
