package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * Where flag values come from, in one direction: a method's config defaults → {@code --config FILE} → the command
 * line. A training command names its config ({@link Configured}); each flag that matches one of the config's fields
 * takes that field's default, so the config record's builder is the only place a default lives and {@code --help}
 * shows it. {@code --config FILE} is a YAML or JSON object of flag values ({@code lr: 1e-4}, {@code loss: [sigmoid,
 * hinge]}) or a saved {@code *_config.json} (field names such as {@code weightDecay} are read as their flags);
 * an unknown key is an error naming the file and the key.
 */
final class ConfigFile {
    private ConfigFile() {}

    /** A command whose flags default to a config record's defaults. */
    interface Configured {
        /** The config with every default, e.g. {@code Grpo.Config.defaults()}. */
        Object defaults();
    }

    /** A command's config: {@code defaults}, each setting that has a flag on the command taking the flag's value. */
    static <R extends Record> R fromFlags(CommandLine.Model.CommandSpec spec, R defaults) {
        return dev.align4j.core.Configs.from(defaults, name -> {
            CommandLine.Model.OptionSpec o = spec.findOption(flagName(name));
            return o == null ? null : o.getValue();
        });
    }

    /** Config fields whose flag is not their kebab-case name. */
    static final Map<String, String> FLAG_OF_FIELD = Map.of("onNonFinite", "on-nan", "losses", "loss", "epochs", "ppo-epochs", "centering", "center-rewards");

    /** transformers' TrainingArguments and TRL config names, as align4j's flags (names that differ only by _ vs - need no entry). */
    static final Map<String, String> TRL_NAMES = Map.ofEntries(Map.entry("model_name_or_path", "model"), Map.entry("output_dir", "output"),
            Map.entry("per_device_train_batch_size", "batch-size"), Map.entry("learning_rate", "lr"), Map.entry("max_steps", "steps"),
            Map.entry("gradient_accumulation_steps", "grad-accum"), Map.entry("save_steps", "save-every"), Map.entry("eval_steps", "eval-every"),
            Map.entry("save_total_limit", "keep"), Map.entry("loss_type", "loss"), Map.entry("num_generations", "samples-per-prompt"),
            Map.entry("max_completion_length", "max-new-tokens"), Map.entry("epsilon", "eps-low"), Map.entry("epsilon_high", "eps-high"),
            Map.entry("scale_rewards", "scale"), Map.entry("num_iterations", "updates-per-rollout"), Map.entry("num_ppo_epochs", "ppo-epochs"),
            Map.entry("num_mini_batches", "mini-batches"), Map.entry("cliprange", "clip"), Map.entry("cliprange_value", "value-clip"),
            Map.entry("kl_coef", "beta"), Map.entry("lora_target_modules", "lora-targets"), Map.entry("dataset_path", "data"), Map.entry("truncation_mode", "truncation"));

    private static Map<String, String> values = Map.of();
    private static Path configFile;

    /** The arguments without {@code --config FILE} (remembered for {@link #install}). */
    static String[] strip(String[] args) {
        List<String> out = new ArrayList<>();
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) file = Path.of(args[++i]);
            else if (args[i].startsWith("--config=")) file = Path.of(args[i].substring(9));
            else out.add(args[i]);
        }
        values = file == null ? Map.of() : read(file);
        configFile = file;
        return out.toArray(new String[0]);
    }

    /** A config file as flag name → value text; nested objects are flattened, arrays joined with commas. */
    static Map<String, String> read(Path file) {
        try {
            ObjectMapper m = file.toString().endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
            JsonNode n = m.readTree(Files.readString(file));
            if (n == null || !n.isObject()) throw new UserError(file + ": expected a mapping of flag names to values");
            return flags(n);
        } catch (UserError e) {
            throw e;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UserError(file + ": config file not found");
        } catch (Exception e) {
            throw new UserError(file + ": cannot parse config: " + e.getMessage().split("\n")[0]);
        }
    }

    /** An object's fields as flag name → value text (empty arrays and nulls left out), values as written. */
    static Map<String, String> flags(JsonNode n) { return flags(n, false); }

    /** As {@link #flags(JsonNode)}; {@code lowerEnums}: constants such as {@code GRPO} as flags spell them (for defaults shown by --help). */
    static Map<String, String> flags(JsonNode n, boolean lowerEnums) {
        Map<String, String> out = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> {
            JsonNode v = e.getValue();
            if (v.isObject()) out.putAll(flags(v, lowerEnums));
            else if (v.isArray()) {
                List<String> parts = new ArrayList<>();
                v.forEach(x -> parts.add(text(x, lowerEnums)));
                if (!parts.isEmpty()) out.put(flagName(e.getKey()), String.join(",", parts));
            } else if (!v.isNull()) out.put(flagName(e.getKey()), text(v, lowerEnums));
        });
        return out;
    }

    /** {@code weightDecay}, {@code weight_decay} → {@code weight-decay}; TRL's {@code learning_rate} → {@code lr}; a flag name stays as it is. */
    static String flagName(String key) {
        if (FLAG_OF_FIELD.containsKey(key)) return FLAG_OF_FIELD.get(key);
        if (TRL_NAMES.containsKey(key)) return TRL_NAMES.get(key);
        return key.replaceAll("([a-z0-9])([A-Z])", "$1-$2").replace('_', '-').toLowerCase(Locale.ROOT);
    }

    private static String text(JsonNode v, boolean lowerEnums) {
        String s = v.asText();
        return lowerEnums && v.isTextual() && s.matches("[A-Z][A-Z0-9_]*") ? s.toLowerCase(Locale.ROOT) : s;
    }

    /** Installs the defaults of every subcommand: the config file's values, else the command's config defaults, else the annotation's. */
    static void install(CommandLine cl, String[] args) {
        Set<String> known = new HashSet<>();
        String running = args.length > 0 && cl.getSubcommands().containsKey(args[0]) ? args[0] : null;
        for (var entry : cl.getSubcommands().entrySet()) {
            CommandLine sub = entry.getValue();
            Object command = sub.getCommand();
            Map<String, String> defaults = new HashMap<>(flags(Json.MAPPER.valueToTree(dev.align4j.model.Lora.Config.DEFAULTS), true));   // LoraFlags
            if (command instanceof Configured c) defaults.putAll(flags(Json.MAPPER.valueToTree(c.defaults()), true));
            sub.setDefaultValueProvider(arg -> {
                if (!(arg instanceof CommandLine.Model.OptionSpec o)) return null;
                String key = o.longestName().replaceFirst("^--", "");
                if (values.containsKey(key)) return values.get(key);
                return o.defaultValue() == null ? defaults.get(key) : null;
            });
            if (running == null || running.equals(entry.getKey()))
                for (var o : sub.getCommandSpec().options()) known.add(o.longestName().replaceFirst("^--", ""));
        }
        for (String k : values.keySet())
            if (!known.contains(k))
                throw new UserError(configFile + ": unknown key '" + k + "'" + (running == null ? "" : " for " + running)
                        + " (keys are flag names without dashes, e.g. lr, steps, or their TrainingArguments/TRL names)");
    }
}
