package dev.align4j.model;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Preallocated key/value cache for incremental decoding: per layer one (B, Hkv, capacity, D) tensor
 * for keys and one for values. All rows share one write position ({@link #length}); prompts of
 * different lengths are left-padded so they end together. Never takes gradients.
 */
public final class KVCache implements AutoCloseable {
    final Tensor[] k, v;
    final int capacity;
    int length;

    public KVCache(ModelConfig c, int batch, int capacity, ScalarType dtype) {
        Torch.init();
        this.capacity = capacity;
        k = new Tensor[c.numLayers()];
        v = new Tensor[c.numLayers()];
        for (int l = 0; l < c.numLayers(); l++) {
            k[l] = torch.zeros(new long[]{batch, c.numKvHeads(), capacity, c.headDim()}, Torch.opts(dtype));
            v[l] = torch.zeros(new long[]{batch, c.numKvHeads(), capacity, c.headDim()}, Torch.opts(dtype));
        }
    }

    public int length() { return length; }

    public int capacity() { return capacity; }

    /** Keeps only the given rows (finished rows dropped from a generation batch). */
    public void keepRows(Tensor rows) {
        for (int l = 0; l < k.length; l++) {
            Tensor nk = k[l].index_select(0, rows), nv = v[l].index_select(0, rows);
            k[l].close();
            v[l].close();
            k[l] = nk;
            v[l] = nv;
        }
    }

    @Override
    public void close() {
        for (int l = 0; l < k.length; l++) {
            if (k[l] != null) k[l].close();
            if (v[l] != null) v[l].close();
        }
    }
}
