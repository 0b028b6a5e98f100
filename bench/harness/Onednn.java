import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** Linear at decode batch sizes: OpenBLAS (torch.linear) against oneDNN with a weight reordered once (mkldnn::_reorder_linear_weight, mkldnn::_linear_pointwise through the dispatcher). */
public class Onednn {
  static OperatorHandle reorder, pointwise; static Type.TypePtr scalarOpt;
  static Tensor call(OperatorHandle op, IValue... args) {
    IValueVector stack = new IValueVector(args);
    op.callBoxed(stack);
    return stack.get(0).toTensor();
  }
  public static void main(String[] a) {
    Torch.init();
    reorder = Dispatcher.singleton().findSchemaOrThrow("mkldnn::_reorder_linear_weight", "");
    pointwise = Dispatcher.singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
    scalarOpt = pointwise.schema().arguments().getPointer(4).type().get().containedType(0); // Scalar?
    System.out.println("list element type: " + scalarOpt.get().str().getString());
    try (NoGradGuard ng = new NoGradGuard()) {
      int M = a.length > 0 ? Integer.parseInt(a[0]) : 64;
      for (long[] kn : new long[][]{{768, 1280}, {768, 4096}, {2048, 768}, {768, 32000}}) {
        long K = kn[0], N = kn[1];
        Tensor x = torch.randn(M, K), w = torch.randn(N, K);
        Tensor wp = call(reorder, new IValue(w), new IValue((long) M));
        Runnable lin = () -> call(pointwise, new IValue(x), new IValue(wp), new IValue(), new IValue("none"), new IValue(new GenericList(scalarOpt)), new IValue());
        Tensor ref = torch.linear(x, w);
        IValueVector st = new IValueVector(new IValue(x), new IValue(wp), new IValue(), new IValue("none"), new IValue(new GenericList(scalarOpt)), new IValue());
        pointwise.callBoxed(st);
        Tensor got = st.get(0).toTensor();
        double err = got.sub(ref).abs().max().item_double();
        int n = (int) Math.max(3, 2e8 / (M * K * N));
        for (int rep = 0; rep < 2; rep++) {
          double t1 = Best.micros(n, 5, () -> torch.linear(x, w));
          double t2 = Best.micros(n, 5, lin);
          System.out.printf("M=%d K=%d N=%d: openblas %.0f us (%.0f GF/s), onednn packed %.0f us (%.0f GF/s); max |diff| %.2e, packed is_mkldnn %b%n",
              M, K, N, t1, 2.0 * M * K * N / t1 / 1e3, t2, 2.0 * M * K * N / t2 / 1e3, err, wp.is_mkldnn());
        }
      }
    }
  }
}
