namespace RawDistill.Tests.Backends;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// conv2d version 3 (the GEMM operand packed straight from the images, the input gradient as a
/// forward convolution with flipped weights) against version 2 (the im2col matrix written out,
/// col2im), the reference path: forward, input gradient and weight gradient, f64 to 1e-12 and
/// f32 to 1e-5 relative, over strides, paddings (including one too large for the flipped form),
/// conv groups, 1×1 and rectangular kernels, images batched per GEMM (nb &gt; 1 with a partial
/// last group) and one image per GEMM (nb = 1).
/// </summary>
public sealed class CpuConvImplicitTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int> Geometries() => new()
    {
        // N, C, H, W, K, R, S, stride, pad; groups = 2 when C and K are even and > 2
        { 13, 3, 9, 9, 5, 3, 3, 1, 1 },
        { 13, 4, 6, 7, 6, 3, 3, 2, 1 },
        { 13, 6, 5, 5, 4, 1, 1, 1, 0 },
        { 13, 2, 4, 4, 3, 2, 2, 1, 0 },
        { 9, 4, 8, 8, 8, 3, 3, 1, 2 },
        { 9, 3, 7, 7, 4, 3, 3, 1, 3 },
        { 5, 3, 17, 19, 4, 3, 3, 1, 1 },
        { 5, 2, 11, 10, 3, 3, 2, 2, 0 },
        { 7, 40, 6, 6, 36, 3, 3, 1, 1 },
        { 4, 32, 6, 6, 8, 3, 3, 2, 1 },
        { 5, 256, 5, 5, 8, 3, 3, 1, 1 },
        { 3, 130, 9, 7, 5, 3, 3, 1, 2 },
    };

    // The batch grows with the core count, because nb (images per GEMM) is capped at
    // ⌈N / (2·cores)⌉: N = n·q + q − 1 with q = ⌊cores / 2⌋ keeps N = n on 2 cores and, on any
    // count, the same nb > 1 with a partial last group where n = 13 or 7 give one on 2 cores.
    static Conv2dGeometry Geometry(int n, int c, int h, int w, int k, int r, int s, int stride, int pad)
    {
        int q = Math.Max(1, Environment.ProcessorCount / 2);
        return new(n * q + q - 1, c, h, w, k, r, s, stride, stride, pad, pad, c % 2 == 0 && k % 2 == 0 && c > 2 && k > 2 ? 2 : 1);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Version3MatchesVersion2(int n, int c, int h, int w, int k, int r, int s, int stride, int pad)
    {
        var g = Geometry(n, c, h, w, k, r, s, stride, pad);
        Compare(g, DType.F64, 1e-12);
        Compare(g, DType.F32, 1e-5);
    }

    [Fact]
    public void CasesCoverEveryPath()
    {
        // The theory above must exercise image groups (nb > 1) and one image per GEMM, the implicit
        // weight gradient and version 2's (few channels), the flipped input gradient and col2im.
        var gs = Geometries().Select(row => (object[])row)
            .Select(a => Geometry((int)a[0], (int)a[1], (int)a[2], (int)a[3], (int)a[4], (int)a[5], (int)a[6], (int)a[7], (int)a[8]))
            .ToArray();
        Assert.Contains(gs, g => CpuBackend.ImagesPerGemm(g) == 1);
        Assert.Contains(gs, g => CpuBackend.ImagesPerGemm(g) > 1 && g.N % CpuBackend.ImagesPerGemm(g) != 0);
        Assert.Contains(gs, g => CpuBackend.ImplicitWeightGradient(g) && g.StrideH > 1);
        Assert.Contains(gs, g => CpuBackend.ImplicitWeightGradient(g) && CpuBackend.ImagesPerGemm(g) > 1);
        Assert.Contains(gs, g => !CpuBackend.ImplicitWeightGradient(g));
        Assert.Contains(gs, g => CpuBackend.BackwardInputAsForward(g) && g.PadH != 1);
        Assert.Contains(gs, g => CpuBackend.BackwardInputAsForward(g) && g.Groups > 1);
        Assert.Contains(gs, g => !CpuBackend.BackwardInputAsForward(g));
    }

    static void Compare(Conv2dGeometry g, DType dtype, double tolerance)
    {
        var cpu = CpuBackend.Instance;
        using var scope = TensorScope.Begin();
        var rng = new Generator(11);
        var x = Tensor.Normal(g.InputShape, 0, 1, rng, dtype, cpu);
        var wt = Tensor.Normal(g.WeightShape, 0, 1, rng, dtype, cpu);
        var bias = Tensor.Normal([g.K], 0, 1, rng, dtype, cpu);
        var dy = Tensor.Normal(g.OutputShape, 0, 1, rng, dtype, cpu);
        var results = new double[2][][];
        foreach (bool implicitIm2Col in (bool[])[false, true])
        {
            CpuBackend.ImplicitIm2Col = implicitIm2Col;
            try
            {
                var y = Tensor.Full(g.OutputShape, double.NaN, dtype, cpu);
                var dx = Tensor.Full(g.InputShape, double.NaN, dtype, cpu);
                var dw = Tensor.Full(g.WeightShape, double.NaN, dtype, cpu);
                cpu.Conv2dForward(g, x.Storage, wt.Storage, bias.Storage, y.Storage);
                cpu.Conv2dBackwardInput(g, dy.Storage, wt.Storage, dx.Storage);
                cpu.Conv2dBackwardWeight(g, x.Storage, dy.Storage, dw.Storage);
                results[implicitIm2Col ? 1 : 0] = [y.ToDoubles(), dx.ToDoubles(), dw.ToDoubles()];
            }
            finally
            {
                CpuBackend.ImplicitIm2Col = true;
            }
        }

        string[] names = ["forward", "input gradient", "weight gradient"];
        for (int i = 0; i < 3; i++)
        {
            double[] expected = results[0][i], actual = results[1][i];
            double scale = expected.Max(Math.Abs);
            for (int j = 0; j < expected.Length; j++)
                Assert.True(Math.Abs(expected[j] - actual[j]) <= tolerance * Math.Max(1, scale),
                    $"{g} {dtype} {names[i]}[{j}]: version 3 {actual[j]} vs version 2 {expected[j]}");
        }
    }
}
