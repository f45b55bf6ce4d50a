namespace RawDistill.Tests.Data;

using RawDistill.Data;
using RawDistill.Tensors;

/// <summary>Statistics, resize, channel conversion, subsampling and minibatches.</summary>
[Trait("Category", "Data")]
public sealed class DatasetTests
{
    // Two 2-channel 1×2 images: channel 0 holds {0, 255, 255, 255}, channel 1 holds {51} ×4.
    private static ImageDataset Tiny() => new("tiny", [0, 255, 51, 51, 255, 255, 51, 51], 2, 2, 1, 2, [0, 1], 2);

    [Fact]
    public void NormalizationStatsAreExactPerChannelAndRoundTripThroughJson()
    {
        var s = Tiny().ComputeNormalization();
        Assert.Equal(0.75, s.Mean[0], 12);
        Assert.Equal(Math.Sqrt(0.75 - 0.75 * 0.75), s.Std[0], 12);
        Assert.Equal(0.2, s.Mean[1], 12);
        Assert.Equal(1e-6, s.Std[1], 12); // a constant channel gets a floor, not 0
        var back = NormalizationStats.FromJson(s.ToJson());
        Assert.Equal(s.Mean, back.Mean);
        Assert.Equal(s.Std, back.Std);
        Assert.Throws<InvalidDataException>(() => NormalizationStats.FromJson("{\"mean\":[0.5],\"std\":[]}"));
    }

    [Fact]
    public void BatchIsF32InUnitRangeOrNormalized()
    {
        var ds = Tiny();
        using var x = ds.Batch([1, 0]);
        Assert.Equal([2, 2, 1, 2], x.Shape);
        float[] want = [1f, 1f, 0.2f, 0.2f, 0f, 1f, 0.2f, 0.2f];
        var got = x.ToArray<float>();
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], got[i], 6);
        var stats = new NormalizationStats([0.5, 0.2], [0.5, 0.1]);
        using var z = ds.Batch([0], normalize: stats);
        var v = z.ToArray<float>();
        Assert.Equal(-1f, v[0], 5);
        Assert.Equal(1f, v[1], 5);
        Assert.Equal(0f, v[2], 5);
        Assert.Equal(new[] { 1, 0 }, ds.LabelsAt([1, 0]));
    }

    [Fact]
    public void ResizeToTheSameSizeIsIdentityAndConstantsStayConstant()
    {
        var ds = new ImageDataset("c", Enumerable.Repeat((byte)77, 2 * 5 * 7).ToArray(), 2, 1, 5, 7);
        Assert.Same(ds, ds.Resize(5, 7));
        var r = ds.Resize(9, 4);
        Assert.Equal((9, 4), (r.Height, r.Width));
        Assert.All(r.Images.ToArray(), b => Assert.Equal(77, b));
    }

    [Fact]
    public void ResizeMatchesPyTorchBilinearAlignCornersFalse()
    {
        // F.interpolate(torch.tensor([[[[0., 100.], [200., 252.]]]]), size=(4, 4), mode="bilinear", align_corners=False)
        // = [[0, 25, 75, 100], [50, 72, 118, 138.5 ...]] computed by hand below, then rounded.
        var ds = new ImageDataset("q", [0, 100, 200, 252], 1, 1, 2, 2);
        var r = ds.Resize(4, 4).Images.ToArray();
        double[,] src = { { 0, 100 }, { 200, 252 } };
        double[] w = [0, 0.25, 0.75, 1]; // source coordinate of outputs 0..3: clamp((o + 0.5)/2 − 0.5, 0, 1)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
            {
                double top = src[0, 0] * (1 - w[x]) + src[0, 1] * w[x], bottom = src[1, 0] * (1 - w[x]) + src[1, 1] * w[x];
                Assert.Equal(Math.Round(top * (1 - w[y]) + bottom * w[y]), r[y * 4 + x]);
            }
    }

    [Fact]
    public void ChannelConversionRepeatsGrayAndTakesLuma()
    {
        var gray = new ImageDataset("g", [10, 20, 30, 40], 2, 1, 1, 2, [1, 0], 2);
        var rgb = gray.WithChannels(3);
        Assert.Equal([10, 20, 10, 20, 10, 20, 30, 40, 30, 40, 30, 40], rgb.Images.ToArray());
        Assert.Equal([1, 0], rgb.Labels.ToArray());
        Assert.Equal(gray.Images.ToArray(), rgb.WithChannels(1).Images.ToArray());
        var color = new ImageDataset("c", [200, 0, 100], 1, 3, 1, 1);
        Assert.Equal((byte)Math.Round(0.299 * 200 + 0.114 * 100), color.WithChannels(1).Images[0]);
    }

    [Fact]
    public void RandomSubsetsAreSeededDistinctAndSorted()
    {
        var a = Subsample.Random(1000, 100, seed: 7);
        Assert.Equal(a, Subsample.Random(1000, 100, seed: 7));
        Assert.NotEqual(a, Subsample.Random(1000, 100, seed: 8));
        Assert.Equal(100, a.Distinct().Count());
        Assert.Equal(a.Order(), a);
        Assert.All(a, i => Assert.InRange(i, 0, 999));
        Assert.Equal(10, Subsample.Fraction(1000, 0.01, 0).Length);
        Assert.Single(Subsample.Fraction(10, 0.01, 0));
    }

    [Fact]
    public void ClassBalancedSubsetsSpreadEvenlyOverClasses()
    {
        var labels = Enumerable.Range(0, 300).Select(i => i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 2).ToArray();
        var idx = Subsample.ClassBalanced(labels, 3, 10, seed: 1);
        Assert.Equal(idx, Subsample.ClassBalanced(labels, 3, 10, seed: 1));
        Assert.Equal(10, idx.Distinct().Count());
        var perClass = idx.GroupBy(i => labels[i]).Select(g => g.Count()).Order().ToArray();
        Assert.Equal([3, 3, 4], perClass);
        var ds = new ImageDataset("l", new byte[300], 300, 1, 1, 1, labels, 3);
        var sub = ds.Subset(Subsample.PerClass(ds, 5, seed: 2));
        Assert.All(sub.ClassCounts(), c => Assert.Equal(5, c));
        Assert.Throws<ArgumentException>(() => Subsample.ClassBalanced([0, 0, 0, 1], 2, 4, 0));
    }
}
