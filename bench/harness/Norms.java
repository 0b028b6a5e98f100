import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** RMS-norm formulations and the cost of small JavaCPP allocations (run with and without -Dorg.bytedeco.javacpp.maxPhysicalBytes=...). */
public class Norms {
  interface R { void run(); }
  static void t(String name, R r) { System.out.printf("%-34s %9.2f us%n", name, Best.micros(3000, 5, r::run)); }
  public static void main(String[] a) {
    Torch.init();
    int H = 384;
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor x = torch.randn(1, 1, H), g = torch.ones(H), g2 = torch.ones(2 * H), b2 = torch.zeros(2 * H);
      t("add", () -> x.add(x));
      t("rms_norm", () -> torch.rms_norm(x, new long[]{H}, new TensorOptional(g), new DoubleOptional(1e-6)));
      t("layer_norm", () -> torch.layer_norm(x, new long[]{H}, new TensorOptional(g), new TensorOptional(), 1e-6, false));
      t("cat neg + layer_norm", () -> torch.layer_norm(torch.cat(new TensorVector(x, x.neg()), -1), new long[]{2 * H}, new TensorOptional(g2), new TensorOptional(), 1e-6, false).narrow(-1, 0, H));
      Tensor signs = torch.ones(2, 1); signs.narrow(0, 1, 1).fill_(Torch.s(-1.0));
      t("signs ln(2,H) select mul", () -> torch.layer_norm(x.unsqueeze(-2).mul(signs), new long[]{2, H}, new TensorOptional(), new TensorOptional(), 1e-6, false).select(-2, 0).mul(g));
      t("signs ln(2,H) weight expand", () -> torch.layer_norm(x.unsqueeze(-2).mul(signs), new long[]{2, H}, new TensorOptional(g.expand(2, H)), new TensorOptional(), 1e-6, false).select(-2, 0));
      Tensor xb = torch.randn(64, 1, H);
      t("B64 rms_norm", () -> torch.rms_norm(xb, new long[]{H}, new TensorOptional(g), new DoubleOptional(1e-6)));
      t("B64 signs ln select mul", () -> torch.layer_norm(xb.unsqueeze(-2).mul(signs), new long[]{2, H}, new TensorOptional(), new TensorOptional(), 1e-6, false).select(-2, 0).mul(g));
      Tensor xm = torch.randn(64, 1, 768), gm = torch.ones(768);
      for (int k = 0; k < 2; k++) {
      t("B64x768 rms_norm", () -> torch.rms_norm(xm, new long[]{768}, new TensorOptional(gm), new DoubleOptional(1e-6)));
      t("B64x768 cat-neg ln narrow mul", () -> torch.layer_norm(torch.cat(new TensorVector(xm, xm.neg()), -1), new long[]{1536}, new TensorOptional(), new TensorOptional(), 1e-6, false).narrow(-1, 0, 768).mul(gm));
      t("B64x768 manual", () -> xm.mul(torch.rsqrt(xm.square().mean(new long[]{-1}, true, new ScalarTypeOptional()).add_(Torch.s(1e-6)))).mul_(gm));
      }
      t("native_layer_norm", () -> torch.native_layer_norm(x, new long[]{H}, new TensorOptional(g), new TensorOptional(), 1e-6));
      t("vector_norm", () -> torch.linalg_vector_norm(x, Torch.s(2.0), new long[]{-1}, true, new ScalarTypeOptional()));
      t("empty scope", () -> {});
      t("new TensorOptional(g)", () -> new TensorOptional(g));
      t("x.mul(g)", () -> x.mul(g));
      t("x.mul_(1)", () -> x.mul_(Torch.s(1.0)));
    }
  }
}
