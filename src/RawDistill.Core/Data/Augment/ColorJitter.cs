namespace RawDistill.Data.Augment;

using RawDistill.Backends;

/// <summary>
/// torchvision's ColorJitter(brightness, contrast, saturation, hue): factors drawn uniformly
/// from [max(0, 1 − b), 1 + b], [max(0, 1 − c), 1 + c], [max(0, 1 − s), 1 + s] and [−h, h],
/// applied in a random order; an adjustment whose strength is 0 is skipped (torchvision's
/// None). For 1-channel images only brightness and contrast act.
/// </summary>
/// <remarks>
/// Draws 9 uniforms per image: u0 for <see cref="Probability"/> (the image is jittered when
/// u0 &lt; p: torchvision's RandomApply), u1..u4 as sort keys whose ascending order is the
/// order of the ops (a uniformly random permutation, as torch.randperm(4)), u5..u8 the
/// brightness, contrast, saturation and hue factors.
/// </remarks>
public sealed record ColorJitter(double Brightness = 0.4, double Contrast = 0.4, double Saturation = 0.2, double Hue = 0.1, double Probability = 0.8)
{
    /// <summary>Uniforms drawn per image.</summary>
    public const int DrawsPerImage = 9;

    /// <summary>The parameters of one image from its uniforms.</summary>
    public JitterParams Params(ReadOnlySpan<double> u)
    {
        if (Brightness < 0 || Contrast < 0 || Saturation < 0 || Hue is < 0 or > 0.5)
            throw new ArgumentException($"color jitter: strengths must be ≥ 0 and hue ≤ 0.5, got {this}");
        Span<int> order = [0, 1, 2, 3];
        Span<double> keys = [u[1], u[2], u[3], u[4]];
        // Insertion sort of four keys; ties (probability ~2^-24) keep op-code order.
        for (int i = 1; i < 4; i++)
            for (int j = i; j > 0 && keys[j] < keys[j - 1]; j--)
            {
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
                (order[j], order[j - 1]) = (order[j - 1], order[j]);
            }
        int enabled = 0;
        if (u[0] < Probability)
        {
            if (Brightness > 0) enabled |= 1 << JitterParams.BrightnessOp;
            if (Contrast > 0) enabled |= 1 << JitterParams.ContrastOp;
            if (Saturation > 0) enabled |= 1 << JitterParams.SaturationOp;
            if (Hue > 0) enabled |= 1 << JitterParams.HueOp;
        }
        return new JitterParams(Factor(Brightness, u[5]), Factor(Contrast, u[6]), Factor(Saturation, u[7]),
            (float)(-Hue + 2 * Hue * u[8]), JitterParams.PackOrder(order), enabled);
    }

    static float Factor(double strength, double u)
    {
        double lo = Math.Max(0, 1 - strength), hi = 1 + strength;
        return (float)(lo + (hi - lo) * u);
    }
}

/// <summary>torchvision's RandomGrayscale(p): 1 uniform per image, gray when u &lt; p (3-channel images only).</summary>
public sealed record RandomGrayscale(double Probability = 0.2);

/// <summary>Solarization (BYOL / Barlow Twins): 1 uniform per image; when u &lt; p, pixels ≥ threshold become 1 − x.</summary>
public sealed record Solarize(double Probability = 0.0, double Threshold = 0.5);

/// <summary>Horizontal flip: 1 uniform per image, mirrored when u &lt; p.</summary>
public sealed record HorizontalFlip(double Probability = 0.5);
