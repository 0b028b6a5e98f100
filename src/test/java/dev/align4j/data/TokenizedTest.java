package dev.align4j.data;

import dev.align4j.core.UserError;
import dev.align4j.model.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class TokenizedTest {
    @TempDir
    Path dir;

    @Test
    void truncationKeepsTheChosenEndOfThePrompt() {
        try (Tokenizer tok = Tokenizer.writeBuiltin(dir)) {
            int bos = Tokenizer.BUILTIN_BOS, eos = Tokenizer.BUILTIN_EOS;
            int[] abcdef = tok.encode("abcdef", false), xy = tok.encode("xy", false);
            // prompt [BOS a b c d e f] (7), completion [x y EOS] (3); max 6 leaves 3 prompt tokens
            Tokenized end = Tokenized.of(tok, "abcdef", "xy", 6, Tokenized.Truncation.KEEP_END, true);
            assertArrayEquals(Arrays.copyOfRange(abcdef, 3, 6), end.prompt(), "keep_end: d e f");
            assertArrayEquals(new int[]{xy[0], xy[1], eos}, end.completion());
            Tokenized start = Tokenized.of(tok, "abcdef", "xy", 6, Tokenized.Truncation.KEEP_START, true);
            assertArrayEquals(new int[]{bos, abcdef[0], abcdef[1]}, start.prompt(), "keep_start: BOS a b");
            assertArrayEquals(end.completion(), start.completion(), "the completion is cut the same way in both modes");
            // max 3: the prompt keeps 1 token, the completion loses its end (EOS) to fit 2
            Tokenized tight = Tokenized.of(tok, "abcdef", "xy", 3, Tokenized.Truncation.KEEP_START, true);
            assertArrayEquals(new int[]{bos}, tight.prompt());
            assertArrayEquals(xy, tight.completion());
            // short enough: untouched in either mode
            assertEquals(10, Tokenized.of(tok, "abcdef", "xy", 10, Tokenized.Truncation.KEEP_START, true).length());
        }
        assertEquals(Tokenized.Truncation.KEEP_START, Tokenized.Truncation.parse("keep-start"));
        UserError e = assertThrows(UserError.class, () -> Tokenized.Truncation.parse("left"));
        assertTrue(e.getMessage().contains("expected keep_end or keep_start"), e.getMessage());
    }
}
