package dev.align4j.eval;

import dev.align4j.core.AtomicFiles;
import dev.align4j.core.UserError;

import javax.imageio.ImageIO;
import java.awt.*;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small PNG charts drawn with Java2D (headless): line charts of metric series and bar charts of stage results. */
public final class Plot {
    private Plot() {}

    static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2)};
    static final int W = 720, H = 400, L = 70, R = 20, T = 40, B = 50;

    /** Line chart: each series is (x, y) points. */
    public static void lines(Path file, String title, String xLabel, String yLabel, Map<String, double[][]> series) {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = setup(img, title);
        double x0 = Double.MAX_VALUE, x1 = -Double.MAX_VALUE, y0 = Double.MAX_VALUE, y1 = -Double.MAX_VALUE;
        for (double[][] s : series.values())
            for (double[] p : s) {
                if (!Double.isFinite(p[1])) continue;
                x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]); y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
            }
        if (x0 > x1) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
        if (x1 == x0) x1 = x0 + 1;
        if (y1 == y0) { y1 += 0.5; y0 -= 0.5; }
        double pad = (y1 - y0) * 0.05;
        y0 -= pad; y1 += pad;
        axes(g, x0, x1, y0, y1, xLabel, yLabel);
        int i = 0;
        for (var e : series.entrySet()) {
            g.setColor(PALETTE[i % PALETTE.length]);
            g.setStroke(new BasicStroke(2f));
            double[][] s = e.getValue();
            for (int k = 1; k < s.length; k++)
                g.drawLine(px(s[k - 1][0], x0, x1), py(s[k - 1][1], y0, y1), px(s[k][0], x0, x1), py(s[k][1], y0, y1));
            if (s.length == 1) g.fillOval(px(s[0][0], x0, x1) - 3, py(s[0][1], y0, y1) - 3, 6, 6);
            legend(g, i, e.getKey());
            i++;
        }
        write(file, img);
    }

    /**
     * Labelled points (x, y), those in {@code highlighted} filled and joined in x order (a Pareto front), the rest hollow.
     */
    public static void scatter(Path file, String title, String xLabel, String yLabel, List<String> labels, double[][] xy, java.util.Set<String> highlighted) {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = setup(img, title);
        double x0 = Double.MAX_VALUE, x1 = -Double.MAX_VALUE, y0 = Double.MAX_VALUE, y1 = -Double.MAX_VALUE;
        for (double[] p : xy) {
            if (!Double.isFinite(p[0]) || !Double.isFinite(p[1])) continue;
            x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]); y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
        }
        if (x0 > x1) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
        double px = Math.max(1e-3, (x1 - x0) * 0.08), py = Math.max(1e-3, (y1 - y0) * 0.08);
        x0 -= px; x1 += px; y0 -= py; y1 += py;
        axes(g, x0, x1, y0, y1, xLabel, yLabel);
        List<double[]> front = new java.util.ArrayList<>();
        for (int i = 0; i < xy.length; i++) if (highlighted.contains(labels.get(i)) && Double.isFinite(xy[i][0]) && Double.isFinite(xy[i][1])) front.add(xy[i]);
        front.sort(java.util.Comparator.comparingDouble(p -> p[0]));
        g.setColor(PALETTE[3]);
        g.setStroke(new BasicStroke(1.5f));
        for (int k = 1; k < front.size(); k++)
            g.drawLine(px(front.get(k - 1)[0], x0, x1), py(front.get(k - 1)[1], y0, y1), px(front.get(k)[0], x0, x1), py(front.get(k)[1], y0, y1));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i < xy.length; i++) {
            if (!Double.isFinite(xy[i][0]) || !Double.isFinite(xy[i][1])) continue;
            int cx = px(xy[i][0], x0, x1), cy = py(xy[i][1], y0, y1);
            g.setColor(PALETTE[i % PALETTE.length]);
            if (highlighted.contains(labels.get(i))) g.fillOval(cx - 5, cy - 5, 10, 10);
            else g.drawOval(cx - 5, cy - 5, 10, 10);
            g.setColor(Color.BLACK);
            g.drawString(labels.get(i), cx + 8, cy - 6);
        }
        write(file, img);
    }

    /** Grouped bar chart: groups (e.g. stages) × bars (e.g. metrics), values in [0, yMax]. */
    public static void bars(Path file, String title, List<String> groups, Map<String, double[]> bars, double yMax) {
        bars(file, title, groups, bars, Map.of(), yMax);
    }

    /**
     * Grouped bar chart with whiskers: {@code intervals.get(bar)[group]} is {low, high} (a confidence interval), drawn as a
     * capped vertical line over the bar where low &lt; high; a bar without an entry has none.
     */
    public static void bars(Path file, String title, List<String> groups, Map<String, double[]> bars, Map<String, double[][]> intervals, double yMax) {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = setup(img, title);
        axes(g, 0, groups.size(), 0, yMax, "", "");
        int nb = bars.size(), gi = 0;
        double gw = (W - L - R) / (double) groups.size();
        for (String grp : groups) {
            int bi = 0;
            for (var e : bars.entrySet()) {
                double v = e.getValue()[gi];
                int bx = (int) (L + gi * gw + gw * 0.15 + bi * gw * 0.7 / nb), bw = (int) (gw * 0.7 / nb) - 2;
                int top = py(v, 0, yMax);
                g.setColor(PALETTE[bi % PALETTE.length]);
                g.fillRect(bx, top, bw, H - B - top);
                g.setColor(Color.DARK_GRAY);
                double[][] ci = intervals.get(e.getKey());
                if (ci != null && ci[gi] != null && ci[gi][1] > ci[gi][0]) {
                    int cx = bx + bw / 2, lo = py(ci[gi][0], 0, yMax), hi = py(ci[gi][1], 0, yMax), cap = Math.max(2, bw / 4);
                    g.drawLine(cx, lo, cx, hi);
                    g.drawLine(cx - cap, lo, cx + cap, lo);
                    g.drawLine(cx - cap, hi, cx + cap, hi);
                    top = Math.min(top, hi);
                }
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
                g.drawString(String.format("%.2f", v), bx, top - 3);
                bi++;
            }
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            int sw = g.getFontMetrics().stringWidth(grp);
            g.drawString(grp, (int) (L + gi * gw + gw / 2 - sw / 2.0), H - B + 18);
            gi++;
        }
        int i = 0;
        for (String k : bars.keySet()) { g.setColor(PALETTE[i % PALETTE.length]); legend(g, i++, k); }
        write(file, img);
    }

    private static Graphics2D setup(BufferedImage img, String title) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, L, 24);
        return g;
    }

    private static void axes(Graphics2D g, double x0, double x1, double y0, double y1, String xl, String yl) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        double[] ys = ticks(y0, y1, false);
        int yDecimals = decimals(ys);
        for (double y : ys) {
            int yy = py(y, y0, y1);
            g.setColor(new Color(0xe8e8e8));
            g.drawLine(L, yy, W - R, yy);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%." + yDecimals + "f", y), 8, yy + 4);
        }
        if (!xl.isEmpty()) {
            boolean steps = xl.toLowerCase().contains("step");                     // steps are integers: integer ticks only
            double[] xs = ticks(x0, x1, steps);
            int xDecimals = steps ? 0 : decimals(xs);
            for (double x : xs) g.drawString(String.format("%." + xDecimals + "f", x), px(x, x0, x1) - 10, H - B + 16);
        }
        g.setColor(Color.BLACK);
        g.drawLine(L, H - B, W - R, H - B);
        g.drawLine(L, T, L, H - B);
        g.drawString(xl, W / 2 - 20, H - 12);
        g.drawString(yl, 8, T - 8);
    }

    /** Round tick values inside [lo, hi]: multiples of 1, 2 or 5 × 10^k, at most 6 of them (integers only when asked). */
    static double[] ticks(double lo, double hi, boolean integer) {
        if (!(hi > lo)) return new double[]{lo};
        double raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
        for (double m : new double[]{1, 2, 5, 10}) if (m * mag >= raw) { step = m * mag; break; }
        if (integer) step = Math.max(1, Math.round(step));
        java.util.List<Double> out = new java.util.ArrayList<>();
        for (double v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The fewest decimals (at most 6) that print every tick exactly (0.5 as "0.5", never rounded to "1"). */
    static int decimals(double[] ticks) {
        for (int d = 0; d < 6; d++) {
            boolean exact = true;
            for (double t : ticks) exact &= Math.abs(Double.parseDouble(String.format(java.util.Locale.ROOT, "%." + d + "f", t)) - t) <= 1e-9 * Math.max(1, Math.abs(t));
            if (exact) return d;
        }
        return 6;
    }

    private static void legend(Graphics2D g, int i, String name) {
        int x = W - R - 170, y = T + 8 + i * 16;
        g.fillRect(x, y - 9, 12, 10);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString(name, x + 18, y);
    }


    private static int px(double x, double x0, double x1) { return (int) Math.round(L + (x - x0) / (x1 - x0) * (W - L - R)); }

    private static int py(double y, double y0, double y1) { return (int) Math.round(H - B - (y - y0) / (y1 - y0) * (H - T - B)); }

    private static void write(Path file, BufferedImage img) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            ImageIO.write(img, "png", bos);
            AtomicFiles.writeBytes(file, bos.toByteArray());
        } catch (IOException e) {
            throw new UserError(file + ": cannot write plot: " + e.getMessage());
        }
    }

    public static Map<String, double[][]> one(String name, double[][] pts) {
        Map<String, double[][]> m = new LinkedHashMap<>();
        m.put(name, pts);
        return m;
    }
}
