namespace RawDistill.Data.Augment;

using RawDistill.Backends;

/// <summary>
/// Every random choice of one augmented batch, drawn on the host by
/// <see cref="AugmentRecipe.Sample"/> and consumed by <see cref="AugmentRecipe.Apply(Tensors.Tensor, AugmentPlan)"/>.
/// Keeping the choices as data is what lets two backends produce the same batch, and lets
/// tests check the choices themselves (boxes inside the image, scale range).
/// </summary>
public sealed class AugmentPlan
{
    /// <summary>Output height.</summary>
    public required int OutHeight { get; init; }

    /// <summary>Output width.</summary>
    public required int OutWidth { get; init; }

    /// <summary>Source box and flip of every image (whole image and no flip when those stages are off).</summary>
    public required CropBox[] Boxes { get; init; }

    /// <summary>Color-jitter parameters per image, or null when the stage is off.</summary>
    public JitterParams[]? Jitter { get; init; }

    /// <summary>Grayscale flags per image, or null.</summary>
    public byte[]? Grayscale { get; init; }

    /// <summary>Blur flags per image, or null.</summary>
    public byte[]? Blur { get; init; }

    /// <summary>σ per image (0 where not blurred), or null.</summary>
    public double[]? BlurSigma { get; init; }

    /// <summary>Normalized blur kernels, <see cref="BlurKernelSize"/> per image, or null.</summary>
    public float[]? BlurWeights { get; init; }

    /// <summary>Taps of the blur kernel.</summary>
    public int BlurKernelSize { get; init; }

    /// <summary>Solarize flags per image, or null.</summary>
    public byte[]? Solarize { get; init; }

    /// <summary>Solarization threshold.</summary>
    public float SolarizeThreshold { get; init; } = 0.5f;
}
