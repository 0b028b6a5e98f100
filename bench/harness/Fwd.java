import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.model.*;
public class Fwd {
  public static void main(String[] a) {
    Torch.init();
    ModelConfig c = ModelConfig.builtin(a[0], 32000, 1, new int[]{2}, 0);
    LlamaModel m = LlamaModel.init(c, 0, torch.ScalarType.Float);
    int B = Integer.parseInt(a[1]), T = Integer.parseInt(a[2]);
    double best = 1e9;
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor ids = torch.randint(3, 32000, new long[]{B, T});
      for (int r = 0; r < 6; r++) {
        long t0 = System.nanoTime();
        try (PointerScope s = new PointerScope()) { Torch.item(m.hidden(ids, null, null).sum()); }
        best = Math.min(best, (System.nanoTime() - t0) / 1e6);
      }
    }
    System.out.printf("%s no-grad trunk forward B=%d T=%d: %.1f ms%n", a[0], B, T, best);
  }
}
