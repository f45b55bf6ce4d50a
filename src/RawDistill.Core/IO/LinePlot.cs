namespace RawDistill.IO;

/// <summary>
/// A minimal line plot written as a PNG: an optional title, white background, black axes whose
/// ticks sit at round values (steps of 1, 2 or 5 × 10^k; decades, or 1…9 × 10^k, on a log axis)
/// with the axis range widened to the outer ticks, their values (<see cref="BitmapFont"/>),
/// light grid, the series in blue, optional axis titles. The y axis can be logarithmic (losses
/// spanning decades). Round ticks because a reader reads values off them: "0.162" at a quarter
/// of the range is a number nobody can interpolate from.
/// </summary>
public static class LinePlot
{
    const int Scale = 2; // font scale: 6×10-pixel characters

    /// <summary>Draws y against x and writes the PNG atomically.</summary>
    public static void Save(string path, IReadOnlyList<double> x, IReadOnlyList<double> y, bool logY = false, int width = 640, int height = 400,
        string? xLabel = null, string? yLabel = null, string? title = null)
    {
        var (px, w, h) = Render(x, y, logY, width, height, xLabel, yLabel, title);
        Png.Write(path, px, w, h, 3);
    }

    /// <summary>A tick value in a few characters: whole numbers from 100 up to 1e5, 3 significant digits below, e-notation outside.</summary>
    public static string TickLabel(double v)
    {
        double a = Math.Abs(v);
        string format = v == 0 ? "0" : a >= 1e5 || a < 1e-3 ? "0.##e+0" : a >= 100 ? "0" : "G3";
        return v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Round tick values covering [<paramref name="lo"/>, <paramref name="hi"/>]: multiples of the
    /// step among 1, 2, 5 × 10^k nearest to a quarter of the range, from the last one at or below
    /// <paramref name="lo"/> to the first at or above <paramref name="hi"/>.
    /// </summary>
    public static double[] NiceTicks(double lo, double hi)
    {
        if (!(hi > lo)) return [lo];
        double raw = (hi - lo) / 4, mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(f => f * mag).MinBy(s => Math.Abs(Math.Log(s / raw)));
        long first = (long)Math.Floor(lo / step + 1e-9), last = (long)Math.Ceiling(hi / step - 1e-9);
        // k·step, rounded to the step's decimals so 0.1·3 prints as 0.3.
        int decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step)), 0, 15);
        return Enumerable.Range(0, (int)(last - first + 1)).Select(k => Math.Round((first + k) * step, decimals)).ToArray();
    }

    /// <summary>
    /// Round tick values of a log axis covering [10^<paramref name="lo"/>, 10^<paramref name="hi"/>]
    /// (<paramref name="lo"/>, <paramref name="hi"/> in decades): the decades when the data spans
    /// one and a half or more (every second one past eight), else 1, 2, 5 × 10^k when that gives four ticks
    /// or more, else 1…9 × 10^k.
    /// </summary>
    public static double[] NiceLogTicks(double lo, double hi)
    {
        int d0 = (int)Math.Floor(lo + 1e-9), d1 = (int)Math.Ceiling(hi - 1e-9);
        if (d1 == d0) d1++;
        if (hi - lo >= 1.5)
        {
            int every = (d1 - d0 + 7) / 8;
            int start = (int)Math.Floor((double)d0 / every) * every, end = (int)Math.Ceiling((double)d1 / every) * every;
            return Enumerable.Range(0, (end - start) / every + 1).Select(k => Math.Pow(10, start + k * every)).ToArray();
        }
        double[] best = [];
        foreach (var mantissas in new[] { new[] { 1.0, 2, 5 }, [1.0, 2, 3, 4, 5, 6, 7, 8, 9] })
        {
            var all = Enumerable.Range(d0, d1 - d0 + 1).SelectMany(d => mantissas.Select(m => Math.Round(m * Math.Pow(10, d), Math.Clamp(-d, 0, 15)))).Distinct().Order().ToList();
            double vlo = Math.Pow(10, lo), vhi = Math.Pow(10, hi);
            double below = all.LastOrDefault(v => v <= vlo * (1 + 1e-9), all[0]), above = all.FirstOrDefault(v => v >= vhi * (1 - 1e-9), all[^1]);
            best = all.Where(v => v >= below && v <= above).ToArray();
            if (best.Length >= 4) break;   // else the data fills a small part of a coarse axis: take the finer mantissas
        }
        return best;
    }

    /// <summary>The RGB pixels of the plot (row-major, 3 bytes per pixel).</summary>
    public static (byte[] Pixels, int Width, int Height) Render(IReadOnlyList<double> x, IReadOnlyList<double> y, bool logY = false, int width = 640, int height = 400,
        string? xLabel = null, string? yLabel = null, string? title = null)
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
        // Round tick values; the axes run from the first tick to the last. On a log axis the label is the value, not its log.
        double[] xt = pts.Count == 0 ? [0, 1] : NiceTicks(x0, x1);
        double[] yt = pts.Count == 0 ? [0, 1] : logY ? NiceLogTicks(y0, y1).Select(Math.Log10).ToArray() : NiceTicks(y0, y1);
        if (xt.Length >= 2) { x0 = xt[0]; x1 = xt[^1]; }
        if (yt.Length >= 2) { y0 = yt[0]; y1 = yt[^1]; }
        var xTicks = xt.Select(v => pts.Count == 0 ? "" : TickLabel(v)).ToArray();
        var yTicks = yt.Select(v => pts.Count == 0 ? "" : TickLabel(logY ? Math.Pow(10, v) : v)).ToArray();

        int glyphH = BitmapFont.GlyphHeight * Scale;
        int titleH = title != null ? 8 + glyphH : 0;
        int left = 12 + yTicks.Max(t => BitmapFont.Width(t, Scale)), right = 20 + BitmapFont.Width(xTicks[^1], Scale) / 2;
        int top = titleH + (yLabel != null ? 16 + glyphH : 15), bottom = 14 + glyphH + (xLabel != null ? 8 + glyphH : 0);
        int pw = width - left - right, ph = height - top - bottom;
        if (pw < 8 || ph < 8) throw new ArgumentException($"a {width}×{height} plot leaves no room for the axes and labels");

        void Set(int cx, int cy, byte r, byte g, byte b)
        {
            if (cx < 0 || cy < 0 || cx >= width || cy >= height) return;
            int o = (cy * width + cx) * 3;
            px[o] = r; px[o + 1] = g; px[o + 2] = b;
        }
        int Gx(double v) => left + (int)Math.Round((v - x0) / (x1 - x0) * pw);
        int Gy(double v) => top + ph - (int)Math.Round((v - y0) / (y1 - y0) * ph);

        // Grid and ticks.
        foreach (var v in xt)
        {
            int gx = Gx(v);
            for (int i = 0; i < ph; i++) Set(gx, top + i, 225, 225, 225);
            for (int k = 1; k <= 5; k++) Set(gx, top + ph + k, 0, 0, 0);
        }
        foreach (var v in yt)
        {
            int gy = Gy(v);
            for (int i = 0; i < pw; i++) Set(left + i, gy, 225, 225, 225);
            for (int k = 1; k <= 5; k++) Set(left - k, gy, 0, 0, 0);
        }
        // Axes.
        for (int i = 0; i <= pw; i++) Set(left + i, top + ph, 0, 0, 0);
        for (int i = 0; i <= ph; i++) Set(left, top + i, 0, 0, 0);

        // Title, tick values and axis titles.
        void Ink(int cx, int cy) => Set(cx, cy, 0, 0, 0);
        if (title != null) BitmapFont.Draw(title, Math.Max(2, (width - BitmapFont.Width(title, Scale)) / 2), 6, Scale, Ink);
        for (int t = 0; t < xt.Length; t++)
            BitmapFont.Draw(xTicks[t], Gx(xt[t]) - BitmapFont.Width(xTicks[t], Scale) / 2, top + ph + 8, Scale, Ink);
        for (int t = 0; t < yt.Length; t++)
            BitmapFont.Draw(yTicks[t], left - 8 - BitmapFont.Width(yTicks[t], Scale), Gy(yt[t]) - glyphH / 2, Scale, Ink);
        if (xLabel != null) BitmapFont.Draw(xLabel, left + (pw - BitmapFont.Width(xLabel, Scale)) / 2, top + ph + 16 + glyphH, Scale, Ink);
        if (yLabel != null) BitmapFont.Draw(yLabel, Math.Max(2, left - BitmapFont.Width(yLabel, Scale) / 2), titleH + 6, Scale, Ink);

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
