package dev.align4j.model;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

/**
 * A right-padded batch of prompt + completion token sequences, the input of every trainer.
 * Right padding keeps plain causal attention exact for the real tokens, so the fused causal path runs.
 *
 * @param ids        (B, T) long token ids, padded with the pad id
 * @param attention  (B, T) bool, true at real tokens
 * @param completion (B, T) bool, true at completion tokens (the ones that are scored / trained on)
 */
public record SeqBatch(Tensor ids, Tensor attention, Tensor completion, int[] promptLens, int[] completionLens)
        implements AutoCloseable {

    public static SeqBatch of(List<int[]> prompts, List<int[]> completions, int padId) {
        if (prompts.size() != completions.size()) throw new IllegalArgumentException("prompts and completions differ in count");
        int b = prompts.size(), t = 0;
        for (int i = 0; i < b; i++) t = Math.max(t, prompts.get(i).length + completions.get(i).length);
        long[] ids = new long[b * t];
        boolean[] att = new boolean[b * t], comp = new boolean[b * t];
        int[] pl = new int[b], cl = new int[b];
        for (int i = 0; i < b; i++) {
            int[] p = prompts.get(i), c = completions.get(i);
            pl[i] = p.length;
            cl[i] = c.length;
            for (int j = 0; j < t; j++) {
                int k = i * t + j;
                if (j < p.length) { ids[k] = p[j]; att[k] = true; }
                else if (j < p.length + c.length) { ids[k] = c[j - p.length]; att[k] = true; comp[k] = true; }
                else ids[k] = padId;
            }
        }
        return new SeqBatch(Torch.longs(ids, b, t), Torch.bools(att, b, t), Torch.bools(comp, b, t), pl, cl);
    }

    /**
     * Sequences with their own loss masks (multi-turn SFT: every assistant turn): {@code completion} is true where
     * {@code trained} is; promptLens is each row's first trained position, completionLens its trained-token count.
     */
    public static SeqBatch ofMasked(List<int[]> ids, List<boolean[]> trained, int padId) {
        int b = ids.size(), t = 0;
        for (int[] x : ids) t = Math.max(t, x.length);
        long[] flat = new long[b * t];
        boolean[] att = new boolean[b * t], comp = new boolean[b * t];
        int[] pl = new int[b], cl = new int[b];
        for (int i = 0; i < b; i++) {
            int[] x = ids.get(i);
            boolean[] m = trained.get(i);
            pl[i] = x.length;
            for (int j = 0; j < t; j++) {
                int k = i * t + j;
                if (j < x.length) {
                    flat[k] = x[j];
                    att[k] = true;
                    comp[k] = m[j];
                    if (m[j]) { cl[i]++; pl[i] = Math.min(pl[i], j); }
                } else flat[k] = padId;
            }
        }
        return new SeqBatch(Torch.longs(flat, b, t), Torch.bools(att, b, t), Torch.bools(comp, b, t), pl, cl);
    }

    public int size() { return promptLens.length; }

    public long length() { return ids.size(1); }

    @Override
    public void close() {
        ids.close();
        attention.close();
        completion.close();
    }
}
