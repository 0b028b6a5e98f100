package dev.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.align4j.core.UserError;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

/**
 * {@code --config FILE}: a YAML or JSON object of flag values ({@code lr: 1e-4}, {@code loss: [sigmoid, hinge]})
 * that become the flags' defaults, so flags given on the command line win. Keys are flag names without
 * the dashes; an unknown key is an error naming the file and the key.
 */
final class ConfigFile {
    private ConfigFile() {}

    private static Map<String, String> values = Map.of();

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

    private static Path configFile;

    static Map<String, String> read(Path file) {
        try {
            ObjectMapper m = file.toString().endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
            JsonNode n = m.readTree(Files.readString(file));
            if (n == null || !n.isObject()) throw new UserError(file + ": expected a mapping of flag names to values");
            Map<String, String> out = new LinkedHashMap<>();
            n.fields().forEachRemaining(e -> {
                JsonNode v = e.getValue();
                if (v.isArray()) {
                    List<String> parts = new ArrayList<>();
                    v.forEach(x -> parts.add(x.asText()));
                    out.put(e.getKey(), String.join(",", parts));
                } else out.put(e.getKey(), v.asText());
            });
            return out;
        } catch (UserError e) {
            throw e;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UserError(file + ": config file not found");
        } catch (Exception e) {
            throw new UserError(file + ": cannot parse config: " + e.getMessage().split("\n")[0]);
        }
    }

    static void install(CommandLine cl, String[] ignored) {
        if (values.isEmpty()) return;
        Set<String> used = new HashSet<>();
        CommandLine.IDefaultValueProvider p = arg -> {
            if (!(arg instanceof CommandLine.Model.OptionSpec o)) return null;
            String key = o.longestName().replaceFirst("^--", "");
            if (values.containsKey(key)) { used.add(key); return values.get(key); }
            return null;
        };
        cl.setDefaultValueProvider(p);
        for (CommandLine sub : cl.getSubcommands().values()) sub.setDefaultValueProvider(p);
        // every key must be some subcommand's flag
        Set<String> known = new HashSet<>();
        for (CommandLine sub : cl.getSubcommands().values())
            for (var o : sub.getCommandSpec().options()) known.add(o.longestName().replaceFirst("^--", ""));
        for (String k : values.keySet())
            if (!known.contains(k)) throw new UserError(configFile + ": unknown key '" + k + "' (keys are flag names without dashes, e.g. lr, steps)");
    }
}
