package dev.align4j.cli;

import dev.align4j.core.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** sft, dpo, export and --config through the real CLI, on a nano model. */
class TrainCliTest {
    @TempDir Path dir;

    @Test
    void exportThenSftThenDpoOnFiles() throws Exception {
        Path sftData = dir.resolve("sft.jsonl"), prefData = dir.resolve("pref.jsonl");
        assertEquals(0, CliTest.run("export", "--task", "arithmetic", "--format", "sft", "--n", "64", "--output", sftData.toString()).code());
        assertEquals(0, CliTest.run("export", "--task", "arithmetic", "--format", "preference", "--n", "64", "--output", prefData.toString()).code());
        assertEquals(64, Files.readAllLines(sftData).size());
        assertTrue(Files.readAllLines(prefData).get(0).contains("\"chosen\""));
        for (String f : new String[]{"unpaired", "ranked", "ratings", "prompts"}) {
            Path p = dir.resolve(f + ".jsonl");
            assertEquals(0, CliTest.run("export", "--task", "sort", "--format", f, "--n", "8", "--output", p.toString()).code(), f);
            assertEquals(8, Files.readAllLines(p).size(), f);
        }
        Path multi = dir.resolve("multi.jsonl");
        assertEquals(0, CliTest.run("export", "--task", "brief-arith", "--format", "multi", "--n", "64", "--output", multi.toString()).code());
        assertTrue(Files.readAllLines(multi).get(0).contains("\"objectives\":[\"correct\",\"brief\"]"));

        Path sftOut = dir.resolve("sft");
        Path modpoOut = dir.resolve("modpo");
        CliTest.Result r = CliTest.run("sft", "--init", "nano", "--data", sftData.toString(), "--steps", "4", "--batch-size", "8",
                "--output", sftOut.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(sftOut.resolve("final/model.safetensors")));
        assertTrue(Files.exists(sftOut.resolve("checkpoint-4/trainer_state.json")));
        assertTrue(Files.readString(sftOut.resolve("metrics.jsonl")).contains("\"stage\":\"sft\""));
        assertTrue(Files.list(sftOut.resolve("tb")).findAny().isPresent(), "TensorBoard events written");

        Path dpoOut = dir.resolve("dpo");
        r = CliTest.run("dpo", "--model", sftOut.resolve("final").toString(), "--data", prefData.toString(), "--steps", "3",
                "--batch-size", "4", "--loss", "sigmoid,ipo", "--loss-weights", "1,0.5", "--output", dpoOut.toString());
        assertEquals(0, r.code(), r.err());
        String metrics = Files.readString(dpoOut.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("rewards/margins") && metrics.contains("logps/rejected"), metrics);
        assertEquals("ipo", Json.read(dpoOut.resolve("dpo_config.json")).get("losses").get(1).asText().toLowerCase());

        r = CliTest.run("dpo", "--model", sftOut.resolve("final").toString(), "--data", multi.toString(), "--steps", "2",
                "--batch-size", "2", "--modpo-weights", "0.7,0.3", "--modpo-objective", "0", "--output", modpoOut.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("MODPO on objective 0"), r.err());

        Path unpaired = dir.resolve("unpaired.jsonl"), ktoOut = dir.resolve("kto"), rmOut = dir.resolve("rm");
        assertEquals(0, CliTest.run("export", "--task", "arithmetic", "--format", "unpaired", "--n", "32", "--output", unpaired.toString()).code());
        r = CliTest.run("kto", "--model", sftOut.resolve("final").toString(), "--data", unpaired.toString(), "--steps", "2",
                "--batch-size", "8", "--output", ktoOut.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(ktoOut.resolve("metrics.jsonl")).contains("\"kl\""));
        r = CliTest.run("reward", "--model", sftOut.resolve("final").toString(), "--data", prefData.toString(), "--steps", "2",
                "--batch-size", "4", "--output", rmOut.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("LlamaForSequenceClassification", Json.read(rmOut.resolve("final/config.json")).get("architectures").get(0).asText());
    }

    @Test
    void configFileSuppliesDefaultsAndFlagsWin() throws Exception {
        Path cfg = dir.resolve("c.yaml");
        Files.writeString(cfg, "steps: 3\nbatch-size: 4\nlr: 0.002\ntask: sort\n");
        Path out = dir.resolve("o");
        CliTest.Result r = CliTest.run("sft", "--config", cfg.toString(), "--init", "nano", "--steps", "2", "--output", out.toString(),
                "--examples", "32", "--eval-prompts", "4");
        assertEquals(0, r.code(), r.err());
        var c = Json.read(out.resolve("sft_config.json"));
        assertEquals(2, c.get("steps").asInt(), "the flag wins over the file");
        assertEquals(4, c.get("batchSize").asInt());
        assertEquals(0.002, c.get("lr").asDouble(), 1e-12);

        Files.writeString(cfg, "stepz: 3\n");
        r = CliTest.run("sft", "--config", cfg.toString(), "--init", "nano", "--task", "sort", "--output", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("c.yaml") && r.err().contains("stepz"), r.err());
    }

    @Test
    void malformedDataLinesNameFileLineAndColumn() throws Exception {
        Path data = dir.resolve("bad.jsonl");
        Files.writeString(data, "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"a\"}\n{\"prompt\":1,\"completion\":\"x\"}\nnot json\n"
                + "{\"prompt\":\"c\",\"completion\":\"d\"}\n");
        CliTest.Result r = CliTest.run("sft", "--init", "nano", "--data", data.toString(), "--steps", "1", "--output", dir.resolve("o").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("bad.jsonl:2: missing column 'completion'"), r.err());
        r = CliTest.run("sft", "--init", "nano", "--data", data.toString(), "--steps", "1", "--batch-size", "2",
                "--output", dir.resolve("o").toString(), "--skip-invalid");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped 3 invalid lines"), r.err());

        Path pref = dir.resolve("pref.jsonl");
        Files.writeString(pref, "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":7}\n");
        r = CliTest.run("dpo", "--init", "nano", "--data", pref.toString(), "--output", dir.resolve("p").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("pref.jsonl:1: column 'rejected' expected a string, got a number"), r.err());
    }

    @Test
    void everyConfigFieldIsAFlagWhoseDefaultTheHelpShows() {
        picocli.CommandLine cl = new picocli.CommandLine(new Main());
        ConfigFile.install(cl, new String[0]);
        int commands = 0;
        for (var e : cl.getSubcommands().entrySet()) {
            if (!(e.getValue().getCommand() instanceof ConfigFile.Configured c)) continue;
            commands++;
            java.util.Set<String> flags = new java.util.HashSet<>();
            e.getValue().getCommandSpec().options().forEach(o -> flags.add(o.longestName().replaceFirst("^--", "")));
            Map<String, String> defaults = ConfigFile.flags(Json.MAPPER.valueToTree(c.defaults()), true);
            for (var d : defaults.entrySet()) {
                assertTrue(flags.contains(d.getKey()), e.getKey() + ": config field for --" + d.getKey() + " has no flag, so a saved config could not be read back");
                var o = e.getValue().getCommandSpec().findOption(d.getKey());
                if (o.defaultValue() == null) assertEquals(d.getValue(), o.defaultValueString(), e.getKey() + " --" + d.getKey() + ": the help shows the config's default");
            }
        }
        assertEquals(28, commands, "sft, dpo, kto, listwise, reward, preference-model, prm, grpo, rloo, reinforce++, ppo, online-dpo, sppo, inpo, nash-md, dno, spo, rft, score, critic, judge, self-reward, mcts, value-model, best-of-n, eval, quickstart, study");
        // the method's own defaults, not one shared value: sft and dpo differ in --lr, grpo and rloo in --estimator
        assertTrue(CliTest.run("sft", "--help").out().replaceAll("\\s+", " ").contains("(default: 0.001)"));
        assertTrue(CliTest.run("rloo", "--help").out().replaceAll("\\s+", " ").contains("default: rloo)"));
    }

    @Test
    void aSavedConfigIsAcceptedBackByConfigAndGivesTheSameRun() throws Exception {
        Path pref = dir.resolve("p.jsonl"), a = dir.resolve("a"), b = dir.resolve("b");
        assertEquals(0, CliTest.run("export", "--task", "sort", "--format", "preference", "--n", "16", "--output", pref.toString()).code());
        CliTest.Result r = CliTest.run("dpo", "--init", "nano", "--data", pref.toString(), "--steps", "2", "--batch-size", "4", "--loss", "sigmoid,hinge",
                "--loss-weights", "1,0.5", "--lr", "2e-4", "--truncation", "keep_start", "--on-nan", "skip", "--output", a.toString());
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("dpo", "--init", "nano", "--data", pref.toString(), "--config", a.resolve("dpo_config.json").toString(), "--output", b.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(Json.read(a.resolve("dpo_config.json")), Json.read(b.resolve("dpo_config.json")), "the same resolved config");
        assertEquals("SKIP", Json.read(b.resolve("dpo_config.json")).get("onNonFinite").asText());
    }

    @Test
    void noSurprisesAReusedOutputTrlNamedConfigsAndAMissingConfigFile() throws Exception {
        Path out = dir.resolve("run"), cfg = dir.resolve("trl.yaml");
        String[] sft = {"sft", "--init", "nano", "--task", "sort", "--examples", "32", "--eval-prompts", "4", "--steps", "2", "--output", out.toString()};
        assertEquals(0, CliTest.run(sft).code());
        CliTest.Result r = CliTest.run(sft);                                  // the same --output again, without --resume
        assertEquals(2, r.code());
        assertTrue(r.err().contains("holds a previous run") && r.err().contains("--resume") && r.err().contains("--overwrite"), r.err());
        java.util.List<String> again = new java.util.ArrayList<>(java.util.List.of(sft));
        again.add("--overwrite");
        r = CliTest.run(again.toArray(new String[0]));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("previous run removed"), r.err());
        // TrainingArguments / TRL names and snake_case read as the flags they mean
        Files.writeString(cfg, "max_steps: 3\nper_device_train_batch_size: 4\nlearning_rate: 0.002\nweight_decay: 0.05\nlogging_steps: 2\n");
        Path out2 = dir.resolve("trl");
        r = CliTest.run("sft", "--config", cfg.toString(), "--init", "nano", "--task", "sort", "--examples", "32", "--eval-prompts", "4", "--output", out2.toString());
        assertEquals(0, r.code(), r.err());
        var c = Json.read(out2.resolve("sft_config.json"));
        assertEquals(3, c.get("steps").asInt());
        assertEquals(4, c.get("batchSize").asInt());
        assertEquals(0.002, c.get("lr").asDouble(), 1e-12);
        assertEquals(0.05, c.get("weightDecay").asDouble(), 1e-12);
        assertEquals(2, c.get("loggingSteps").asInt());
        // a missing config file: one line, exit 2; --config is in every trainer's help
        r = CliTest.run("sft", "--config", dir.resolve("missing.yaml").toString(), "--init", "nano", "--task", "sort", "--output", dir.resolve("m").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing.yaml: config file not found") && !r.err().contains("\tat "), r.err());
        for (String cmd : java.util.List.of("sft", "dpo", "kto", "reward", "listwise", "grpo", "rloo", "ppo", "online-dpo"))
            assertTrue(CliTest.run(cmd, "--help").out().contains("--config=FILE"), cmd + " --help lists --config");
    }

    @Test
    void outputsReadByHuggingFaceTools() throws Exception {
        Path out = dir.resolve("hf");
        CliTest.Result r = CliTest.run("sft", "--init", "nano", "--task", "sort", "--examples", "32", "--eval-prompts", "4", "--steps", "4",
                "--logging-steps", "2", "--save-every", "2", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        var state = Json.read(out.resolve("checkpoint-4/trainer_state.json"));
        assertEquals(4, state.get("global_step").asInt());
        assertEquals(4, state.get("max_steps").asInt());
        var history = state.get("log_history");
        // --logging-steps 2: steps 1 (the first), 2 and 4, then the final evaluation as eval_* at step 4
        assertEquals(java.util.List.of(1, 2, 4, 4), java.util.stream.StreamSupport.stream(history.spliterator(), false).map(h -> h.get("step").asInt()).toList());
        assertTrue(history.get(0).has("loss") && history.get(3).has("eval_accuracy"), history.toString());
        byte[] events;
        try (var s = Files.list(out.resolve("tb"))) { events = Files.readAllBytes(s.findFirst().orElseThrow()); }
        String tags = new String(events, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(tags.contains("train/loss") && tags.contains("eval/accuracy") && !tags.contains("sft/loss"), "TensorBoard tags train/* and eval/*");
        String card = Files.readString(out.resolve("final/README.md"));
        assertTrue(card.startsWith("---\nlibrary_name: align4j") && card.contains("./align4j sft --init nano --task sort") && card.contains("| loss |"), card);
    }
}
