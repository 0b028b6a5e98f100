import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** Per-op overhead: 40 small ops from Java through JavaCPP vs. the same 40 inside one TorchScript function. */
public class JitSpike {
  public static void main(String[] a) {
    Torch.init();
    StringBuilder src = new StringBuilder("def f(x: torch.Tensor, w: torch.Tensor):\n    y = x\n");
    for (int i = 0; i < 20; i++) src.append("    y = torch.mv(w, y)\n    y = y * 0.5\n");
    src.append("    return y\n");
    CompilationUnit cu = torch.compile(src.toString());
    Function f = cu.get_function(new QualifiedName("f"));
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor x = torch.randn(128), w = torch.randn(128, 128).div(new Scalar(12.0));
      for (int rep = 0; rep < 5; rep++) {
        long t0 = System.nanoTime();
        for (int it = 0; it < 2000; it++) try (PointerScope s = new PointerScope()) {
          Tensor y = x;
          for (int i = 0; i < 20; i++) { y = torch.mv(w, y); y = y.mul(new Scalar(0.5)); }
        }
        long t1 = System.nanoTime();
        for (int it = 0; it < 2000; it++) try (PointerScope s = new PointerScope()) {
          IValueVector args = new IValueVector(new IValue(x), new IValue(w));
          f.apply(args).toTensor();
        }
        long t2 = System.nanoTime();
        System.out.printf("java: %.1f us per 40 ops   torchscript: %.1f us%n", (t1 - t0) / 2000 / 1e3, (t2 - t1) / 2000 / 1e3);
      }
    }
  }
}
