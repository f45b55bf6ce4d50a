namespace RawDistill.Data.Augment;

using RawDistill.Backends;

/// <summary>
/// torchvision's RandomResizedCrop: a box covering a random fraction of the image area
/// (<see cref="ScaleMin"/>..<see cref="ScaleMax"/>) with a log-uniform aspect ratio
/// (<see cref="RatioMin"/>..<see cref="RatioMax"/>), resized bilinearly to the output size.
/// </summary>
/// <remarks>
/// Draws 4·<see cref="Attempts"/> = 40 uniforms per image (all of them, whether or not an
/// early attempt succeeds, so the stream position never depends on the image): attempt a
/// reads u[4a .. 4a+3] as (area fraction, log aspect ratio, top, left). As torchvision's
/// <c>get_params</c>: target area = area·(s_min + (s_max − s_min)·u0), ratio =
/// exp(ln r_min + (ln r_max − ln r_min)·u1), w = round(√(area·ratio)), h = round(√(area/ratio))
/// (round half to even, as Python); accepted when 0 &lt; w ≤ W and 0 &lt; h ≤ H, then
/// top = ⌊u2·(H − h + 1)⌋, left = ⌊u3·(W − w + 1)⌋. After 10 failures: the central crop
/// with the ratio clamped into the range.
/// </remarks>
public sealed record RandomResizedCrop(double ScaleMin = 0.08, double ScaleMax = 1.0, double RatioMin = 3.0 / 4.0, double RatioMax = 4.0 / 3.0)
{
    /// <summary>Tries before the central-crop fallback (torchvision's 10).</summary>
    public const int Attempts = 10;

    /// <summary>Uniforms drawn per image.</summary>
    public const int DrawsPerImage = 4 * Attempts;

    /// <summary>The box of one image of height×width from its <see cref="DrawsPerImage"/> uniforms.</summary>
    public CropBox Box(int height, int width, ReadOnlySpan<double> u)
    {
        if (!(ScaleMin > 0 && ScaleMin <= ScaleMax && ScaleMax <= 1)) throw new ArgumentException($"random resized crop: scale range ({ScaleMin}, {ScaleMax}) must satisfy 0 < min ≤ max ≤ 1");
        if (!(RatioMin > 0 && RatioMin <= RatioMax)) throw new ArgumentException($"random resized crop: ratio range ({RatioMin}, {RatioMax}) must satisfy 0 < min ≤ max");
        double area = (double)height * width;
        double logLo = Math.Log(RatioMin), logHi = Math.Log(RatioMax);
        for (int a = 0; a < Attempts; a++)
        {
            var v = u.Slice(4 * a, 4);
            double target = area * (ScaleMin + (ScaleMax - ScaleMin) * v[0]);
            double ratio = Math.Exp(logLo + (logHi - logLo) * v[1]);
            int w = (int)Math.Round(Math.Sqrt(target * ratio), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(target / ratio), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
                return new CropBox((int)(v[2] * (height - h + 1)), (int)(v[3] * (width - w + 1)), h, w, 0);
        }
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < RatioMin) { cw = width; ch = (int)Math.Round(cw / RatioMin, MidpointRounding.ToEven); }
        else if (inRatio > RatioMax) { ch = height; cw = (int)Math.Round(ch * RatioMax, MidpointRounding.ToEven); }
        else { cw = width; ch = height; }
        return new CropBox((height - ch) / 2, (width - cw) / 2, ch, cw, 0);
    }
}

/// <summary>
/// torchvision's RandomCrop(size, padding): the image is zero-padded by <see cref="Padding"/>
/// on every side and an output-sized window is cut at a uniformly random offset. Draws 2
/// uniforms per image: top = ⌊u0·(H + 2p − outH + 1)⌋ − p, left likewise with u1.
/// </summary>
public sealed record RandomCrop(int Padding = 4)
{
    /// <summary>Uniforms drawn per image.</summary>
    public const int DrawsPerImage = 2;

    /// <summary>The box of one image from its two uniforms.</summary>
    public CropBox Box(int height, int width, int outH, int outW, ReadOnlySpan<double> u)
    {
        int rangeY = height + 2 * Padding - outH + 1, rangeX = width + 2 * Padding - outW + 1;
        if (rangeY <= 0 || rangeX <= 0) throw new ArgumentException($"random crop: {outH}×{outW} does not fit in {height}×{width} padded by {Padding}");
        return new CropBox((int)(u[0] * rangeY) - Padding, (int)(u[1] * rangeX) - Padding, outH, outW, 0);
    }
}
