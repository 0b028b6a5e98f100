import org.bytedeco.javacpp.PointerScope;
/** The harnesses' timing: the best of {@code rounds} rounds of {@code n} calls, each call in its own scope. */
final class Best {
  private Best() {}
  static double micros(int n, int rounds, Runnable r) {
    double best = Double.MAX_VALUE;
    for (int round = 0; round < rounds; round++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) try (PointerScope s = new PointerScope()) { r.run(); }
      best = Math.min(best, (System.nanoTime() - t0) / 1e3 / n);
    }
    return best;
  }
}
