import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** Decode-step attention at medium, B=64 (Hkv 4, 3 query rows per KV head, 70 keys, D 64): threads and formulations. */
public class Sdpa {
  static void t(String name, Runnable r) { System.out.printf("%-44s %9.1f us%n", name, Best.micros(200, 5, r)); }
  public static void main(String[] a) {
    Torch.init();
    int B = a.length > 0 ? Integer.parseInt(a[0]) : 64, hkv = 4, g = 3, S = 70, D = 64;
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor cacheK = torch.randn(B, hkv, 80, D), cacheV = torch.randn(B, hkv, 80, D);
      Tensor k = cacheK.narrow(2, 0, S), v = cacheV.narrow(2, 0, S), q = torch.randn(B, hkv, g, D);
      Tensor kc = k.contiguous(), vc = v.contiguous();
      for (int th : new int[]{2, 1}) {
        torch.set_num_threads(th);
        t("sdpa grouped, narrowed cache, threads " + th, () -> torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, false, new DoubleOptional(), false));
        t("sdpa grouped, contiguous k/v, threads " + th, () -> torch.scaled_dot_product_attention(q, kc, vc, new TensorOptional(), 0.0, false, new DoubleOptional(), false));
        t("matmul softmax matmul, threads " + th, () -> {
          Tensor s = torch.matmul(q, k.transpose(2, 3)).mul_(Torch.s(1.0 / Math.sqrt(D)));
          torch.matmul(torch.softmax(s, -1), v);
        });
      }
      torch.set_num_threads(2);
      Tensor q1 = q.select(0, 0).select(0, 0), k1 = kc.select(0, 0).select(0, 0); // (3, D), (S, D)
      t("one small mm (3xD)@(DxS)", () -> torch.mm(q1, k1.t()));
    }
  }
}
