package dev.align4j.core;

import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Writes TensorBoard event files (scalars only) with no dependency: TFRecord framing (length, masked
 * CRC32C, payload, masked CRC32C) around hand-encoded {@code tensorflow.Event} protobufs.
 * Event: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5;
 * Summary.value = 1; Value.tag = 1 (string), Value.simple_value = 2 (float).
 */
public final class TensorBoard implements AutoCloseable {
    private final OutputStream out;

    public TensorBoard(Path dir) throws IOException {
        Files.createDirectories(dir);
        String host = java.net.InetAddress.getLoopbackAddress().getHostName();
        Path file = dir.resolve("events.out.tfevents." + System.currentTimeMillis() / 1000 + "." + host + "." + ProcessHandle.current().pid());
        out = new FileOutputStream(file.toFile());
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        double64(ev, 1, System.currentTimeMillis() / 1000.0);
        bytes(ev, 3, "brain.Event:2".getBytes(StandardCharsets.UTF_8));
        record(ev.toByteArray());
    }

    public synchronized void scalar(String tag, double value, long step) throws IOException {
        ByteArrayOutputStream val = new ByteArrayOutputStream();
        bytes(val, 1, tag.getBytes(StandardCharsets.UTF_8));
        tag(val, 2, 5);
        val.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat((float) value).array());
        ByteArrayOutputStream summary = new ByteArrayOutputStream();
        bytes(summary, 1, val.toByteArray());
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        double64(ev, 1, System.currentTimeMillis() / 1000.0);
        tag(ev, 2, 0);
        varint(ev, step);
        bytes(ev, 5, summary.toByteArray());
        record(ev.toByteArray());
    }

    /**
     * A SessionLog START event at {@code step}: TensorBoard discards the events of earlier runs in this
     * directory with step &ge; {@code step}, so a resumed run does not show its replayed steps twice.
     * Event.session_log = 6; SessionLog.status = 1 (START = 1).
     */
    public synchronized void sessionStart(long step) throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        tag(log, 1, 0);
        varint(log, 1);
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        double64(ev, 1, System.currentTimeMillis() / 1000.0);
        tag(ev, 2, 0);
        varint(ev, step);
        bytes(ev, 6, log.toByteArray());
        record(ev.toByteArray());
    }

    public synchronized void flush() throws IOException { out.flush(); }

    private void record(byte[] data) throws IOException {
        byte[] len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).array();
        out.write(len);
        out.write(le32(maskedCrc(len)));
        out.write(data);
        out.write(le32(maskedCrc(data)));
    }

    static int maskedCrc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    private static byte[] le32(int v) { return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array(); }

    private static void tag(ByteArrayOutputStream o, int field, int wire) { varint(o, ((long) field << 3) | wire); }

    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) { o.write((int) ((v & 0x7F) | 0x80)); v >>>= 7; }
        o.write((int) v);
    }

    private static void double64(ByteArrayOutputStream o, int field, double v) {
        tag(o, field, 1);
        o.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(v).array());
    }

    private static void bytes(ByteArrayOutputStream o, int field, byte[] b) {
        tag(o, field, 2);
        varint(o, b.length);
        o.writeBytes(b);
    }

    @Override
    public void close() throws IOException { out.close(); }
}
