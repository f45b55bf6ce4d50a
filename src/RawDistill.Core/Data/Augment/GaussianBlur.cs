namespace RawDistill.Data.Augment;

/// <summary>
/// Gaussian blur with a random σ (BYOL / Barlow Twins: σ ∈ [0.1, 2.0], kernel about 10% of
/// the image side). Draws 2 uniforms per image: u0 for <see cref="Probability"/> (blurred when
/// u0 &lt; p), σ = σ_min + (σ_max − σ_min)·u1. The kernel is torchvision's: K taps at
/// x = −(K−1)/2 … (K−1)/2, weights exp(−x²/(2σ²)) normalized to sum 1, applied separably
/// with reflect padding.
/// </summary>
/// <param name="Probability">Chance that an image is blurred.</param>
/// <param name="SigmaMin">Smallest σ, in pixels.</param>
/// <param name="SigmaMax">Largest σ, in pixels.</param>
/// <param name="KernelSize">Odd tap count; 0 picks <see cref="DefaultKernelSize"/> for the image.</param>
public sealed record GaussianBlur(double Probability = 1.0, double SigmaMin = 0.1, double SigmaMax = 2.0, int KernelSize = 0)
{
    /// <summary>Uniforms drawn per image.</summary>
    public const int DrawsPerImage = 2;

    /// <summary>
    /// ⌊0.1·min(H, W)⌋ rounded up to odd, at least 3 (23 for 224 as in BYOL, 3 for 28 or 32),
    /// and never wider than reflect padding allows.
    /// </summary>
    public static int DefaultKernelSize(int height, int width)
    {
        int side = Math.Min(height, width);
        int k = Math.Max(3, (int)(0.1 * side) | 1);
        int maxK = 2 * (side - 1) + 1;
        return Math.Max(1, Math.Min(k, maxK));
    }

    /// <summary>The kernel size used for images of height×width.</summary>
    public int KernelSizeFor(int height, int width) => KernelSize > 0 ? KernelSize : DefaultKernelSize(height, width);

    /// <summary>σ of one image from its second uniform.</summary>
    public double Sigma(double u) => SigmaMin + (SigmaMax - SigmaMin) * u;

    /// <summary>Writes the normalized 1-D kernel for σ into <paramref name="weights"/> (its length is K).</summary>
    public static void Kernel(double sigma, Span<float> weights)
    {
        int k = weights.Length;
        float half = (k - 1) * 0.5f;
        float sum = 0f;
        // f32 throughout, as torchvision computes the kernel in the image dtype.
        for (int i = 0; i < k; i++)
        {
            float x = -half + i;
            float t = x / (float)sigma;
            weights[i] = MathF.Exp(-0.5f * t * t);
            sum += weights[i];
        }
        for (int i = 0; i < k; i++) weights[i] /= sum;
    }
}
