package dev.align4j.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Outputs are written to a temporary sibling and renamed into place, so a crash never leaves a
 * half-written file or directory where a reader expects a whole one.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    public static void writeString(Path file, String text) {
        writeBytes(file, text.getBytes(StandardCharsets.UTF_8));
    }

    public static void writeBytes(Path file, byte[] bytes) {
        Path tmp = tempSibling(file);
        try {
            Files.write(tmp, bytes);
            move(tmp, file);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UserError(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** A fresh temporary path next to {@code target} (same directory, so the rename is atomic). */
    public static Path tempSibling(Path target) {
        Path parent = target.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new UserError(parent + ": cannot create directory: " + e.getMessage(), e);
        }
        return parent.resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    /** Atomic rename; replaces an existing file or (for directories) moves the old one aside first. */
    public static void move(Path from, Path to) throws IOException {
        if (Files.isDirectory(to)) {
            Path old = tempSibling(to);
            Files.move(to, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            deleteRecursively(old);
        } else {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static void deleteRecursively(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(AtomicFiles::deleteQuietly);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: a leftover temp file is harmless
        }
    }
}
