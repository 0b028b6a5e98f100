import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
/** One decode-layer op at a time, in a tight loop (warm caches): args B H I heads kvHeads, e.g. 64 384 1024 6 2 (small). */
public class DecOps {
  interface R { void run(); }
  static int N = 200;
  static void t(String name, R r) { System.out.printf("%-34s %9.1f us%n", name, Best.micros(N, 5, r::run)); }
  public static void main(String[] a) {
    Torch.init();
    int B = Integer.parseInt(a[0]), H = Integer.parseInt(a[1]), I = Integer.parseInt(a[2]), hq = Integer.parseInt(a[3]), hkv = Integer.parseInt(a[4]);
    int D = H / hq, S = 70;
    N = B == 1 ? 2000 : 200;
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor x = torch.randn(B, 1, H), wqkv = torch.randn((hq + 2 * hkv) * D, H), wo = torch.randn(H, H), wgu = torch.randn(2 * I, H), wd = torch.randn(H, I);
      Tensor g = torch.ones(H), xi = torch.randn(B, 1, I), head = torch.randn(32000, H);
      Tensor q = torch.randn(B, hq, 1, D), k = torch.randn(B, hkv, S, D), v = torch.randn(B, hkv, S, D);
      Tensor cache = torch.zeros(B, hkv, 80, D), kn = torch.randn(B, hkv, 1, D);
      Tensor qk = torch.randn(B, hq + hkv, 1, D);
      Tensor cs = torch.randn(1, 1, 1, D);
      t("linear qkv", () -> torch.linear(x, wqkv));
      t("linear o", () -> torch.linear(x, wo));
      t("linear gateUp", () -> torch.linear(x, wgu));
      t("linear down", () -> torch.linear(xi, wd));
      t("lm head", () -> torch.linear(x, head));
      t("matmul x.wT (gateUp)", () -> torch.matmul(x.view(B, H), wgu.t()));
      t("addmm down", () -> torch.mm(xi.view(B, I), wd.t()));
      t("rms_norm", () -> torch.rms_norm(x, new long[]{H}, new TensorOptional(g), new DoubleOptional(1e-6)));
      t("silu*mul", () -> torch.silu(xi).mul_(xi));
      t("rotary (mul,roll,addcmul)", () -> torch.addcmul(qk.mul(cs), qk.roll(new long[]{D / 2}, new long[]{-1}), cs, Torch.s(1.0)));
      t("cache narrow+copy_ x2", () -> { cache.narrow(2, 69, 1).copy_(kn); cache.narrow(2, 69, 1).copy_(kn); });
      t("sdpa gqa", () -> torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, false, new DoubleOptional(), true));
      Tensor kr = k.repeat_interleave(Torch.s(hq / hkv).toInt(), new LongOptional(1), new LongOptional()), vr = v.repeat_interleave(hq / hkv, new LongOptional(1), new LongOptional());
      t("sdpa no-gqa (pre-expanded)", () -> torch.scaled_dot_product_attention(q, kr, vr, new TensorOptional(), 0.0, false, new DoubleOptional(), false));
      t("manual attn grouped", () -> {
        Tensor qg = q.view(B, hkv, hq / hkv, D);
        Tensor s = torch.matmul(qg, k.transpose(2, 3)).mul_(Torch.s(1.0 / Math.sqrt(D)));
        torch.matmul(torch.softmax(s, -1), v);
      });
      t("sdpa grouped as T=g", () -> torch.scaled_dot_product_attention(q.view(B, hkv, hq / hkv, D), k, v, new TensorOptional(), 0.0, false, new DoubleOptional(), false));
      t("bmm flat", () -> {
        Tensor qg = q.view(B * hkv, hq / hkv, D);
        Tensor s = torch.bmm(qg, k.reshape(B * hkv, S, D).transpose(1, 2)).mul_(Torch.s(1.0 / Math.sqrt(D)));
        torch.bmm(torch.softmax(s, -1), v.reshape(B * hkv, S, D));
      });
      t("elementwise mul+sum", () -> {
        Tensor qg = q.view(B, hkv, hq / hkv, 1, D);
        Tensor s = qg.mul(k.unsqueeze(2)).sum(new long[]{-1}, false, new ScalarTypeOptional()).mul_(Torch.s(1.0 / Math.sqrt(D)));
        torch.softmax(s, -1).unsqueeze(-1).mul(v.unsqueeze(2)).sum(new long[]{-2}, false, new ScalarTypeOptional());
      });
      t("lm head transposed problem", () -> torch.mm(head, x.view(B, H).t()).t());
      Tensor headT = head.t().contiguous();
      t("lm head x.mm(WT contiguous)", () -> torch.mm(x.view(B, H), headT));
      Tensor xv = x.view(H), xiv = xi.view(I);
      t("mv qkv", () -> torch.mv(wqkv, xv));
      t("mv o", () -> torch.mv(wo, xv));
      t("mv gateUp", () -> torch.mv(wgu, xv));
      t("mv down", () -> torch.mv(wd, xiv));
      t("mv head", () -> torch.mv(head, xv));
      t("rms manual", () -> x.mul(torch.rsqrt(x.pow(Torch.s(2.0)).mean(new long[]{-1}, true, new ScalarTypeOptional()).add_(Torch.s(1e-5)))).mul_(g));
      t("add residual", () -> x.add(x));
    }
  }
}
