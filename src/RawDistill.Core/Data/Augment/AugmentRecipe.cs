namespace RawDistill.Data.Augment;

using RawDistill.Backends;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// One augmentation pipeline for f32 N×C×H×W batches in [0, 1], in torchvision's order:
/// crop (random resized or padded random), horizontal flip, color jitter, grayscale, blur,
/// solarize, then optional normalization. Stages left null are skipped. Same generator state
/// → same batch, on every backend.
/// </summary>
/// <remarks>
/// <para>Random draws (<see cref="Sample"/>): every present stage takes one
/// <see cref="Generator.FillUniform(Span{double})"/> of N·k uniforms, image-major (image i
/// reads u[i·k .. i·k + k)), in this order: crop (k = 40 for <see cref="RandomResizedCrop"/>,
/// 2 for <see cref="RandomCrop"/>), flip (1), jitter (9), grayscale (1), blur (2), solarize (1).
/// A stage draws its numbers even where its probability is 0 or its outcome is "no", so the
/// stream position after a batch depends only on N and which stages exist. The meaning of
/// each stage's uniforms is documented on its record.</para>
/// <para>Resizing is bilinear without antialiasing; random resized crops never shrink
/// (the box is at most the image), so this matches torchvision's result whenever the output
/// is the input size.</para>
/// </remarks>
public sealed record AugmentRecipe
{
    /// <summary>Output height; null keeps the input height.</summary>
    public int? OutHeight { get; init; }

    /// <summary>Output width; null keeps the input width.</summary>
    public int? OutWidth { get; init; }

    /// <summary>Random resized crop, or null.</summary>
    public RandomResizedCrop? ResizedCrop { get; init; }

    /// <summary>Padded random crop (exclusive with <see cref="ResizedCrop"/>), or null.</summary>
    public RandomCrop? PaddedCrop { get; init; }

    /// <summary>Horizontal flip, or null.</summary>
    public HorizontalFlip? Flip { get; init; }

    /// <summary>Color jitter, or null.</summary>
    public ColorJitter? Jitter { get; init; }

    /// <summary>Random grayscale, or null.</summary>
    public RandomGrayscale? Grayscale { get; init; }

    /// <summary>Gaussian blur, or null.</summary>
    public GaussianBlur? Blur { get; init; }

    /// <summary>Solarization, or null.</summary>
    public Solarize? Solarize { get; init; }

    /// <summary>Normalization applied last, or null to keep [0, 1] pixels.</summary>
    public NormalizationStats? Normalize { get; init; }

    /// <summary>Draws every per-image choice for a batch of geometry <paramref name="g"/>.</summary>
    public AugmentPlan Sample(in ImageBatchGeometry g, Generator rng)
    {
        if (ResizedCrop != null && PaddedCrop != null) throw new ArgumentException("augment: a recipe has either a random resized crop or a padded random crop, not both");
        int n = g.N, outH = OutHeight ?? g.H, outW = OutWidth ?? g.W;
        var boxes = new CropBox[n];
        if (ResizedCrop != null)
        {
            var u = Draw(rng, n, RandomResizedCrop.DrawsPerImage);
            for (int i = 0; i < n; i++) boxes[i] = ResizedCrop.Box(g.H, g.W, Row(u, i, RandomResizedCrop.DrawsPerImage));
        }
        else if (PaddedCrop != null)
        {
            var u = Draw(rng, n, RandomCrop.DrawsPerImage);
            for (int i = 0; i < n; i++) boxes[i] = PaddedCrop.Box(g.H, g.W, outH, outW, Row(u, i, RandomCrop.DrawsPerImage));
        }
        else Array.Fill(boxes, CropBox.Full(g.H, g.W));

        if (Flip != null)
        {
            var u = Draw(rng, n, 1);
            for (int i = 0; i < n; i++) boxes[i] = boxes[i] with { Flip = u[i] < Flip.Probability ? 1 : 0 };
        }

        JitterParams[]? jitter = null;
        if (Jitter != null)
        {
            var u = Draw(rng, n, ColorJitter.DrawsPerImage);
            jitter = new JitterParams[n];
            for (int i = 0; i < n; i++) jitter[i] = Jitter.Params(Row(u, i, ColorJitter.DrawsPerImage));
        }

        byte[]? gray = Grayscale != null ? Flags(Draw(rng, n, 1), Grayscale.Probability) : null;

        byte[]? blur = null;
        double[]? sigma = null;
        float[]? weights = null;
        int k = 0;
        if (Blur != null)
        {
            var u = Draw(rng, n, GaussianBlur.DrawsPerImage);
            k = Blur.KernelSizeFor(outH, outW);
            blur = new byte[n];
            sigma = new double[n];
            weights = new float[n * k];
            for (int i = 0; i < n; i++)
            {
                if (!(u[2 * i] < Blur.Probability)) continue;
                blur[i] = 1;
                sigma[i] = Blur.Sigma(u[2 * i + 1]);
                GaussianBlur.Kernel(sigma[i], weights.AsSpan(i * k, k));
            }
        }

        byte[]? solarize = Solarize != null ? Flags(Draw(rng, n, 1), Solarize.Probability) : null;

        return new AugmentPlan
        {
            OutHeight = outH,
            OutWidth = outW,
            Boxes = boxes,
            Jitter = jitter,
            Grayscale = gray,
            Blur = blur,
            BlurSigma = sigma,
            BlurWeights = weights,
            BlurKernelSize = k,
            Solarize = solarize,
            SolarizeThreshold = (float)(Solarize?.Threshold ?? 0.5),
        };
    }

    /// <summary>An augmented copy of <paramref name="x"/> (f32 N×C×H×W in [0, 1]); x is not modified.</summary>
    public Tensor Apply(Tensor x, Generator rng) => Apply(x, Sample(ImageBatchGeometry.Of(x.Shape), rng));

    /// <summary>Applies a plan drawn for x's geometry, on x's backend.</summary>
    public Tensor Apply(Tensor x, AugmentPlan plan)
    {
        if (x.DType != DType.F32) throw new ArgumentException($"augment: expected an f32 batch, got {x.Describe()}");
        var g = ImageBatchGeometry.Of(x.Shape);
        if (plan.Boxes.Length != g.N) throw new ArgumentException($"augment: the plan was drawn for {plan.Boxes.Length} images, the batch has {g.N}");
        var aug = x.Backend as IAugmentBackend
            ?? throw new NotSupportedException($"backend {x.Backend.Name} has no augmentation kernels (IAugmentBackend)");
        var y = Tensor.Empty([g.N, g.C, plan.OutHeight, plan.OutWidth], DType.F32, x.Backend);
        try
        {
            aug.ResizedCrop(x.Storage, g, plan.Boxes, plan.OutHeight, plan.OutWidth, y.Storage);
            var og = new ImageBatchGeometry(g.N, g.C, plan.OutHeight, plan.OutWidth);
            if (plan.Jitter != null) aug.ColorJitter(y.Storage, og, plan.Jitter, y.Storage);
            if (plan.Grayscale != null) aug.Grayscale(y.Storage, og, plan.Grayscale, y.Storage);
            if (plan.Blur != null && plan.Blur.Any(b => b != 0))
            {
                var blurred = Tensor.Empty(y.Shape, DType.F32, x.Backend);
                aug.GaussianBlur(y.Storage, og, plan.Blur, plan.BlurWeights, plan.BlurKernelSize, blurred.Storage);
                y.Dispose();
                y = blurred;
            }
            if (plan.Solarize != null) aug.Solarize(y.Storage, og, plan.Solarize, plan.SolarizeThreshold, y.Storage);
            if (Normalize != null) Normalization.ApplyInPlace(y, Normalize);
            return y;
        }
        catch
        {
            y.Dispose();
            throw;
        }
    }

    static double[] Draw(Generator rng, int n, int perImage)
    {
        var u = new double[n * perImage];
        rng.FillUniform(u);
        return u;
    }

    static ReadOnlySpan<double> Row(double[] u, int i, int k) => u.AsSpan(i * k, k);

    static byte[] Flags(double[] u, double p)
    {
        var f = new byte[u.Length];
        for (int i = 0; i < u.Length; i++) f[i] = u[i] < p ? (byte)1 : (byte)0;
        return f;
    }
}
