namespace RawDistill.Tests.Backends;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// The CPU conv2d puts several images side by side in one GEMM (CpuBackend.ImagesPerGemm).
/// Its results must equal the image-by-image computation (each image alone is a batch of one,
/// which takes the one-image path): forward and input gradient exactly per image, the weight
/// gradient as the sum of the per-image weight gradients. f64, shapes with a last partial image
/// group, conv groups, strides, padding and a 1×1 convolution.
/// </summary>
public sealed class CpuConvBatchingTests
{
    public static TheoryData<int, int, int, int, int, int, int> Geometries() => new()
    {
        // C, H, K, R, stride, pad, groups
        { 3, 9, 5, 3, 1, 1, 1 },
        { 4, 6, 6, 3, 2, 1, 2 },
        { 6, 5, 4, 1, 1, 0, 1 },
        { 2, 4, 3, 2, 1, 0, 1 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void BatchedImagesMatchImageByImage(int c, int h, int k, int r, int stride, int pad, int groups)
    {
        var cpu = CpuBackend.Instance;
        // nb is capped at ⌈N / (2·cores)⌉ = 4 for N = 6·cores + 1 (small images: the column target
        // alone would allow more), and 4 never divides 6·cores + 1: the last image group is partial.
        int n = 6 * Environment.ProcessorCount + 1;
        var g = new Conv2dGeometry(n, c, h, h, k, r, r, stride, stride, pad, pad, groups);
        var g1 = g with { N = 1 };
        int nb = CpuBackend.ImagesPerGemm(g);
        Assert.True(nb > 1, $"nb = {nb}: the case does not exercise the batched path");
        Assert.True(n % nb != 0, $"nb = {nb} divides N = {n}: the case has no partial image group");
        Assert.Equal(1, CpuBackend.ImagesPerGemm(g1));

        using var scope = TensorScope.Begin();
        var rng = new Generator(42);
        var x = Tensor.Normal(g.InputShape, 0, 1, rng, DType.F64, cpu);
        var w = Tensor.Normal(g.WeightShape, 0, 1, rng, DType.F64, cpu);
        var bias = Tensor.Normal([k], 0, 1, rng, DType.F64, cpu);
        var dy = Tensor.Normal(g.OutputShape, 0, 1, rng, DType.F64, cpu);
        var y = Tensor.Zeros(g.OutputShape, DType.F64, cpu);
        var dx = Tensor.Zeros(g.InputShape, DType.F64, cpu);
        var dw = Tensor.Zeros(g.WeightShape, DType.F64, cpu);
        cpu.Conv2dForward(g, x.Storage, w.Storage, bias.Storage, y.Storage);
        cpu.Conv2dBackwardInput(g, dy.Storage, w.Storage, dx.Storage);
        cpu.Conv2dBackwardWeight(g, x.Storage, dy.Storage, dw.Storage);

        double[] xa = x.ToArray<double>(), dya = dy.ToArray<double>(), ya = y.ToArray<double>(), dxa = dx.ToArray<double>(), dwa = dw.ToArray<double>();
        int inSize = xa.Length / n, outSize = dya.Length / n;
        var dwSum = new double[dwa.Length];
        for (int i = 0; i < n; i++)
        {
            var xi = Tensor.From<double>(xa.AsSpan(i * inSize, inSize), g1.InputShape, cpu);
            var dyi = Tensor.From<double>(dya.AsSpan(i * outSize, outSize), g1.OutputShape, cpu);
            var yi = Tensor.Zeros(g1.OutputShape, DType.F64, cpu);
            var dxi = Tensor.Zeros(g1.InputShape, DType.F64, cpu);
            var dwi = Tensor.Zeros(g1.WeightShape, DType.F64, cpu);
            cpu.Conv2dForward(g1, xi.Storage, w.Storage, bias.Storage, yi.Storage);
            cpu.Conv2dBackwardInput(g1, dyi.Storage, w.Storage, dxi.Storage);
            cpu.Conv2dBackwardWeight(g1, xi.Storage, dyi.Storage, dwi.Storage);
            AssertClose(yi.ToArray<double>(), ya.AsSpan(i * outSize, outSize), $"forward, image {i}");
            AssertClose(dxi.ToArray<double>(), dxa.AsSpan(i * inSize, inSize), $"input gradient, image {i}");
            var dwia = dwi.ToArray<double>();
            for (int j = 0; j < dwSum.Length; j++) dwSum[j] += dwia[j];
        }
        AssertClose(dwSum, dwa, "weight gradient");
    }

    static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Max(1, scale), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }
}
