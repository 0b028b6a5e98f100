import org.bytedeco.javacpp.*;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import dev.align4j.core.Torch;
import dev.align4j.model.*;
import dev.align4j.train.AdamW;
import dev.align4j.bench.Bench;
import java.util.*;
import java.nio.file.*;
/** Where resident memory goes during the memory benchmark's training loop: RSS, Java heap, JavaCPP's count. Usage: MemProbe STEPS */
public class MemProbe {
  public static void main(String[] a) throws Exception {
    Torch.init();
    int steps = Integer.parseInt(a[0]);
    ModelConfig c = ModelConfig.builtin("tiny", 8_000, 1, new int[]{2}, 0);
    LlamaModel m = LlamaModel.init(c, 0, torch.ScalarType.Float);
    m.requiresGrad(true);
    Random rng = new Random(1);
    AdamW opt = new AdamW(m.parameters(), 0.01);
    Runtime rt = Runtime.getRuntime();
    for (int step = 1; step <= steps; step++) {
      Bench.memoryStep(m, opt, rng);
      if (Integer.getInteger("trim", 0) > 0 && step % Integer.getInteger("trim", 0) == 0) { long t0 = System.nanoTime(); Pointer.trimMemory(); if (step % 100 == 0) System.out.printf("trim %.2f ms%n", (System.nanoTime() - t0) / 1e6); }
      if (step % 25 == 0 || step == 1 || step == 10) {
        System.out.printf("step %4d rss %6.1f MB  heap committed %6.1f used %6.1f  javacpp physical %6.1f total %6.1f%n", step, Bench.rssMb(),
            rt.totalMemory() / 1048576.0, (rt.totalMemory() - rt.freeMemory()) / 1048576.0,
            Pointer.physicalBytes() / 1048576.0, Pointer.totalBytes() / 1048576.0);
        if (System.getProperty("nmt") != null) {
          Object o = java.lang.management.ManagementFactory.getPlatformMBeanServer().invoke(new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
              "vmNativeMemory", new Object[]{new String[]{"summary"}}, new String[]{String[].class.getName()});
          for (String l : o.toString().split("\n")) if (l.startsWith("-") || l.startsWith("Total")) System.out.println("   " + l.trim());
        }
      }
    }
  }
}
