package dev.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.util.Text;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A folder written by {@code datasets}' {@code Dataset.save_to_disk}: {@code state.json} lists the data files
 * ({@code _data_files}), each an Arrow IPC stream ({@code data-00000-of-00001.arrow}; older versions: {@code dataset.arrow}).
 * A {@code DatasetDict} folder ({@code dataset_dict.json}, one sub-folder per split) is read through its {@code train}
 * split, as TRL's scripts default {@code dataset_train_split} to it; another split is read by naming its folder.
 * Rows become JSON objects (lists and structs, e.g. {@code messages}, become arrays and objects) for the same row
 * parsers every other format goes through; problems are reported as {@code FILE: row N}.
 */
final class SavedDataset {
    private SavedDataset() {}

    static List<Jsonl.Raw> rows(Path dir) {
        Path dict = dir.resolve("dataset_dict.json");
        if (Files.exists(dict)) {
            List<String> splits = new ArrayList<>();
            try {
                Json.MAPPER.readTree(dict.toFile()).path("splits").forEach(x -> splits.add(x.asText()));
            } catch (IOException e) {
                throw new UserError(dict + ": cannot read: " + e.getMessage());
            }
            if (!splits.contains("train"))
                throw new UserError(dir + ": a DatasetDict with splits " + splits + " and no 'train': give one split's folder, e.g. " + dir.resolve(splits.isEmpty() ? "SPLIT" : splits.get(0)));
            return rows(dir.resolve("train"));
        }
        List<Path> files = dataFiles(dir);
        List<Jsonl.Raw> out = new ArrayList<>();
        try (BufferAllocator allocator = new RootAllocator()) {
            for (Path f : files) read(f, allocator, out);
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            // Arrow reads buffers' addresses through java.nio internals, which Java 17 opens only on request
            throw new UserError(dir + ": cannot read Arrow files in this JVM: start it with --add-opens=java.base/java.nio=ALL-UNNAMED"
                    + " (the align4j launcher does)");
        }
        return out;
    }

    private static List<Path> dataFiles(Path dir) {
        Path state = dir.resolve("state.json");
        List<Path> files = new ArrayList<>();
        if (Files.exists(state)) {
            try {
                for (JsonNode f : Json.MAPPER.readTree(state.toFile()).path("_data_files")) files.add(dir.resolve(f.path("filename").asText()));
            } catch (IOException e) {
                throw new UserError(state + ": cannot read: " + e.getMessage());
            }
            for (Path f : files) if (!Files.exists(f)) throw new UserError(state + ": lists " + f.getFileName() + ", which is not in the folder");
        } else {
            try (var list = Files.list(dir)) {
                list.filter(p -> p.toString().endsWith(".arrow")).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new UserError(dir + ": cannot list: " + e.getMessage());
            }
        }
        if (files.isEmpty())
            throw new UserError(dir + ": a directory with no state.json, dataset_dict.json or .arrow files; expected a file: " + Jsonl.FORMATS
                    + ", or a folder written by dataset.save_to_disk(...)");
        return files;
    }

    /** One Arrow file: the IPC stream format datasets writes, or the random-access file format (magic "ARROW1"). */
    private static void read(Path f, BufferAllocator allocator, List<Jsonl.Raw> out) {
        int row = 0;
        try (ArrowReader reader = open(f, allocator)) {
            while (reader.loadNextBatch()) {
                VectorSchemaRoot root = reader.getVectorSchemaRoot();
                for (int i = 0; i < root.getRowCount(); i++) {
                    ObjectNode o = Json.MAPPER.createObjectNode();
                    for (FieldVector v : root.getFieldVectors()) o.set(v.getName(), json(v.getObject(i)));
                    out.add(new Jsonl.Raw(f + ": row " + (++row), null, o));
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof UserError u) throw u;
            throw new UserError(f + ": cannot read as Arrow (a datasets save_to_disk file)" + (row > 0 ? " after row " + row : "") + ": "
                    + String.valueOf(e.getMessage()).split("\n")[0]);
        }
    }

    private static ArrowReader open(Path f, BufferAllocator allocator) throws IOException {
        byte[] magic = new byte[6];
        try (InputStream in = Files.newInputStream(f)) {
            if (in.readNBytes(magic, 0, 6) == 6 && new String(magic, java.nio.charset.StandardCharsets.US_ASCII).equals("ARROW1"))
                return new ArrowFileReader(FileChannel.open(f, StandardOpenOption.READ), allocator);
        }
        return new ArrowStreamReader(Files.newInputStream(f), allocator);
    }

    /** An Arrow value (Text, list, struct map, number, boolean, null) as JSON. */
    static JsonNode json(Object v) {
        JsonNodeFactory n = JsonNodeFactory.instance;
        if (v == null) return n.nullNode();
        if (v instanceof Text t) return n.textNode(t.toString());
        if (v instanceof CharSequence cs) return n.textNode(cs.toString());
        if (v instanceof Boolean b) return n.booleanNode(b);
        if (v instanceof Long x) return n.numberNode(x);
        if (v instanceof Integer x) return n.numberNode(x);
        if (v instanceof Short x) return n.numberNode(x);
        if (v instanceof Byte x) return n.numberNode(x);
        if (v instanceof Double x) return n.numberNode(x);
        if (v instanceof Float x) return n.numberNode(x);
        if (v instanceof java.math.BigDecimal x) return n.numberNode(x);
        if (v instanceof List<?> l) {
            ArrayNode a = n.arrayNode();
            l.forEach(x -> a.add(json(x)));
            return a;
        }
        if (v instanceof Map<?, ?> m) {
            ObjectNode o = n.objectNode();
            m.forEach((k, x) -> o.set(String.valueOf(k), json(x)));
            return o;
        }
        if (v instanceof byte[] b) return n.binaryNode(b);
        return n.textNode(v.toString());
    }
}
