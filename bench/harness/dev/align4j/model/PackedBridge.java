package dev.align4j.model;
import org.bytedeco.pytorch.Tensor;
/** PackedLinear (package-private) for the harnesses. */
public final class PackedBridge {
  private PackedBridge() {}
  public static Tensor pack(Tensor w) { return PackedLinear.pack(w); }
  public static Tensor linear(Tensor x, Tensor packed, long out) { return PackedLinear.linear(x, packed, null, out); }
}
