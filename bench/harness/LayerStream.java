import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.model.PackedBridge;
import java.util.*;
/** A decode step's products with weights streamed from memory (12 layers × qkv, o, gateUp, down, then the head; medium shapes):
 *  OpenBLAS (linear, or mv for one row) against oneDNN packed weights. Args: batch sizes. */
public class LayerStream {
  static Tensor pack(Tensor w) { return PackedBridge.pack(w); }
  static Tensor lin(Tensor x, Tensor packed) { return PackedBridge.linear(x, packed, -1); }
  public static void main(String[] a) {
    Torch.init();
    int H = 768, I = 2048, L = 12;
    long[][] shapes = {{1280, H}, {H, H}, {2 * I, H}, {H, I}};
    try (NoGradGuard ng = new NoGradGuard()) {
      List<Tensor> ws = new ArrayList<>(), ps = new ArrayList<>();
      for (int l = 0; l < L; l++) for (long[] s : shapes) { Tensor w = torch.randn(s).div_(Torch.s(30.0)); ws.add(w); ps.add(pack(w)); }
      Tensor head = torch.randn(32000, H).div_(Torch.s(30.0)), headT = head.t().contiguous(), headP = pack(head);
      for (String arg : a) {
        int M = Integer.parseInt(arg);
        Tensor x = torch.randn(M, H), xi = torch.randn(M, I);
        Runnable blas = () -> {
          for (int i = 0; i < ws.size(); i++) {
            Tensor w = ws.get(i), in = w.size(1) == H ? x : xi;
            if (M == 1) torch.mv(w, in.view(-1)); else torch.linear(in, w);
          }
          if (M == 1) torch.mv(head, x.view(-1)); else torch.mm(x, headT);
        };
        Runnable dnn = () -> {
          for (int i = 0; i < ps.size(); i++) lin(ws.get(i).size(1) == H ? x : xi, ps.get(i));
          lin(x, headP);
        };
        for (int rep = 0; rep < 3; rep++) {
          double t0 = Best.micros(M == 1 ? 20 : 5, 3, blas), t1 = Best.micros(M == 1 ? 20 : 5, 3, dnn);
          System.out.printf("M=%d: openblas %.1f ms, onednn packed %.1f ms per step%n", M, t0 / 1e3, t1 / 1e3);
        }
      }
    }
  }
}
