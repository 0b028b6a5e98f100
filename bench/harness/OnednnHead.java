import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** The LM head (K 768, N 32000 by default) at decode batch sizes: mm with a transposed copy against oneDNN packed weights (hint = M, hint 64, no hint). */
public class OnednnHead {
  public static void main(String[] a) {
    Torch.init();
    OperatorHandle reorder = Dispatcher.singleton().findSchemaOrThrow("mkldnn::_reorder_linear_weight", "");
    OperatorHandle pointwise = Dispatcher.singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
    Type.TypePtr scalarOpt = pointwise.schema().arguments().getPointer(4).type().get().containedType(0);
    long K = a.length > 0 ? Long.parseLong(a[0]) : 768, N = a.length > 1 ? Long.parseLong(a[1]) : 32000;
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor w = torch.randn(N, K), wt = w.t().contiguous();
      java.util.function.Function<IValue, Tensor> pack = hint -> { IValueVector s = new IValueVector(new IValue(w), hint); reorder.callBoxed(s); return s.get(0).toTensor(); };
      Tensor p64 = pack.apply(new IValue(64L)), pNone = pack.apply(new IValue());
      for (int M : new int[]{2, 8, 32, 64}) {
        Tensor x = torch.randn(M, K), pM = pack.apply(new IValue((long) M));
        java.util.function.Function<Tensor, Runnable> lin = wp -> () -> { IValueVector s = new IValueVector(new IValue(x), new IValue(wp), new IValue(), new IValue("none"), new IValue(new GenericList(scalarOpt)), new IValue()); pointwise.callBoxed(s); s.get(0).toTensor(); };
        int n = (int) Math.max(3, 1e9 / (M * K * N));
        for (int rep = 0; rep < 2; rep++) {
          double t0 = Best.micros(n, 5, () -> torch.mm(x, wt)), t1 = Best.micros(n, 5, lin.apply(pM)), t2 = Best.micros(n, 5, lin.apply(p64)), t3 = Best.micros(n, 5, lin.apply(pNone));
          System.out.printf("M=%d: mm(x, Wt) %.0f us, onednn hint M %.0f us, hint 64 %.0f us, no hint %.0f us%n", M, t0, t1, t2, t3);
        }
      }
    }
  }
}
