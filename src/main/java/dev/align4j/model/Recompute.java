package dev.align4j.model;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Activation (gradient) checkpointing of the decoder blocks (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
 * Cost"; what {@code torch.utils.checkpoint} and TRL's {@code gradient_checkpointing} do). A checkpointed forward keeps
 * only each block's input (B, T, H); the block's own activations live in a scope that closes as soon as its output is
 * taken. The forward hands the caller a detached leaf in place of the last block's output, so the caller's backward
 * stops there; {@link #backward} then walks the blocks from last to first: recompute block l from its kept input with
 * gradients on, backpropagate the gradient that reached its output, and pass its input's gradient on to block l − 1;
 * last, the embedding output takes the first block's input gradient. The sum of these backward passes is the plain
 * backward (the chain rule, block by block); the cost is one more forward of the blocks.
 *
 * <p>Memory: L kept inputs and the head's activations, plus one block's activations at a time, instead of every block's.
 * LoRA dropout draws its masks from a counter ({@link Lora#draws}); the recompute rewinds it so that each block sees the
 * masks of its first forward.
 *
 * <p>Lifetime: a forward's kept tensors are attached to the caller's {@link PointerScope} (a checkpointed forward needs
 * one) and held by its pending backward, which belongs to this thread, until {@link #backward} or {@link #clear}: so a
 * caller may close its scope (e.g. {@link Scoring#score}'s) before the backward. The training loop calls {@link #backward}
 * in place of {@code loss.backward()} for every micro-batch, and {@link #clear} after it.
 */
public final class Recompute {
    private Recompute() {}

    private static final ThreadLocal<ArrayDeque<Pending>> PENDING = ThreadLocal.withInitial(ArrayDeque::new);

    /** One checkpointed forward waiting for its blocks' backward; it holds a reference to each of its tensors until {@link #release}. */
    private record Pending(LlamaModel model, Tensor embedded, Tensor[] inputs, long[] draws, Tensor last, Tensor[] cs, Tensor mask,
                           boolean causal, boolean packed) {
        Pending {
            for (Tensor t : held(embedded, inputs, last, cs, mask)) t.retainReference();
        }

        void release() {
            for (Tensor t : held(embedded, inputs, last, cs, mask)) t.releaseReference();
        }

        private static List<Tensor> held(Tensor embedded, Tensor[] inputs, Tensor last, Tensor[] cs, Tensor mask) {
            List<Tensor> out = new ArrayList<>(List.of(inputs));
            out.add(embedded);
            out.add(last);
            for (Tensor t : cs) if (t != null) out.add(t);
            if (mask != null) out.add(mask);
            return out;
        }

        void backward() {
            Tensor g = last.grad();
            if (!g.defined()) return;                                   // the output did not reach the loss
            Lora lora = model.lora();
            long drawsAfter = lora == null ? 0 : lora.draws();
            boolean own = false;                                        // g retained here (not the caller's)
            try {
                for (int l = inputs.length - 1; l >= 0; l--) {
                    Tensor next;
                    try (PointerScope block = new PointerScope()) {     // block l's recomputed activations end here
                        Tensor in = inputs[l].detach().requires_grad_(true);
                        if (lora != null) lora.draws(draws[l]);
                        Tensor out = model.block(l, in, cs, mask, causal, null, 0, packed, false);
                        torch.backward(new TensorVector(out), new TensorVector(g), new BoolOptional(), false, new TensorVector());
                        next = in.grad().detach();                      // owns its storage: outlives in (grad() is a reference into it)
                        next.retainReference();
                    }
                    if (own) g.releaseReference();
                    g = next;
                    own = true;
                }
                if (embedded.requires_grad())
                    torch.backward(new TensorVector(embedded), new TensorVector(g), new BoolOptional(), false, new TensorVector());
            } finally {
                if (own) g.releaseReference();
                if (lora != null) lora.draws(drawsAfter);
            }
        }
    }

    /**
     * The checkpointed forward of {@code n} blocks from the embedding output {@code embedded} (B, T, H): returns a leaf
     * holding the last block's output, whose gradient {@link #backward} carries down the blocks.
     */
    static Tensor blocks(LlamaModel m, Tensor embedded, int n, Tensor[] cs, Tensor mask, boolean causal, boolean packed) {
        PointerScope caller = PointerScope.getInnerScope();
        if (caller == null) throw new IllegalStateException("a checkpointed forward needs a PointerScope: its kept inputs live in it");
        Lora lora = m.lora();
        Tensor[] inputs = new Tensor[n];
        long[] draws = new long[n];
        Tensor x = embedded.detach();
        for (int l = 0; l < n; l++) {
            inputs[l] = x;
            draws[l] = lora == null ? 0 : lora.draws();
            try (PointerScope block = new PointerScope()) {             // the block's activations end here
                Tensor out = m.block(l, x, cs, mask, causal, null, 0, packed, false).detach();
                caller.attach(out);                                     // alive after this scope; Pending holds it beyond the caller's
                x = out;
            }
        }
        Tensor last = x.requires_grad_(true);
        PENDING.get().push(new Pending(m, embedded, inputs, draws, last, cs, mask, causal, packed));
        return last;
    }

    /** {@code loss.backward()}, then the blocks of every checkpointed forward since the last call, newest first. */
    public static void backward(Tensor loss) {
        loss.backward();
        ArrayDeque<Pending> q = PENDING.get();
        try {
            while (!q.isEmpty()) {
                Pending p = q.pop();
                try {
                    p.backward();
                } finally {
                    p.release();
                }
            }
        } finally {
            clear();
        }
    }

    /** Forgets pending forwards (a micro-batch that failed, or forwards that never reached a loss). */
    public static void clear() {
        ArrayDeque<Pending> q = PENDING.get();
        while (!q.isEmpty()) q.pop().release();
    }

    /** Checkpointed forwards whose blocks have not had their backward: must be 0 when an optimizer steps. */
    public static int pending() { return PENDING.get().size(); }
}
