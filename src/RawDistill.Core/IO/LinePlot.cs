namespace RawDistill.IO;

/// <summary>
/// A minimal line plot written as a PNG: white background, black axes with 5 ticks each and
/// their values (<see cref="BitmapFont"/>), light grid, the series in blue, optional axis
/// titles. The y axis can be logarithmic (losses spanning decades).
/// </summary>
public static class LinePlot
{
    const int Scale = 2; // font scale: 6×10-pixel characters

    /// <summary>Draws y against x and writes the PNG atomically.</summary>
    public static void Save(string path, IReadOnlyList<double> x, IReadOnlyList<double> y, bool logY = false, int width = 640, int height = 400,
        string? xLabel = null, string? yLabel = null)
    {
        var (px, w, h) = Render(x, y, logY, width, height, xLabel, yLabel);
        Png.Write(path, px, w, h, 3);
    }

    /// <summary>A tick value in a few characters: whole numbers from 100 up to 1e5, 3 significant digits below, e-notation outside.</summary>
    public static string TickLabel(double v)
    {
        double a = Math.Abs(v);
        string format = v == 0 ? "0" : a >= 1e5 || a < 1e-3 ? "0.##e+0" : a >= 100 ? "0" : "G3";
        return v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The RGB pixels of the plot (row-major, 3 bytes per pixel).</summary>
    public static (byte[] Pixels, int Width, int Height) Render(IReadOnlyList<double> x, IReadOnlyList<double> y, bool logY = false, int width = 640, int height = 400,
        string? xLabel = null, string? yLabel = null)
    {
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} x values for {y.Count} y values");
        var px = new byte[width * height * 3];
        Array.Fill(px, (byte)255);

        var pts = new List<(double X, double Y)>();
        for (int i = 0; i < x.Count; i++)
        {
            double v = logY ? (y[i] > 0 ? Math.Log10(y[i]) : double.NaN) : y[i];
            if (double.IsFinite(v) && double.IsFinite(x[i])) pts.Add((x[i], v));
        }
        double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
        if (pts.Count > 0)
        {
            x0 = pts.Min(p => p.X); x1 = pts.Max(p => p.X); y0 = pts.Min(p => p.Y); y1 = pts.Max(p => p.Y);
            if (x1 == x0) x1 = x0 + 1;
            if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
        }
        // Tick t of 0..4 sits at a quarter of the range; on a log axis the label is the value, not its log.
        var xTicks = Enumerable.Range(0, 5).Select(t => pts.Count == 0 ? "" : TickLabel(x0 + t * (x1 - x0) / 4)).ToArray();
        var yTicks = Enumerable.Range(0, 5).Select(t =>
        {
            double v = y1 - t * (y1 - y0) / 4;
            return pts.Count == 0 ? "" : TickLabel(logY ? Math.Pow(10, v) : v);
        }).ToArray();

        int glyphH = BitmapFont.GlyphHeight * Scale;
        int left = 12 + yTicks.Max(t => BitmapFont.Width(t, Scale)), right = 20 + BitmapFont.Width(xTicks[4], Scale) / 2;
        int top = yLabel != null ? 16 + glyphH : 15, bottom = 14 + glyphH + (xLabel != null ? 8 + glyphH : 0);
        int pw = width - left - right, ph = height - top - bottom;
        if (pw < 8 || ph < 8) throw new ArgumentException($"a {width}×{height} plot leaves no room for the axes and labels");

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

        // Tick values and axis titles.
        void Ink(int cx, int cy) => Set(cx, cy, 0, 0, 0);
        for (int t = 0; t <= 4; t++)
        {
            int gx = left + t * pw / 4, gy = top + t * ph / 4;
            BitmapFont.Draw(xTicks[t], gx - BitmapFont.Width(xTicks[t], Scale) / 2, top + ph + 8, Scale, Ink);
            BitmapFont.Draw(yTicks[t], left - 8 - BitmapFont.Width(yTicks[t], Scale), gy - glyphH / 2, Scale, Ink);
        }
        if (xLabel != null) BitmapFont.Draw(xLabel, left + (pw - BitmapFont.Width(xLabel, Scale)) / 2, top + ph + 16 + glyphH, Scale, Ink);
        if (yLabel != null) BitmapFont.Draw(yLabel, Math.Max(2, left - BitmapFont.Width(yLabel, Scale) / 2), 6, Scale, Ink);

        if (pts.Count == 0) return (px, width, height);
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
