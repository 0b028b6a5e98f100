import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** Memory bandwidth: matrix-vector products over weights that do not stay in cache, a 200 MB copy and sum; 1 and 2 threads. */
public class Bw {
  public static void main(String[] a) {
    Torch.init();
    try (NoGradGuard ng = new NoGradGuard()) {
      for (int th : new int[]{1, 2}) {
        torch.set_num_threads(th);
        for (long[] sh : new long[][]{{32000, 384}, {2048, 384}, {640, 384}, {384, 1024}, {4096, 768}}) {
          int copies = (int) Math.max(1, 200_000_000L / (sh[0] * sh[1] * 4));
          Tensor[] w = new Tensor[copies]; for (int i = 0; i < copies; i++) w[i] = torch.randn(sh[0], sh[1]);
          Tensor x = torch.randn(sh[1]);
          double best = 1e18;
          for (int r = 0; r < 5; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < copies; i++) try (PointerScope s = new PointerScope()) { torch.mv(w[i], x); }
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
          }
          double gb = copies * sh[0] * sh[1] * 4 / 1e9;
          System.out.printf("threads %d mv %dx%d (%d copies, cold): %.1f GB/s, %.1f us each%n", th, sh[0], sh[1], copies, gb / best, best / copies * 1e6);
          for (Tensor t : w) t.close();
        }
        Tensor big = torch.randn(50_000_000), dst = torch.empty(50_000_000);
        double best = 1e18;
        for (int r = 0; r < 5; r++) { long t0 = System.nanoTime(); dst.copy_(big); best = Math.min(best, (System.nanoTime() - t0) / 1e9); }
        System.out.printf("threads %d copy 200MB: %.1f GB/s (read+write)%n", th, 0.4 / best);
        best = 1e18;
        for (int r = 0; r < 5; r++) { long t0 = System.nanoTime(); try (PointerScope s = new PointerScope()) { big.sum(); } best = Math.min(best, (System.nanoTime() - t0) / 1e9); }
        System.out.printf("threads %d sum 200MB: %.1f GB/s%n", th, 0.2 / best);
      }
    }
  }
}
