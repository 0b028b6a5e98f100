import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
public class Ops {
  interface R { void run(); }
  static void t(String name, R r) { System.out.printf("%-28s %7.2f us%n", name, Best.micros(2000, 7, r::run)); }
  public static void main(String[] a) {
    Torch.init();
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor x = torch.randn(1, 1, 128), xv = torch.randn(128), w = torch.randn(256, 128), w2 = torch.randn(768, 128), wd = torch.randn(128, 384);
      Tensor g = torch.ones(128);
      Tensor q = torch.randn(1, 4, 1, 32), k = torch.randn(1, 2, 70, 32), v = torch.randn(1, 2, 70, 32);
      Tensor cache = torch.zeros(1, 2, 80, 32), kn = torch.randn(1, 2, 1, 32);
      Tensor big = torch.randn(1, 1, 384);
      t("empty scope", () -> {});
      t("x.size(-1)", () -> x.size(-1));
      t("add", () -> x.add(x));
      t("view", () -> x.view(1, 4, 1, 32));
      t("narrow", () -> w.narrow(0, 0, 128));
      t("mv 256x128", () -> torch.mv(w, xv));
      t("mv 768x128", () -> torch.mv(w2, xv));
      t("mv 128x384", () -> torch.mv(wd, big.reshape(384)));
      t("linear 1x128 . 256x128", () -> torch.linear(x, w));
      t("rms_norm", () -> torch.rms_norm(x, new long[]{128}, new TensorOptional(g), new DoubleOptional(1e-6)));
      t("silu 384", () -> torch.silu(big));
      t("roll", () -> q.roll(new long[]{16}, new long[]{-1}));
      t("addcmul", () -> torch.addcmul(q, q, q, Torch.s(1.0)));
      t("cache narrow+copy_", () -> cache.narrow(2, 69, 1).copy_(kn));
      t("sdpa T=1 S=70 gqa", () -> torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, false, new DoubleOptional(), true));
      Tensor k4 = torch.randn(1, 4, 70, 32), v4 = torch.randn(1, 4, 70, 32);
      t("sdpa T=1 S=70 no gqa", () -> torch.scaled_dot_product_attention(q, k4, v4, new TensorOptional(), 0.0, false, new DoubleOptional(), false));
      t("manual attn (matmul,softmax,matmul)", () -> torch.matmul(torch.softmax(torch.matmul(q, k4.transpose(2, 3)), -1), v4));
      t("Torch.s(1.0)", () -> Torch.s(1.0));
      t("new TensorOptional()", () -> new TensorOptional());
    }
  }
}
