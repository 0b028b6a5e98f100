package dev.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.AtomicFiles;
import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw bytes. Reading memory-maps one tensor at a time (no file
 * is ever read into one Java array); every header field is checked and a bad one is reported with the
 * file, the tensor name and the byte offset. Writing goes to a temporary file that is renamed into place.
 */
public final class Safetensors {
    private Safetensors() {}

    /** One entry of the header. {@code begin}/{@code end} are offsets into the data section. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {}

    static final long MAX_HEADER = 100L << 20;

    /** Parses and validates the header; the returned entries are in file order. */
    public static Map<String, Entry> header(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return header(file, ch);
        } catch (IOException e) {
            throw new UserError(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    static Map<String, Entry> header(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) throw new UserError(file + ": truncated safetensors file (" + size + " bytes, need at least 8 for the header length)");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(lenBuf, 0);
        long hlen = lenBuf.flip().getLong();
        if (hlen <= 0 || hlen > MAX_HEADER || hlen > size - 8)
            throw new UserError(file + ": corrupt safetensors header length " + hlen + " at byte 0 (file has " + size + " bytes)");
        ByteBuffer hb = ByteBuffer.allocate((int) hlen);
        ch.read(hb, 8);
        String headerText = new String(hb.array(), StandardCharsets.UTF_8);
        JsonNode h;
        try {
            h = Json.MAPPER.readTree(headerText);
        } catch (IOException e) {
            throw new UserError(file + ": corrupt safetensors header (bytes 8.." + (8 + hlen) + "): not valid JSON");
        }
        if (h == null || !h.isObject()) throw new UserError(file + ": corrupt safetensors header: expected a JSON object");
        long dataLen = size - 8 - hlen;
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext(); ) {
            var f = it.next();
            if (f.getKey().equals("__metadata__")) continue;
            String name = f.getKey();
            JsonNode e = f.getValue();
            String where = file + ": tensor '" + name + "'";
            if (!e.isObject() || !e.has("dtype") || !e.has("shape") || !e.has("data_offsets"))
                throw new UserError(where + ": header entry needs dtype, shape and data_offsets");
            String dtype = e.get("dtype").asText();
            int esize = elementSize(dtype);
            if (esize < 0) throw new UserError(where + ": unsupported dtype '" + dtype + "' (expected F32, F16, BF16, I64, I32, I8, U8, BOOL)");
            JsonNode sh = e.get("shape");
            if (!sh.isArray()) throw new UserError(where + ": shape must be an array");
            long[] shape = new long[sh.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!sh.get(i).canConvertToLong() || sh.get(i).asLong() < 0)
                    throw new UserError(where + ": shape[" + i + "] must be a non-negative integer, got " + sh.get(i));
                shape[i] = sh.get(i).asLong();
                numel = Math.multiplyExact(numel, shape[i]);
            }
            JsonNode off = e.get("data_offsets");
            if (!off.isArray() || off.size() != 2 || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong())
                throw new UserError(where + ": data_offsets must be [begin, end]");
            long begin = off.get(0).asLong(), end = off.get(1).asLong();
            if (begin < 0 || end < begin || end > dataLen)
                throw new UserError(where + ": data_offsets [" + begin + ", " + end + "] fall outside the data section of "
                        + dataLen + " bytes (byte offset " + (8 + hlen + begin) + "); the file is truncated or corrupt");
            if (end - begin != numel * esize)
                throw new UserError(where + ": data_offsets span " + (end - begin) + " bytes but shape " + java.util.Arrays.toString(shape)
                        + " of " + dtype + " needs " + numel * esize);
            out.put(name, new Entry(name, dtype, shape, 8 + hlen + begin, 8 + hlen + end));
        }
        return out;
    }

    static int elementSize(String dtype) {
        return switch (dtype) {
            case "F32", "I32" -> 4;
            case "F16", "BF16", "I16" -> 2;
            case "I64", "F64" -> 8;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    static ScalarType scalarType(String dtype) {
        return switch (dtype) {
            case "F32" -> ScalarType.Float;
            case "F16" -> ScalarType.Half;
            case "BF16" -> ScalarType.BFloat16;
            case "F64" -> ScalarType.Double;
            case "I64" -> ScalarType.Long;
            case "I32" -> ScalarType.Int;
            case "I16" -> ScalarType.Short;
            case "I8" -> ScalarType.Char;
            case "U8" -> ScalarType.Byte;
            case "BOOL" -> ScalarType.Bool;
            default -> throw new IllegalArgumentException(dtype);
        };
    }

    static String dtypeCode(ScalarType t) {
        return switch (t) {
            case Float -> "F32";
            case Half -> "F16";
            case BFloat16 -> "BF16";
            case Double -> "F64";
            case Long -> "I64";
            case Int -> "I32";
            case Short -> "I16";
            case Char -> "I8";
            case Byte -> "U8";
            case Bool -> "BOOL";
            default -> throw new IllegalArgumentException("cannot store dtype " + t);
        };
    }

    /**
     * Calls {@code sink} with each tensor of the file, converted to {@code dtype} (null keeps the file's
     * dtype). Each tensor is a fresh, caller-owned copy; the file's mapping is released as we go.
     */
    public static void read(Path file, ScalarType dtype, BiConsumer<String, Tensor> sink) {
        Torch.init();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (Entry e : header(file, ch).values()) {
                long n = e.end() - e.begin();
                Tensor t;
                if (n == 0) {
                    t = torch.empty(e.shape(), Torch.opts(scalarType(e.dtype())), null);
                } else {
                    MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, e.begin(), n);
                    try (Pointer p = new Pointer(buf); Tensor view = torch.from_blob(new BytePointer(p), e.shape(), Torch.cpuOpts(scalarType(e.dtype())))) {
                        t = view.clone();
                    }
                }
                if (dtype != null && Torch.dtypeOf(t) != dtype) {
                    Tensor c = t.to(dtype);
                    t.close();
                    t = c;
                }
                sink.accept(e.name(), t);
            }
        } catch (IOException ex) {
            throw new UserError(file + ": cannot read: " + ex.getMessage(), ex);
        }
    }

    /** Writes the tensors (in map order) as {@code dtype} (null keeps each tensor's dtype), atomically. */
    public static void write(Path file, Map<String, Tensor> tensors, ScalarType dtype, Map<String, String> metadata) {
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {   // converted copies die here
            writeScoped(file, tensors, dtype, metadata);
        }
    }

    private static void writeScoped(Path file, Map<String, Tensor> tensors, ScalarType dtype, Map<String, String> metadata) {
        Map<String, Tensor> conv = new LinkedHashMap<>();
        ObjectNode h = Json.object();
        ObjectNode meta = h.putObject("__metadata__");
        meta.put("format", "pt");
        if (metadata != null) metadata.forEach(meta::put);
        long offset = 0;
        for (var e : tensors.entrySet()) {
            Tensor t = Torch.host(e.getValue());                                  // saved from the CPU whatever the device
            if (dtype != null && Torch.dtypeOf(t) != dtype && isFloating(Torch.dtypeOf(t))) t = t.to(dtype);
            t = t.contiguous();
            conv.put(e.getKey(), t);
            ObjectNode en = h.putObject(e.getKey());
            en.put("dtype", dtypeCode(Torch.dtypeOf(t)));
            var sh = en.putArray("shape");
            for (long d : Torch.shape(t)) sh.add(d);
            long n = t.nbytes();
            en.putArray("data_offsets").add(offset).add(offset + n);
            offset += n;
        }
        byte[] hbytes = Json.compact(h).getBytes(StandardCharsets.UTF_8);
        int pad = (8 - hbytes.length % 8) % 8;
        byte[] header = new byte[hbytes.length + pad];
        System.arraycopy(hbytes, 0, header, 0, hbytes.length);
        for (int i = hbytes.length; i < header.length; i++) header[i] = ' ';
        Path tmp = AtomicFiles.tempSibling(file);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            while (len.hasRemaining()) ch.write(len);
            ByteBuffer hb = ByteBuffer.wrap(header);
            while (hb.hasRemaining()) ch.write(hb);
            for (Tensor t : conv.values()) {
                long n = t.nbytes();
                if (n == 0) continue;
                BytePointer p = new BytePointer(t.data_ptr()).capacity(n);
                for (long done = 0; done < n; ) {
                    long chunk = Math.min(n - done, 1L << 30);
                    ByteBuffer bb = p.position(done).limit(done + chunk).asByteBuffer();
                    while (bb.hasRemaining()) ch.write(bb);
                    done += chunk;
                }
            }
            ch.force(true);
        } catch (IOException ex) {
            AtomicFiles.deleteQuietly(tmp);
            throw new UserError(file + ": cannot write: " + ex.getMessage(), ex);
        }
        try {
            AtomicFiles.move(tmp, file);
        } catch (IOException ex) {
            AtomicFiles.deleteQuietly(tmp);
            throw new UserError(file + ": cannot write: " + ex.getMessage(), ex);
        }
    }

    static boolean isFloating(ScalarType t) {
        return t == ScalarType.Float || t == ScalarType.Half || t == ScalarType.BFloat16 || t == ScalarType.Double;
    }
}
