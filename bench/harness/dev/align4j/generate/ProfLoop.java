package dev.align4j.generate;
import dev.align4j.model.*;
import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import java.util.*;
public class ProfLoop {
  public static void main(String[] a) {
    Torch.init();
    int B = Integer.parseInt(a[1]);
    ModelConfig c = ModelConfig.builtin(a[0], 32000, 1, new int[]{2}, 0);
    LlamaModel m = LlamaModel.init(c, 0, torch.ScalarType.Float);
    SamplingConfig sc = new SamplingConfig(64, 1.0, 0, 1.0, 1, List.of());
    Generator gen = torch.make_generator_cpu(0);
    double[] best = new double[6]; Arrays.fill(best, 1e9);
    int rounds = a.length > 2 ? Integer.parseInt(a[2]) : 10;
    for (int round = 0; round < rounds; round++) {
      double[] tm = new double[6];
      long all0 = System.nanoTime();
      try (NoGradGuard ng = new NoGradGuard(); KVCache cache = new KVCache(c, B, 80, torch.ScalarType.Float)) {
        Tensor keyMask = torch.ones(B, 80).to(torch.ScalarType.Bool);
        Tensor input = Torch.longs(new long[B * 4], B, 4);
        for (int step = 0; step < 64; step++) {
          long t0 = System.nanoTime(), t1, t2, t3, t4;
          long[] next; float[] lp;
          try (PointerScope scope = new PointerScope()) {
            Tensor h = m.hidden(input, null, cache);
            t1 = System.nanoTime();
            Tensor logits = m.nextTokenLogits(h.select(1, h.size(1) - 1));
            t2 = System.nanoTime();
            Sampler.Pick p = Sampler.pick(logits, sc, gen);
            t3 = System.nanoTime();
            next = Torch.toLongs(p.tokens()); lp = Torch.toFloats(p.logps());
            t4 = System.nanoTime();
          }
          long t5 = System.nanoTime();
          try (Tensor col = keyMask.narrow(1, cache.length(), 1)) { col.fill_(Torch.s(1L)); }
          input.close();
          input = Torch.longs(next, B, 1);
          long t6 = System.nanoTime();
          if (step > 0) { tm[0] += t1 - t0; tm[1] += t2 - t1; tm[2] += t3 - t2; tm[3] += t4 - t3; tm[4] += (t5 - t4) + (t6 - t5); }
        }
      }
      tm[5] = System.nanoTime() - all0;
      for (int i = 0; i < 6; i++) best[i] = Math.min(best[i], tm[i] / 63 / 1e3);
    }
    System.out.printf("B=%d us/step: hidden %.0f, head %.0f, pick %.0f, to-host %.0f, bookkeeping %.0f; whole loop incl. prefill %.0f%n", B, best[0], best[1], best[2], best[3], best[4], best[5] * 63 / 64);
  }
}
