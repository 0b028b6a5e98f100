import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.model.PackedBridge;
/** RSS over repeated pack / close of one 32000 x 768 weight (mode: pack = pack only; use = pack and one product). */
public class PackLeak {
  public static void main(String[] a) {
    Torch.init();
    boolean use = a.length > 0 && a[0].equals("use");
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor w = torch.randn(32000, 768), x = torch.randn(2, 768);
      for (int i = 0; i < 20; i++) {
        try (PointerScope s = new PointerScope()) {
          Tensor p = PackedBridge.pack(w);
          if (use) PackedBridge.linear(x, p, 32000);
        }
        if (i % 4 == 3) System.out.printf("iter %d RSS %d MB%n", i, Pointer.physicalBytes() >> 20);
      }
    }
  }
}
