namespace RawDistill.Diagnostics;

using RawDistill.Backends;
using RawDistill.Data.Augment;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>One augmentation parity check: the f32 output of <paramref name="Compute"/> on a backend, for a seed.</summary>
/// <param name="Name">Shown in the selftest table and test messages.</param>
/// <param name="Tolerance">Largest accepted |reference − target| (pixels are in [0, 1]).</param>
/// <param name="Compute">Runs the kernels on a backend from inputs drawn on the host from the seed; returns every output, concatenated.</param>
public sealed record AugmentCheck(string Name, double Tolerance, Func<IAugmentBackend, IBackend, ulong, float[]> Compute)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// Parity of the augmentation kernels (<see cref="IAugmentBackend"/>) between a reference
/// backend (the CPU) and a target backend, from identical f32 images and per-image
/// parameters: each transform on 3- and 1-channel batches of odd sizes (crop boxes partly
/// outside the image, flips, copies of exactly the output size, in-place calls, images left
/// alone), and whole seeded <see cref="AugmentRecipe"/>s. Part of <c>rawdistill selftest</c>
/// (through <see cref="BackendChecks"/>) and of the CUDA device tests.
/// </summary>
/// <remarks>
/// Tolerances. The kernels are specified operation for operation (IAugmentBackend), in f32
/// with round-to-nearest and no fused multiply-adds, with the same bilinear taps, luma
/// weights, hue conversion and summation order on every backend, so crop, grayscale, blur
/// and solarize must agree exactly (tolerance 0). The one reduction, the mean behind
/// contrast, is summed in double in a backend-specific order (sequential on the CPU, a block
/// reduction on the GPU) and rounded once to f32, so the means differ by at most one f32 ulp
/// (6e-8 below 1). A contrast blend c·x + (1 − c)·mean then moves by at most (1 − c)·6e-8
/// plus one rounding of the add (≤ 1.2e-7 in total); the steps after it are Lipschitz with
/// small constants (clamp 1, saturation ≤ 1 + 2·|1 − s|, the hue rotation about 2, blur
/// weights summing to 1, solarize at 0.5 continuous). 1e-6 covers that with margin; a real
/// bug (a wrong tap, a swapped channel, a fused rounding) shows up far above it, except a
/// fused rounding, which the exact checks catch.
/// </remarks>
public static class AugmentChecks
{
    /// <summary>Checks whose only inexact step is the contrast mean's summation order (see remarks).</summary>
    public const double MeanOrderTolerance = 1e-6;

    /// <summary>Every check, in a stable order.</summary>
    public static IReadOnlyList<AugmentCheck> Cases { get; } =
    [
        new("augment resized crop, 3 ch", 0, (a, b, s) => ResizedCrop(a, b, s, new ImageBatchGeometry(5, 3, 13, 11), 9, 10)),
        new("augment resized crop, 1 ch", 0, (a, b, s) => ResizedCrop(a, b, s, new ImageBatchGeometry(5, 1, 7, 9), 11, 5)),
        new("augment color jitter, 3 ch", MeanOrderTolerance, (a, b, s) => Jitter(a, b, s, new ImageBatchGeometry(8, 3, 9, 7))),
        new("augment color jitter, 1 ch", MeanOrderTolerance, (a, b, s) => Jitter(a, b, s, new ImageBatchGeometry(8, 1, 11, 6))),
        new("augment grayscale", 0, Grayscale),
        new("augment gaussian blur, 3 ch", 0, (a, b, s) => Blur(a, b, s, new ImageBatchGeometry(4, 3, 9, 7), 5)),
        new("augment gaussian blur, 1 ch", 0, (a, b, s) => Blur(a, b, s, new ImageBatchGeometry(3, 1, 6, 11), 11)),
        new("augment solarize", 0, Solarize),
        new("augment recipe barlow view 1, 3 ch", MeanOrderTolerance, (a, b, s) => Recipe(b, s, AugmentPresets.BarlowTwins().View1, new ImageBatchGeometry(6, 3, 17, 15))),
        new("augment recipe barlow view 2, 3 ch", MeanOrderTolerance, (a, b, s) => Recipe(b, s, AugmentPresets.BarlowTwins().View2, new ImageBatchGeometry(6, 3, 17, 15))),
        new("augment recipe barlow view 1, 1 ch", MeanOrderTolerance, (a, b, s) => Recipe(b, s, AugmentPresets.BarlowTwins().View1, new ImageBatchGeometry(5, 1, 28, 28))),
        new("augment recipe crop+flip, 3 ch", 0, (a, b, s) => Recipe(b, s, AugmentPresets.CropFlip(), new ImageBatchGeometry(6, 3, 15, 13))),
    ];

    /// <summary>Runs every check.</summary>
    public static IEnumerable<ParityResult> Run(IBackend reference, IBackend target, ulong seed = 0) =>
        Cases.Select(c => Run(c, reference, target, seed));

    /// <summary>Runs one check; a backend without augmentation kernels, or a throwing kernel, fails it with the reason.</summary>
    public static ParityResult Run(AugmentCheck check, IBackend reference, IBackend target, ulong seed = 0)
    {
        try
        {
            var expected = Evaluate(check, reference, seed);
            var actual = Evaluate(check, target, seed);
            return Judge(check.Name, expected, actual, check.Tolerance);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new ParityResult(check.Name, "-", double.NaN, double.NaN, false, $"{e.GetType().Name}: {e.Message}");
        }
    }

    static float[] Evaluate(AugmentCheck check, IBackend backend, ulong seed)
    {
        var aug = backend as IAugmentBackend
            ?? throw new NotSupportedException($"backend {backend.Name} has no augmentation kernels (IAugmentBackend)");
        using var scope = TensorScope.Begin();
        return check.Compute(aug, backend, seed);
    }

    /// <summary>Compares two outputs: passed when every |expected − actual| ≤ tolerance (NaN never passes).</summary>
    public static ParityResult Judge(string name, float[] expected, float[] actual, double tolerance)
    {
        if (expected.Length != actual.Length)
            return new ParityResult(name, "length", double.PositiveInfinity, double.PositiveInfinity, false, $"{actual.Length} values, expected {expected.Length}");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)expected[i] - actual[i]);
            if (double.IsNaN(d)) d = double.PositiveInfinity;
            if (d > worst) (worst, at) = (d, i);
        }
        // Pixels are in [0, 1], so the absolute error is also the error relative to max(1, |x|).
        return new ParityResult(name, at < 0 ? "values" : $"value {at}", worst, worst, worst <= tolerance);
    }

    // ---- inputs ---------------------------------------------------------------------------

    /// <summary>
    /// Uniform pixels in [0, 1] with the values where the arithmetic branches: gray pixels
    /// (R = G = B, the hue conversion's special case), exact 0.5 (the solarize threshold),
    /// 0 and 1 (clamping), and pixels with two equal channels (the hue's max-channel ties).
    /// </summary>
    static float[] Images(in ImageBatchGeometry g, ulong seed)
    {
        var v = new float[g.Numel];
        new Generator(seed).FillUniform(v);
        int plane = g.Plane;
        for (int n = 0; n < g.N; n++)
            for (int i = 0; i < plane; i++)
            {
                int b = n * g.ImageSize + i;
                if (i % 11 == 3) v[b] = 0.5f;
                if (i % 13 == 5) v[b] = (n + i) % 2;
                if (g.C != 3) continue;
                if (i % 7 == 1) v[b + plane] = v[b + 2 * plane] = v[b];
                if (i % 9 == 2) v[b + plane] = v[b];
                if (i % 10 == 4) v[b + 2 * plane] = v[b + plane];
            }
        return v;
    }

    static double[] Uniforms(int n, ulong seed)
    {
        var u = new double[n];
        new Generator(seed).FillUniform(u);
        return u;
    }

    static Tensor Put(float[] v, in ImageBatchGeometry g, IBackend b) => Tensor.From<float>(v, [g.N, g.C, g.H, g.W], b);

    // ---- the checks -----------------------------------------------------------------------

    static float[] ResizedCrop(IAugmentBackend aug, IBackend b, ulong seed, ImageBatchGeometry g, int outH, int outW)
    {
        CropBox[] boxes =
        [
            CropBox.Full(g.H, g.W),                                          // whole image, resized
            new(2, 1, 3, 4, 1),                                              // inside, enlarged, mirrored
            new(-3, -2, g.H / 2 + 3, g.W - 1, 0),                            // past the top-left corner
            new(g.H / 2, g.W / 2, g.H, g.W, 1),                              // past the bottom-right corner, mirrored
            new(-2, g.W - outW + 3, outH, outW, 1),                          // output-sized (a copy), partly outside, mirrored
        ];
        var x = Put(Images(g, seed), g, b);
        var y = Tensor.Empty([g.N, g.C, outH, outW], DType.F32, b);
        aug.ResizedCrop(x.Storage, g, boxes, outH, outW, y.Storage);
        // A padded random crop of the input size, as the CIFAR recipe draws it.
        var pad = new RandomCrop(3);
        var u = Uniforms(2 * g.N, seed + 1);
        var padded = Enumerable.Range(0, g.N).Select(i => pad.Box(g.H, g.W, g.H, g.W, u.AsSpan(2 * i, 2)) with { Flip = i % 2 }).ToArray();
        var y2 = Tensor.Empty(x.Shape, DType.F32, b);
        aug.ResizedCrop(x.Storage, g, padded, g.H, g.W, y2.Storage);
        return [.. y.ToArray<float>(), .. y2.ToArray<float>()];
    }

    static float[] Jitter(IAugmentBackend aug, IBackend b, ulong seed, ImageBatchGeometry g)
    {
        var jitter = new ColorJitter(0.8, 0.8, 0.8, 0.5, Probability: 1.0);
        var u = Uniforms(g.N * ColorJitter.DrawsPerImage, seed + 2);
        var p = Enumerable.Range(0, g.N).Select(i => jitter.Params(u.AsSpan(i * ColorJitter.DrawsPerImage, ColorJitter.DrawsPerImage))).ToArray();
        int all = 0b1111;
        int reversed = JitterParams.PackOrder([3, 2, 1, 0]);
        p[0] = p[0] with { Enabled = 0 };                                           // left alone
        p[1] = new JitterParams(1.7f, 1f, 1f, -0.5f, reversed, all);                // clamps at 1; hue half a turn back
        p[2] = new JitterParams(1f, 0f, 1f, 0.5f, JitterParams.PackOrder([1, 3, 0, 2]), all); // contrast 0: every pixel the mean
        p[3] = p[3] with { Enabled = 1 << JitterParams.ContrastOp, Contrast = 1.9f };
        p[4] = p[4] with { Enabled = 1 << JitterParams.HueOp };
        p[5] = p[5] with { Enabled = 1 << JitterParams.SaturationOp, Saturation = 0f }; // gray by saturation
        var x = Put(Images(g, seed), g, b);
        var y = Tensor.Empty(x.Shape, DType.F32, b);
        aug.ColorJitter(x.Storage, g, p, y.Storage);
        // In place (y aliases x), on the same batch.
        aug.ColorJitter(x.Storage, g, p, x.Storage);
        return [.. y.ToArray<float>(), .. x.ToArray<float>()];
    }

    static float[] Grayscale(IAugmentBackend aug, IBackend b, ulong seed)
    {
        var rgb = new ImageBatchGeometry(5, 3, 7, 9);
        var gray = new ImageBatchGeometry(3, 1, 5, 5);
        byte[] flags = [1, 0, 1, 1, 0];
        var x = Put(Images(rgb, seed), rgb, b);
        var y = Tensor.Empty(x.Shape, DType.F32, b);
        aug.Grayscale(x.Storage, rgb, flags, y.Storage);
        aug.Grayscale(x.Storage, rgb, flags, x.Storage);                          // in place
        var x1 = Put(Images(gray, seed + 3), gray, b);
        var y1 = Tensor.Empty(x1.Shape, DType.F32, b);
        aug.Grayscale(x1.Storage, gray, [1, 1, 0], y1.Storage);                   // 1 channel: a copy
        return [.. y.ToArray<float>(), .. x.ToArray<float>(), .. y1.ToArray<float>()];
    }

    static float[] Blur(IAugmentBackend aug, IBackend b, ulong seed, ImageBatchGeometry g, int k)
    {
        var flags = Enumerable.Range(0, g.N).Select(i => (byte)(i == 1 ? 0 : 1)).ToArray();
        var weights = new float[g.N * k];
        var u = Uniforms(g.N, seed + 4);
        for (int i = 0; i < g.N; i++) GaussianBlur.Kernel(0.1 + 1.9 * u[i], weights.AsSpan(i * k, k));
        var x = Put(Images(g, seed), g, b);
        var y = Tensor.Empty(x.Shape, DType.F32, b);
        aug.GaussianBlur(x.Storage, g, flags, weights, k, y.Storage);
        return y.ToArray<float>();
    }

    static float[] Solarize(IAugmentBackend aug, IBackend b, ulong seed)
    {
        var rgb = new ImageBatchGeometry(4, 3, 6, 5);
        var gray = new ImageBatchGeometry(3, 1, 9, 4);
        var x = Put(Images(rgb, seed), rgb, b);
        var y = Tensor.Empty(x.Shape, DType.F32, b);
        aug.Solarize(x.Storage, rgb, [1, 0, 1, 1], 0.5f, y.Storage);
        aug.Solarize(x.Storage, rgb, [0, 1, 1, 0], 0.3f, x.Storage);             // in place
        var x1 = Put(Images(gray, seed + 5), gray, b);
        aug.Solarize(x1.Storage, gray, [1, 0, 1], 0.5f, x1.Storage);
        return [.. y.ToArray<float>(), .. x.ToArray<float>(), .. x1.ToArray<float>()];
    }

    /// <summary>A whole recipe, sampled from the same generator state on every backend.</summary>
    static float[] Recipe(IBackend b, ulong seed, AugmentRecipe recipe, ImageBatchGeometry g)
    {
        var x = Put(Images(g, seed), g, b);
        return recipe.Apply(x, new Generator(seed + 6)).ToArray<float>();
    }
}
