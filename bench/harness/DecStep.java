import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import java.util.*;
import dev.align4j.model.PackedBridge;
/**
 * A decode step over L layers with distinct weights, time per op kind in sequence (cold caches, as in generation; CPU ops
 * are synchronous): args B H I heads kvHeads L [grouped|grouped-ln|bmm-ln|grouped-ln-packed] (packed: products on oneDNN-packed weights; grouped: grouped-query SDPA; ln: the one-row
 * RMS norm as a layer norm of [x, -x]; bmm: attention as bmm-softmax-bmm); -Dsteps=N, -Dshared=true (one set of weights
 * for all layers), -Dtt=N (libtorch threads).
 */
public class DecStep {
  static LinkedHashMap<String, Long> acc = new LinkedHashMap<>();
  static long last;
  static void mark(String k) { long n = System.nanoTime(); acc.merge(k, n - last, Long::sum); last = n; }
  static Tensor rms(Tensor x, Tensor g, Tensor g2, int H, boolean ln) {
    if (!ln) return torch.rms_norm(x, new long[]{H}, new TensorOptional(g), new DoubleOptional(1e-6));
    return torch.layer_norm(torch.cat(new TensorVector(x, x.neg()), -1), new long[]{2 * H}, new TensorOptional(g2), new TensorOptional(), 1e-6, false).narrow(-1, 0, H);
  }
  public static void main(String[] a) {
    Torch.init();
    if (Integer.getInteger("tt") != null) torch.set_num_threads(Integer.getInteger("tt"));
    int B = Integer.parseInt(a[0]), H = Integer.parseInt(a[1]), I = Integer.parseInt(a[2]), hq = Integer.parseInt(a[3]), hkv = Integer.parseInt(a[4]), L = Integer.parseInt(a[5]);
    boolean grouped = a.length > 6 && a[6].contains("grouped"), lnTrick = a.length > 6 && a[6].contains("ln"), bmmAttn = a.length > 6 && a[6].contains("bmm"), packed = a.length > 6 && a[6].contains("packed");
    int D = H / hq, S = 70;
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor[] wqkv = new Tensor[L], wo = new Tensor[L], wgu = new Tensor[L], wd = new Tensor[L], k = new Tensor[L], v = new Tensor[L];
      for (int l = 0; l < L; l++) { if (l > 0 && Boolean.getBoolean("shared")) { wqkv[l] = wqkv[0]; wo[l] = wo[0]; wgu[l] = wgu[0]; wd[l] = wd[0]; } else { wqkv[l] = torch.randn((hq + 2 * hkv) * D, H); wo[l] = torch.randn(H, H); wgu[l] = torch.randn(2 * I, H); wd[l] = torch.randn(H, I); }
        k[l] = torch.randn(B, hkv, S, D); v[l] = torch.randn(B, hkv, S, D); }
      Tensor[] pqkv = new Tensor[L], po = new Tensor[L], pgu = new Tensor[L], pd = new Tensor[L];
      if (packed) for (int l = 0; l < L; l++) { pqkv[l] = PackedBridge.pack(wqkv[l]); po[l] = PackedBridge.pack(wo[l]); pgu[l] = PackedBridge.pack(wgu[l]); pd[l] = PackedBridge.pack(wd[l]); }
      Tensor g = torch.ones(H), g2 = torch.ones(2 * H), head = torch.randn(32000, H), phead = packed ? PackedBridge.pack(head) : null, cs = torch.randn(1, 1, 1, D);
      Tensor x0 = torch.randn(B, 1, H);
      int steps = Integer.getInteger("steps", 200);
      for (int it = 0; it < steps + 20; it++) {
        if (it == 20) acc.clear();
        try (PointerScope sc = new PointerScope()) {
          last = System.nanoTime();
          Tensor x = x0;
          for (int l = 0; l < L; l++) {
            Tensor h = rms(x, g, g2, H, lnTrick); mark("rms");
            Tensor qkv = B == 1 ? torch.mv(wqkv[l], h.view(H)).view(1, 1, -1)     : packed ? PackedBridge.linear(h, pqkv[l], wqkv[l].size(0)) : torch.linear(h, wqkv[l]); mark("qkv");
            Tensor all = qkv.view(B, hq + 2 * hkv, 1, D);
            Tensor qk = all.narrow(1, 0, hq + hkv);
            qk = torch.addcmul(qk.mul(cs), qk.roll(new long[]{D / 2}, new long[]{-1}), cs, Torch.s(1.0)); mark("rotary");
            Tensor q = qk.narrow(1, 0, hq);
            k[l].narrow(2, S - 1, 1).copy_(qk.narrow(1, hq, hkv)); v[l].narrow(2, S - 1, 1).copy_(all.narrow(1, hq + hkv, hkv)); mark("cache");
            Tensor o = bmmAttn ? torch.bmm(torch.softmax(torch.bmm(q.reshape(B * hkv, hq / hkv, D), k[l].view(B * hkv, S, D).transpose(1, 2)).mul_(Torch.s(1.0 / Math.sqrt(D))), -1), v[l].view(B * hkv, S, D)) : grouped ? torch.scaled_dot_product_attention(q.view(B, hkv, hq / hkv, D), k[l], v[l], new TensorOptional(), 0.0, false, new DoubleOptional(), false)
                               : torch.scaled_dot_product_attention(q, k[l], v[l], new TensorOptional(), 0.0, false, new DoubleOptional(), true); mark("sdpa");
            Tensor m = o.reshape(B, 1, H);
            Tensor ao = B == 1 ? torch.mv(wo[l], m.view(H)).view(1, 1, H) : packed ? PackedBridge.linear(m, po[l], H) : torch.linear(m, wo[l]); mark("o");
            x = x.add(ao); mark("add");
            h = rms(x, g, g2, H, lnTrick); mark("rms");
            Tensor gu = B == 1 ? torch.mv(wgu[l], h.view(H)).view(1, 1, -1) : packed ? PackedBridge.linear(h, pgu[l], 2 * I) : torch.linear(h, wgu[l]); mark("gateUp");
            Tensor act = torch.silu(gu.narrow(-1, 0, I)).mul_(gu.narrow(-1, I, I)); mark("silu");
            Tensor dn = B == 1 ? torch.mv(wd[l], act.view(I)).view(1, 1, H) : packed ? PackedBridge.linear(act, pd[l], H) : torch.linear(act, wd[l]); mark("down");
            x = x.add(dn); mark("add");
          }
          Tensor h = rms(x, g, g2, H, lnTrick); mark("rms");
          Tensor lg = B == 1 ? torch.mv(head, h.view(H)) : packed ? PackedBridge.linear(h, phead, 32000) : torch.linear(h, head); mark("head");
        }
        mark("scope close");
      }
      long tot = 0; for (long t : acc.values()) tot += t;
      for (var e : acc.entrySet()) System.out.printf("%-12s %8.1f us%n", e.getKey(), e.getValue() / 1e3 / steps);
      System.out.printf("%-12s %8.1f us (trunk %.1f)%n", "total", tot / 1e3 / steps, (tot - acc.get("head")) / 1e3 / steps);
    }
  }
}
