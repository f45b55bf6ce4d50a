namespace RawDistill.IO;

using RawDistill.Tensors;

/// <summary>Options of <see cref="ImageGrid"/>.</summary>
public sealed record ImageGridOptions
{
    /// <summary>Images per row; null = ⌈√N⌉.</summary>
    public int? Columns { get; init; }

    /// <summary>Pixels between images and around the border.</summary>
    public int Padding { get; init; } = 2;

    /// <summary>Gray level of the padding in [0, 1].</summary>
    public double PadValue { get; init; } = 1.0;

    /// <summary>Scale each image to its own [min, max] (for images outside [0, 1], e.g. synthetic ones).</summary>
    public bool NormalizeEach { get; init; }

    /// <summary>The value range mapped to [0, 255] when not normalizing per image (values outside are clamped).</summary>
    public (double Low, double High) Range { get; init; } = (0, 1);
}

/// <summary>
/// Tiles N images [N, C, H, W] (C = 1 or 3; floating point in pixel space, or u8) into one
/// picture, for looking at distilled sets: <see cref="Compose"/> gives the interleaved bytes,
/// <see cref="Save"/> writes a PNG.
/// </summary>
public static class ImageGrid
{
    /// <summary>Writes the grid of <paramref name="images"/> as a PNG.</summary>
    public static void Save(string path, Tensor images, ImageGridOptions? options = null)
    {
        var (pixels, w, h, c) = Compose(images, options);
        Png.Write(path, pixels, w, h, c);
    }

    /// <summary>The grid as interleaved 8-bit pixels (row-major, C bytes per pixel).</summary>
    public static (byte[] Pixels, int Width, int Height, int Channels) Compose(Tensor images, ImageGridOptions? options = null)
    {
        var o = options ?? new ImageGridOptions();
        if (images.Rank != 4 || images.Shape[1] is not (1 or 3))
            throw new ArgumentException($"image grid: expected images [N, 1 or 3, H, W], got {images.Describe()}");
        int n = images.Shape[0], c = images.Shape[1], h = images.Shape[2], w = images.Shape[3];
        if (n == 0) throw new ArgumentException("image grid: no images");
        if (o.Padding < 0) throw new ArgumentException("image grid: negative padding");
        int cols = Math.Clamp(o.Columns ?? (int)Math.Ceiling(Math.Sqrt(n)), 1, n);
        int rows = (n + cols - 1) / cols;
        int p = o.Padding;
        int gw = cols * (w + p) + p, gh = rows * (h + p) + p;
        var grid = new byte[(long)gw * gh * c];
        grid.AsSpan().Fill(ToByte(o.PadValue, 0, 1));

        var values = images.ToDoubles();
        int plane = h * w, img = c * plane;
        for (int k = 0; k < n; k++)
        {
            var src = values.AsSpan(k * img, img);
            double lo = o.Range.Low, hi = o.Range.High;
            if (images.DType == DType.U8 && !o.NormalizeEach) (lo, hi) = (0, 255);
            if (o.NormalizeEach)
            {
                lo = double.PositiveInfinity; hi = double.NegativeInfinity;
                foreach (var v in src) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
            }
            int x0 = p + (k % cols) * (w + p), y0 = p + (k / cols) * (h + p);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int ch = 0; ch < c; ch++)
                        grid[(((long)(y0 + y) * gw) + x0 + x) * c + ch] = ToByte(src[ch * plane + y * w + x], lo, hi);
        }
        return (grid, gw, gh, c);
    }

    static byte ToByte(double v, double lo, double hi)
    {
        double t = hi > lo ? (v - lo) / (hi - lo) : 0;
        if (double.IsNaN(t)) t = 0;
        return (byte)Math.Round(Math.Clamp(t, 0, 1) * 255);
    }
}
