import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.model.*;
/** What remaking the packed decode weights costs after a weight update (medium by default): one 2-row decode forward with stale copies vs fresh ones. */
public class PackCost {
  public static void main(String[] a) {
    Torch.init();
    ModelConfig c = ModelConfig.builtin(a.length > 0 ? a[0] : "medium", 32000, 1, new int[]{2}, 0);
    LlamaModel m = LlamaModel.init(c, 0, torch.ScalarType.Float);
    Tensor ids = Torch.longs(new long[]{5, 6}, 2, 1);
    try (NoGradGuard ng = new NoGradGuard()) {
      for (int rep = 0; rep < 4; rep++) {
        for (Tensor p : m.parameters().values()) p.add_(Torch.s(0.0));               // bump every version counter
        long t0 = System.nanoTime();
        m.nextTokenLogits(m.hidden(ids, null, null).select(1, 0));
        long t1 = System.nanoTime();
        m.nextTokenLogits(m.hidden(ids, null, null).select(1, 0));
        long t2 = System.nanoTime();
        m.packedDecoding(false);
        long t3 = System.nanoTime();
        m.nextTokenLogits(m.hidden(ids, null, null).select(1, 0));
        long t4 = System.nanoTime();
        m.packedDecoding(true);
        System.out.printf("forward with repacking %.1f ms, without %.1f ms; packing off %.1f ms%n", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t4 - t3) / 1e6);
      }
    }
  }
}
