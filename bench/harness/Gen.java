import dev.align4j.core.Torch;
import dev.align4j.generate.*;
import dev.align4j.model.*;
import org.bytedeco.pytorch.global.torch;
import java.util.*;
/** Sampler.generateIgnoringEos tokens/s, batch sizes round-robin, packed decoding off and on: args size rounds batch..., e.g. medium 3 1 64. */
public class Gen {
  public static void main(String[] a) {
    Torch.init();
    ModelConfig c = ModelConfig.builtin(a[0], 32000, 1, new int[]{2}, 0);
    LlamaModel m = LlamaModel.init(c, 0, torch.ScalarType.Float);
    int rounds = Integer.parseInt(a[1]);
    int[] bs = Arrays.stream(a).skip(2).mapToInt(Integer::parseInt).toArray();
    SamplingConfig sc = new SamplingConfig(64, 1.0, 0, 1.0, 1, List.of());
    Random r = new Random(0);
    for (int round = -1; round < rounds; round++) {
      for (boolean packed : new boolean[]{false, true}) {
      m.packedDecoding(packed);
      StringBuilder sb = new StringBuilder((round < 0 ? "warm-up" : "round " + round) + (packed ? " packed  " : " openblas"));
      for (int b : bs) {
        List<int[]> p = new ArrayList<>();
        for (int i = 0; i < b; i++) { int[] x = new int[8]; for (int j = 0; j < 8; j++) x[j] = 3 + r.nextInt(31000); p.add(x); }
        long s = System.nanoTime();
        Sampler.generateIgnoringEos(m, p, sc);
        double tps = b * 64 / ((System.nanoTime() - s) / 1e9);
        sb.append(String.format("  B=%d %.1f tok/s", b, tps));
      }
      System.out.println(sb);
      }
    }
  }
}
