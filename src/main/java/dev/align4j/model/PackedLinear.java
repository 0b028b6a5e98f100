package dev.align4j.model;

import dev.align4j.core.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.Type;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * x · Wᵀ + b through oneDNN with W reordered once into oneDNN's blocked layout, for the products of
 * decoding (no autograd, a few rows). OpenBLAS, behind {@code torch.linear}, repacks all of W on every call;
 * at 2–64 rows that packing is a large share of the product. With W packed ahead, the medium model's
 * decode-step products at 64 rows went from 130 to 100 ms, at 8 rows from 52 to 26 ms, at 2 rows from 67 to
 * 25 ms (weights streamed from memory, as in a real step; {@code bench/harness/run.sh LayerStream 2 8 64}).
 * At one row {@code mv} is as fast (memory bound) and from a few hundred rows on OpenBLAS is faster, so
 * callers use this between {@link #MIN_ROWS} and {@link #MAX_ROWS} rows. Packing is not free (the ~100M
 * model's 49 weights: 0.3–0.7 s, {@code bench/harness/run.sh PackCost}), so {@link LlamaModel} packs only for
 * decode steps, which reuse the same weights for every generated token.
 *
 * <p>The ops are libtorch's own {@code mkldnn::_reorder_linear_weight} and {@code mkldnn::_linear_pointwise}
 * (what PyTorch's inductor uses for CPU linears), called through the dispatcher. A packed weight is an opaque
 * oneDNN tensor: a copy of W, owned by the caller, rebuilt when W changes.
 */
final class PackedLinear {
    private PackedLinear() {}

    /** Row counts (batch × tokens) for which the packed product is used; measured, see the class comment. */
    static final int MIN_ROWS = 2, MAX_ROWS = 64;

    private static final OperatorHandle REORDER, POINTWISE;
    private static final IValue NONE, ATTR, SCALARS;

    static {
        OperatorHandle r = null, p = null;
        IValue none = null, attr = null, scalars = null;
        try (PointerScope scope = new PointerScope()) {
            r = Dispatcher.singleton().findSchemaOrThrow("mkldnn::_reorder_linear_weight", "");
            p = Dispatcher.singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
            // _linear_pointwise(Tensor X, Tensor W, Tensor? B, str attr, Scalar?[] scalars, str? algorithm)
            Type.TypePtr scalarOpt = p.schema().arguments().getPointer(4).type().get().containedType(0);
            none = new IValue();
            attr = new IValue("none");
            scalars = new IValue(new GenericList(scalarOpt));
            for (org.bytedeco.javacpp.Pointer x : new org.bytedeco.javacpp.Pointer[]{r, p, none, attr, scalars}) x.retainReference(); // process-lifetime constants
        } catch (RuntimeException e) {
            r = null;                                                          // a libtorch build without oneDNN: callers fall back
        }
        REORDER = r;
        POINTWISE = r == null ? null : p;
        NONE = none;
        ATTR = attr;
        SCALARS = scalars;
    }

    /** Whether packed products can be used for weights of this dtype (fp32 on a libtorch with oneDNN). */
    static boolean available(ScalarType dtype) {
        return REORDER != null && dtype == ScalarType.Float;
    }

    /** W (N, K), dense fp32, reordered into a new oneDNN tensor (the caller owns it). */
    static Tensor pack(Tensor w) {
        IValueVector stack = new IValueVector(new IValue(w.detach().contiguous()), NONE);
        REORDER.callBoxed(stack);
        return new Tensor(stack.get(0).toTensor());                          // an owning handle: the stack's own dies with it
    }

    /** x (…, K) · Wᵀ + b (N) → (…, N), with {@code packed} from {@link #pack}; {@code bias} may be null. */
    static Tensor linear(Tensor x, Tensor packed, Tensor bias, long outFeatures) {
        long[] shape = Torch.shape(x);
        long in = shape[shape.length - 1];
        IValueVector stack = new IValueVector(new IValue(x.reshape(-1, in).contiguous()), new IValue(packed),
                bias == null ? NONE : new IValue(bias), ATTR, SCALARS, NONE);
        POINTWISE.callBoxed(stack);
        shape[shape.length - 1] = outFeatures;
        return new Tensor(stack.get(0).toTensor()).view(shape);
    }
}
