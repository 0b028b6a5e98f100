import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.model.*;
/** Args: size [repeats]. What remaking the packed decode weights costs after a weight update (medium by default): one 2-row decode forward with stale copies vs fresh ones. */
public class PackCost {
  public static void main(String[] a) {
    Torch.init();
    ModelConfig c = ModelConfig.builtin(a.length > 0 ? a[0] : "medium", 32000, 1, new int[]{2}, 0);
    LlamaModel m = LlamaModel.init(c, 0, torch.ScalarType.Float);
    Tensor ids = Torch.longs(new long[]{5, 6}, 2, 1);
    try (NoGradGuard ng = new NoGradGuard()) {
      int reps = a.length > 1 ? Integer.parseInt(a[1]) : 4;
      for (int rep = 0; rep < reps; rep++) try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
        for (Tensor p : m.parameters().values()) p.add_(Torch.s(0.0));               // bump every version counter
        long t0 = System.nanoTime();
        m.nextTokenLogits(m.hidden(ids, null, null).select(1, 0));
        long t1 = System.nanoTime();
        m.nextTokenLogits(m.hidden(ids, null, null).select(1, 0));
        long t2 = System.nanoTime();
        m.packedDecoding(false);                                                     // frees the copies; the next packed call remakes them
        long t3 = System.nanoTime();
        m.nextTokenLogits(m.hidden(ids, null, null).select(1, 0));
        long t4 = System.nanoTime();
        m.packedDecoding(true);
        if (rep % Math.max(1, reps / 8) == 0 || rep == reps - 1)
          System.out.printf("rep %d: forward with repacking %.1f ms, without %.1f ms; packing off %.1f ms; RSS %d MB%n", rep, (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t4 - t3) / 1e6, org.bytedeco.javacpp.Pointer.physicalBytes() >> 20);
      }
    }
  }
}
