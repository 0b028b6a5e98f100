import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.model.PackedBridge;
/** The LM head (K 768, N 32000 by default; args K N) at decode batch sizes: mm with a transposed copy against the oneDNN-packed weight (PackedLinear). */
public class OnednnHead {
  public static void main(String[] a) {
    Torch.init();
    long K = a.length > 0 ? Long.parseLong(a[0]) : 768, N = a.length > 1 ? Long.parseLong(a[1]) : 32000;
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor w = torch.randn(N, K), wt = w.t().contiguous(), packed = PackedBridge.pack(w);
      for (int M : new int[]{2, 8, 32, 64}) {
        Tensor x = torch.randn(M, K);
        int n = (int) Math.max(3, 1e9 / (M * K * N));
        for (int rep = 0; rep < 2; rep++)
          System.out.printf("M=%d: mm(x, Wt) %.0f us, oneDNN packed %.0f us%n", M, Best.micros(n, 5, () -> torch.mm(x, wt)), Best.micros(n, 5, () -> PackedBridge.linear(x, packed, N)));
      }
    }
  }
}
