import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.generate.*;
import dev.align4j.model.*;
import java.util.*;
/** Batch-B generation through the public Sampler.generateIgnoringEos, as the bench times it. Usage: GenTime SIZE B [train] */
public class GenTime {
  public static void main(String[] a) {
    Torch.init();
    int B = Integer.parseInt(a[1]);
    ModelConfig c = ModelConfig.builtin(a[0], 32000, 1, new int[]{2}, 0);
    LlamaModel m = LlamaModel.init(c, 0, torch.ScalarType.Float);
    if (a.length > 2) { m.requiresGrad(true); m.requiresGrad(false); }
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < B; i++) prompts.add(new int[]{1, 5 + i % 50, 6, 7, 8, 9, 10, 11});
    SamplingConfig sc = new SamplingConfig(64, 1.0, 0, 1.0, 1, List.of());
    for (int r = 0; r < 8; r++) {
      long t0 = System.nanoTime();
      Sampler.generateIgnoringEos(m, prompts, sc);
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("%s B=%d: %.1f tok/s (%.2f ms per token step)%n", a[0], B, B * 64 / s, s / 64 * 1e3);
    }
  }
}
