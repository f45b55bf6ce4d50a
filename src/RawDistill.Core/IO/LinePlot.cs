namespace RawDistill.IO;

/// <summary>
/// A minimal line plot written as a PNG (no font: the numeric range goes in the caller's
/// log/report). White background, black axes with 5 tick marks each, light grid, the series
/// in blue. The y axis can be logarithmic (losses spanning decades).
/// </summary>
public static class LinePlot
{
    /// <summary>Draws y against x and writes the PNG atomically.</summary>
    public static void Save(string path, IReadOnlyList<double> x, IReadOnlyList<double> y, bool logY = false, int width = 640, int height = 400)
    {
        var (px, w, h) = Render(x, y, logY, width, height);
        Png.Write(path, px, w, h, 3);
    }

    /// <summary>The RGB pixels of the plot (row-major, 3 bytes per pixel).</summary>
    public static (byte[] Pixels, int Width, int Height) Render(IReadOnlyList<double> x, IReadOnlyList<double> y, bool logY = false, int width = 640, int height = 400)
    {
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} x values for {y.Count} y values");
        var px = new byte[width * height * 3];
        Array.Fill(px, (byte)255);
        const int left = 50, right = 15, top = 15, bottom = 40;
        int pw = width - left - right, ph = height - top - bottom;

        void Set(int cx, int cy, byte r, byte g, byte b)
        {
            if (cx < 0 || cy < 0 || cx >= width || cy >= height) return;
            int o = (cy * width + cx) * 3;
            px[o] = r; px[o + 1] = g; px[o + 2] = b;
        }

        // Grid and ticks.
        for (int t = 0; t <= 4; t++)
        {
            int gx = left + t * pw / 4, gy = top + t * ph / 4;
            for (int i = 0; i < ph; i++) Set(gx, top + i, 225, 225, 225);
            for (int i = 0; i < pw; i++) Set(left + i, gy, 225, 225, 225);
            for (int k = 1; k <= 5; k++) { Set(gx, top + ph + k, 0, 0, 0); Set(left - k, gy, 0, 0, 0); }
        }
        // Axes.
        for (int i = 0; i <= pw; i++) Set(left + i, top + ph, 0, 0, 0);
        for (int i = 0; i <= ph; i++) Set(left, top + i, 0, 0, 0);

        var pts = new List<(double X, double Y)>();
        for (int i = 0; i < x.Count; i++)
        {
            double v = logY ? (y[i] > 0 ? Math.Log10(y[i]) : double.NaN) : y[i];
            if (double.IsFinite(v) && double.IsFinite(x[i])) pts.Add((x[i], v));
        }
        if (pts.Count == 0) return (px, width, height);
        double x0 = pts.Min(p => p.X), x1 = pts.Max(p => p.X), y0 = pts.Min(p => p.Y), y1 = pts.Max(p => p.Y);
        if (x1 == x0) x1 = x0 + 1;
        if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
        (int, int) Map((double X, double Y) p) =>
            (left + (int)Math.Round((p.X - x0) / (x1 - x0) * pw), top + ph - (int)Math.Round((p.Y - y0) / (y1 - y0) * ph));

        var prev = Map(pts[0]);
        foreach (var p in pts)
        {
            var cur = Map(p);
            // Bresenham between consecutive points, 2 px thick.
            int ax = prev.Item1, ay = prev.Item2, bx = cur.Item1, by = cur.Item2;
            int dx = Math.Abs(bx - ax), dy = -Math.Abs(by - ay), sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1, err = dx + dy;
            while (true)
            {
                Set(ax, ay, 31, 119, 180); Set(ax, ay + 1, 31, 119, 180);
                if (ax == bx && ay == by) break;
                int e2 = 2 * err;
                if (e2 >= dy) { err += dy; ax += sx; }
                if (e2 <= dx) { err += dx; ay += sy; }
            }
            prev = cur;
        }
        return (px, width, height);
    }
}
