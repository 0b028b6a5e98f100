import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** x·Wᵀ (linear) against x·W' with a contiguous transposed copy, for decode-sized M (8, 32, 64) and the model shapes. */
public class Gemm {
  static double time(Runnable r, int n) { return Best.micros(n, 5, r); }
  public static void main(String[] a) {
    Torch.init();
    try (NoGradGuard ng = new NoGradGuard()) {
      for (int M : new int[]{8, 32, 64}) for (long[] kn : new long[][]{{768, 1280}, {768, 4096}, {2048, 768}, {768, 32000}, {384, 2048}}) {
        long K = kn[0], N = kn[1];
        Tensor x = torch.randn(M, K), w = torch.randn(N, K), wt = w.t().contiguous();
        int n = (int) Math.max(3, 2e8 / (M * K * N));
        double a1 = time(() -> torch.linear(x, w), n), a2 = time(() -> torch.mm(x, wt), n);
        System.out.printf("M=%d K=%d N=%d: linear %.0f us (%.0f GF/s), mm(x, Wt) %.0f us (%.0f GF/s)%n", M, K, N, a1, 2.0 * M * K * N / a1 / 1e3, a2, 2.0 * M * K * N / a2 / 1e3);
      }
    }
  }
}
