namespace RawDistill.Tests.Data;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Data.Augment;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>Known properties of each augmentation and of the seeded pipeline (CPU kernels).</summary>
[Trait("Category", "Data")]
public sealed class AugmentTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    private static float[] RandomImages(int n, int c, int h, int w, ulong seed, float lo = 0f, float hi = 1f)
    {
        var v = new float[n * c * h * w];
        new Generator(seed).FillUniform(v);
        for (int i = 0; i < v.Length; i++) v[i] = lo + (hi - lo) * v[i];
        return v;
    }

    private static float[] Run(float[] x, ImageBatchGeometry g, Action<Storage, Storage> kernel, int? outNumel = null)
    {
        using var tx = Tensor.From<float>(x, [g.N, g.C, g.H, g.W]);
        using var ty = Tensor.Empty([outNumel ?? x.Length]);
        kernel(tx.Storage, ty.Storage);
        return ty.ToArray<float>();
    }

    private static float[] Crop(float[] x, ImageBatchGeometry g, CropBox[] boxes, int outH, int outW) =>
        Run(x, g, (s, d) => Cpu.ResizedCrop(s, g, boxes, outH, outW, d), g.N * g.C * outH * outW);

    // ---------------------------------------------------------------- crops and flips

    [Fact]
    public void FlipTwiceIsIdentityAndFlipMirrorsRows()
    {
        var g = new ImageBatchGeometry(2, 3, 5, 6);
        var x = RandomImages(2, 3, 5, 6, 1);
        var flip = Enumerable.Repeat(new CropBox(0, 0, 5, 6, 1), 2).ToArray();
        var once = Crop(x, g, flip, 5, 6);
        Assert.Equal(x[5], once[0]);
        Assert.Equal(x[6 + 2], once[6 + 3]);
        Assert.Equal(x, Crop(once, g, flip, 5, 6));
    }

    [Fact]
    public void ResizedCropAtScaleOneAndRatioOneIsTheWholeImage()
    {
        var rrc = new RandomResizedCrop(1.0, 1.0, 1.0, 1.0);
        var u = new double[RandomResizedCrop.DrawsPerImage];
        new Generator(3).FillUniform(u);
        Assert.Equal(new CropBox(0, 0, 16, 16, 0), rrc.Box(16, 16, u));

        var recipe = new AugmentRecipe { ResizedCrop = rrc };
        var x = RandomImages(3, 2, 16, 16, 4);
        using var tx = Tensor.From<float>(x, [3, 2, 16, 16]);
        using var same = recipe.Apply(tx, new Generator(5));
        Assert.Equal(x, same.ToArray<float>());
    }

    [Fact]
    public void ResizedCropOfTheWholeImageEqualsPyTorchBilinearResize()
    {
        // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), scale_factor=2, mode="bilinear", align_corners=False)
        float[] expected =
        [
            0.00f, 0.25f, 0.75f, 1.00f,
            0.50f, 0.75f, 1.25f, 1.50f,
            1.50f, 1.75f, 2.25f, 2.50f,
            2.00f, 2.25f, 2.75f, 3.00f,
        ];
        var g = new ImageBatchGeometry(1, 1, 2, 2);
        Assert.Equal(expected, Crop([0, 1, 2, 3], g, [CropBox.Full(2, 2)], 4, 4));
        var recipe = new AugmentRecipe { ResizedCrop = new RandomResizedCrop(1, 1, 1, 1), OutHeight = 4, OutWidth = 4 };
        using var tx = Tensor.From<float>([0f, 1f, 2f, 3f], [1, 1, 2, 2]);
        using var y = recipe.Apply(tx, new Generator(0));
        Assert.Equal(expected, y.ToArray<float>());
    }

    [Fact]
    public void RandomCropWithoutPaddingAtOffsetZeroIsIdentityAndPaddingReadsZeros()
    {
        var g = new ImageBatchGeometry(1, 2, 4, 5);
        var x = RandomImages(1, 2, 4, 5, 6, 0.1f, 1f);
        var rc = new RandomCrop(0);
        Assert.Equal(new CropBox(0, 0, 4, 5, 0), rc.Box(4, 5, 4, 5, [0.0, 0.0]));
        Assert.Equal(x, Crop(x, g, [rc.Box(4, 5, 4, 5, [0.3, 0.9])], 4, 5));

        // Padding 4, offset (0, 0) of the padded image: the box starts at (−4, −4).
        var box = new RandomCrop(4).Box(4, 5, 4, 5, [0.0, 0.0]);
        Assert.Equal(new CropBox(-4, -4, 4, 5, 0), box);
        Assert.All(Crop(x, g, [box], 4, 5), v => Assert.Equal(0f, v));
        // Shifted by (1, 2): output (y, x) = input (y − 1, x − 2), zero where that is outside.
        var y = Crop(x, g, [new CropBox(-1, -2, 4, 5, 0)], 4, 5);
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 4; r++)
                for (int col = 0; col < 5; col++)
                {
                    float want = r >= 1 && col >= 2 ? x[c * 20 + (r - 1) * 5 + col - 2] : 0f;
                    Assert.Equal(want, y[c * 20 + r * 5 + col]);
                }
    }

    [Fact]
    public void ResizedCropBoxesStayInsideTheImageAndRespectTheScaleRange()
    {
        var recipe = new AugmentRecipe { ResizedCrop = new RandomResizedCrop(0.2, 0.6) };
        foreach (var (h, w) in new[] { (32, 32), (28, 28), (20, 40) })
        {
            var plan = recipe.Sample(new ImageBatchGeometry(500, 1, h, w), new Generator(11));
            int fallback = 0;
            foreach (var b in plan.Boxes)
            {
                Assert.InRange(b.Top, 0, h - b.Height);
                Assert.InRange(b.Left, 0, w - b.Width);
                Assert.True(b.Height > 0 && b.Width > 0);
                double scale = (double)b.Height * b.Width / (h * w);
                double ratio = (double)b.Width / b.Height;
                bool central = b.Top == (h - b.Height) / 2 && b.Left == (w - b.Width) / 2 && (b.Height == h || b.Width == w);
                if (central && scale > 0.6) { fallback++; continue; }
                // Rounding w and h to integers moves the area a little on small images.
                double slack = (b.Height + b.Width + 1.0) / (h * w);
                Assert.InRange(scale, 0.2 - slack, 0.6 + slack);
                Assert.InRange(ratio, 0.75 * (1 - 1.0 / b.Height) - 1e-9, 4.0 / 3.0 * (1 + 1.0 / b.Width) + 1e-9);
            }
            Assert.True(fallback < 10, $"{fallback} fallbacks for {h}×{w}");
        }
    }

    [Fact]
    public void CropFlipOffsetsStayWithinThePadding()
    {
        var plan = AugmentPresets.CropFlip(padding: 4).Sample(new ImageBatchGeometry(1000, 3, 32, 32), new Generator(5));
        Assert.All(plan.Boxes, b =>
        {
            Assert.Equal((32, 32), (b.Height, b.Width));
            Assert.InRange(b.Top, -4, 4);
            Assert.InRange(b.Left, -4, 4);
        });
        // All 9 × 9 offsets occur.
        Assert.Equal(81, plan.Boxes.Select(b => (b.Top, b.Left)).Distinct().Count());
    }

    // ---------------------------------------------------------------- color

    private static JitterParams Only(int op, float factor) => new(
        op == 0 ? factor : 1f, op == 1 ? factor : 1f, op == 2 ? factor : 1f, op == 3 ? factor : 0f,
        JitterParams.PackOrder([0, 1, 2, 3]), 1 << op);

    [Fact]
    public void BrightnessFactorOneIsIdentity()
    {
        var g = new ImageBatchGeometry(2, 3, 4, 4);
        var x = RandomImages(2, 3, 4, 4, 7);
        Assert.Equal(x, Run(x, g, (s, d) => Cpu.ColorJitter(s, g, [Only(0, 1f), Only(0, 1f)], d)));
        var everything = new JitterParams(1f, 1f, 1f, 0f, JitterParams.PackOrder([3, 2, 1, 0]), 0b0111);
        Assert.Equal(x, Run(x, g, (s, d) => Cpu.ColorJitter(s, g, [everything, everything], d)));
    }

    [Fact]
    public void BrightnessScalesTheMeanAndContrastKeepsIt()
    {
        var g = new ImageBatchGeometry(1, 3, 8, 8);
        var x = RandomImages(1, 3, 8, 8, 8, 0f, 0.5f);
        double mean = x.Average();
        var bright = Run(x, g, (s, d) => Cpu.ColorJitter(s, g, [Only(0, 1.6f)], d));
        Assert.Equal(1.6 * mean, bright.Average(), 5);
        var dark = Run(x, g, (s, d) => Cpu.ColorJitter(s, g, [Only(0, 0.5f)], d));
        Assert.Equal(0.5 * mean, dark.Average(), 5);

        // Contrast pulls pixels toward the image's mean gray level; with no clipping that mean stays.
        var gray = new float[x.Length];
        for (int i = 0; i < 64; i++) gray[i] = gray[64 + i] = gray[128 + i] = 0.299f * x[i] + 0.587f * x[64 + i] + 0.114f * x[128 + i];
        var low = Run(x, g, (s, d) => Cpu.ColorJitter(s, g, [Only(1, 0.5f)], d));
        double lumaBefore = gray.Average(), lumaAfter = 0;
        for (int i = 0; i < 64; i++) lumaAfter += 0.299 * low[i] + 0.587 * low[64 + i] + 0.114 * low[128 + i];
        Assert.Equal(lumaBefore, lumaAfter / 64, 5);
        Assert.True(Variance(low) < Variance(x));

        // One-channel images: brightness and contrast act, saturation and hue do not.
        var g1 = new ImageBatchGeometry(1, 1, 8, 8);
        var x1 = x[..64];
        Assert.Equal(x1, Run(x1, g1, (s, d) => Cpu.ColorJitter(s, g1, [Only(2, 0f)], d)));
        Assert.Equal(x1, Run(x1, g1, (s, d) => Cpu.ColorJitter(s, g1, [Only(3, 0.3f)], d)));
        Assert.Equal(1.6 * x1.Average(), Run(x1, g1, (s, d) => Cpu.ColorJitter(s, g1, [Only(0, 1.6f)], d)).Average(), 5);
    }

    [Fact]
    public void SaturationZeroIsGrayscaleAndHueShiftsCycleColors()
    {
        var g = new ImageBatchGeometry(1, 3, 1, 1);
        float[] red = [1f, 0f, 0f];
        Assert.Equal([0.299f, 0.299f, 0.299f], Run(red, g, (s, d) => Cpu.ColorJitter(s, g, [Only(2, 0f)], d)));
        // A hue shift of a third of a turn moves pure red to pure green; a full-turn equivalent round trip is identity.
        var green = Run(red, g, (s, d) => Cpu.ColorJitter(s, g, [Only(3, 1f / 3f)], d));
        Assert.Equal(0f, green[0], 5);
        Assert.Equal(1f, green[1], 5);
        Assert.Equal(0f, green[2], 5);
        var x = RandomImages(1, 3, 4, 4, 9);
        var g2 = new ImageBatchGeometry(1, 3, 4, 4);
        var back = Run(Run(x, g2, (s, d) => Cpu.ColorJitter(s, g2, [Only(3, 0.25f)], d)), g2, (s, d) => Cpu.ColorJitter(s, g2, [Only(3, -0.25f)], d));
        for (int i = 0; i < x.Length; i++) Assert.Equal(x[i], back[i], 4);
    }

    [Fact]
    public void GrayscaleHasEqualChannelsWithLumaWeights()
    {
        var g = new ImageBatchGeometry(2, 3, 3, 3);
        var x = RandomImages(2, 3, 3, 3, 10);
        var y = Run(x, g, (s, d) => Cpu.Grayscale(s, g, [1, 0], d));
        for (int i = 0; i < 9; i++)
        {
            float l = 0.299f * x[i] + 0.587f * x[9 + i] + 0.114f * x[18 + i];
            Assert.Equal(l, y[i], 6);
            Assert.Equal(y[i], y[9 + i]);
            Assert.Equal(y[i], y[18 + i]);
        }
        Assert.Equal(x[27..], y[27..]);
    }

    [Fact]
    public void SolarizeInvertsExactlyThePixelsAtOrAboveTheThreshold()
    {
        var g = new ImageBatchGeometry(2, 1, 2, 3);
        float[] x = [0f, 0.25f, 0.4999f, 0.5f, 0.75f, 1f, 0.1f, 0.6f, 0.2f, 0.9f, 0.3f, 0.5f];
        var y = Run(x, g, (s, d) => Cpu.Solarize(s, g, [1, 0], 0.5f, d));
        Assert.Equal([0f, 0.25f, 0.4999f, 0.5f, 0.25f, 0f], y[..6]);
        Assert.Equal(x[6..], y[6..]);
    }

    // ---------------------------------------------------------------- blur

    private static float[] Blur(float[] x, ImageBatchGeometry g, double sigma, int k)
    {
        var w = new float[g.N * k];
        for (int n = 0; n < g.N; n++) GaussianBlur.Kernel(sigma, w.AsSpan(n * k, k));
        return Run(x, g, (s, d) => Cpu.GaussianBlur(s, g, Enumerable.Repeat((byte)1, g.N).ToArray(), w, k, d));
    }

    [Fact]
    public void BlurKernelIsNormalizedSymmetricAndSizedFromTheImage()
    {
        var w = new float[5];
        GaussianBlur.Kernel(1.0, w);
        Assert.Equal(1f, w.Sum(), 6);
        Assert.Equal(w[0], w[4]);
        Assert.True(w[2] > w[1] && w[1] > w[0]);
        Assert.Equal(3, GaussianBlur.DefaultKernelSize(32, 32));
        Assert.Equal(3, GaussianBlur.DefaultKernelSize(28, 28));
        Assert.Equal(23, GaussianBlur.DefaultKernelSize(224, 224));
    }

    [Fact]
    public void BlurPreservesAConstantImageAndTheMean()
    {
        var g = new ImageBatchGeometry(1, 2, 9, 11);
        var c = Enumerable.Repeat(0.37f, 2 * 9 * 11).ToArray();
        Assert.All(Blur(c, g, 1.5, 5), v => Assert.Equal(0.37f, v, 6));

        // Content in rows and columns [r + 1, size − 2 − r] (r = 2): reflect padding never
        // mirrors it and its spread stays inside the image, so the sum is preserved exactly.
        var x = new float[2 * 9 * 11];
        var noise = RandomImages(1, 1, 1, 2 * 9 * 11, 12);
        for (int ch = 0; ch < 2; ch++)
            for (int r = 3; r <= 5; r++)
                for (int col = 3; col <= 7; col++)
                    x[ch * 99 + r * 11 + col] = noise[ch * 99 + r * 11 + col];
        var y = Blur(x, g, 1.0, 5);
        Assert.Equal(x[..99].Average(), y[..99].Average(), 5);
        Assert.Equal(x[99..].Average(), y[99..].Average(), 5);
        Assert.True(Variance(y) < Variance(x));
    }

    // ---------------------------------------------------------------- the pipeline

    [Fact]
    public void SameSeedSameBatchDifferentSeedDifferentBatch()
    {
        var (v1, v2) = AugmentPresets.BarlowTwins();
        var x = RandomImages(6, 3, 12, 12, 13);
        using var tx = Tensor.From<float>(x, [6, 3, 12, 12]);
        float[] Aug(AugmentRecipe r, ulong seed)
        {
            using var y = r.Apply(tx, new Generator(seed));
            return y.ToArray<float>();
        }
        Assert.Equal(Aug(v1, 42), Aug(v1, 42));
        Assert.Equal(Aug(v2, 42), Aug(v2, 42));
        Assert.NotEqual(Aug(v1, 42), Aug(v1, 43));
        Assert.NotEqual(Aug(v1, 42), Aug(v2, 42));
        Assert.Equal(x, tx.ToArray<float>()); // the input is not modified
        foreach (var v in Aug(v2, 7)) Assert.InRange(v, 0f, 1f);

        var cf = AugmentPresets.CropFlip();
        Assert.Equal(Aug(cf, 1), Aug(cf, 1));
        Assert.NotEqual(Aug(cf, 1), Aug(cf, 2));
    }

    [Fact]
    public void RecipeNormalizesLast()
    {
        var stats = new RawDistill.Data.NormalizationStats([0.5, 0.25], [0.5, 2.0]);
        var x = RandomImages(2, 2, 4, 4, 14);
        using var tx = Tensor.From<float>(x, [2, 2, 4, 4]);
        var plain = new AugmentRecipe { Flip = new HorizontalFlip(0.5) };
        using var a = plain.Apply(tx, new Generator(9));
        using var b = (plain with { Normalize = stats }).Apply(tx, new Generator(9));
        var va = a.ToArray<float>();
        var vb = b.ToArray<float>();
        for (int i = 0; i < va.Length; i++)
        {
            int c = i / 16 % 2;
            Assert.Equal((va[i] - stats.Mean[c]) / stats.Std[c], vb[i], 5);
        }
    }

    [Fact]
    public void DrawCountDoesNotDependOnOutcomes()
    {
        var (v1, _) = AugmentPresets.BarlowTwins();
        var g = new ImageBatchGeometry(4, 3, 8, 8);
        var a = new Generator(1);
        var b = new Generator(2);
        v1.Sample(g, a);
        v1.Sample(g, b);
        Assert.Equal(a.Counter, b.Counter);
        var never = v1 with { Jitter = v1.Jitter! with { Probability = 0 }, Blur = new GaussianBlur(0) };
        var c = new Generator(1);
        never.Sample(g, c);
        Assert.Equal(a.Counter, c.Counter);
    }

    [Fact]
    public void PlanProbabilitiesAreRespected()
    {
        var (v1, v2) = AugmentPresets.BarlowTwins();
        var g = new ImageBatchGeometry(2000, 3, 8, 8);
        var p1 = v1.Sample(g, new Generator(3));
        var p2 = v2.Sample(g, new Generator(3));
        Assert.All(p1.Blur!, b => Assert.Equal(1, b));
        Assert.All(p1.Solarize!, b => Assert.Equal(0, b));
        Assert.InRange(p2.Solarize!.Count(b => b != 0), 300, 500);
        Assert.InRange(p2.Blur!.Count(b => b != 0), 130, 270);
        Assert.InRange(p1.Boxes.Count(b => b.Flipped), 900, 1100);
        Assert.InRange(p1.Jitter!.Count(j => j.Enabled != 0), 1500, 1700);
        Assert.InRange(p1.Grayscale!.Count(b => b != 0), 320, 480);
        Assert.All(p1.BlurSigma!, s => Assert.InRange(s, 0.1, 2.0));
        Assert.All(p1.Jitter!, j =>
        {
            Assert.InRange(j.Brightness, 0.6f, 1.4f);
            Assert.InRange(j.Saturation, 0.8f, 1.2f);
            Assert.InRange(j.Hue, -0.1f, 0.1f);
            Assert.Equal(0b1111, Enumerable.Range(0, 4).Aggregate(0, (m, k) => m | (1 << j.Step(k))));
        });
    }

    private static double Variance(float[] v)
    {
        double m = v.Average();
        return v.Sum(x => (x - m) * (x - m)) / v.Length;
    }
}
