import org.bytedeco.pytorch.*;
import dev.align4j.core.Torch;
/** Registered operator names containing the argument (e.g. mkldnn). */
public class OpNames {
  public static void main(String[] a) {
    Torch.init();
    OperatorName names = Dispatcher.singleton().getAllOpNames();
    long n = names.limit() > 0 ? names.limit() : names.capacity();
    System.out.println("count " + n + " pos " + names.position() + " limit " + names.limit() + " cap " + names.capacity());
    for (long i = 0; i < n; i++) {
      OperatorName o = names.getPointer(i);
      String s = o.name().getString();
      if (s.contains(a[0])) System.out.println(s);
    }
  }
}
