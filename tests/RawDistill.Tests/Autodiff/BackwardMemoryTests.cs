namespace RawDistill.Tests.Autodiff;

using RawDistill.Autodiff;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;
using static GradCheck;

/// <summary>
/// What a backward call leaves behind and what it computes: without createGraph only the
/// requested gradients survive it; slices of a flat vector get one joined gradient, not a
/// padded one each; the memory meter counts what tensors hold.
/// </summary>
[Collection("memory meter")]
public sealed class BackwardMemoryTests
{
    [Fact]
    public void PlainBackwardLeavesOnlyTheRequestedGradients()
    {
        using var scope = TensorScope.Begin();
        var x = Randn(1, [32, 48]);
        var w1 = Randn(2, [48, 48], 0.2);
        var w2 = Randn(3, [48, 8], 0.2);
        foreach (var t in new[] { x, w1, w2 }) t.RequiresGrad = true;
        var h = Ops.Relu(Ops.MatMul(x, w1));
        h = Ops.Add(Ops.Mul(h, h), Ops.Sigmoid(h)); // h used twice: accumulation
        var loss = Ops.Sum(Ops.Square(Ops.MatMul(h, w2)));
        var meter = x.Backend.Memory;
        long before = meter.LiveBytes;
        var g = Autograd.Grad([loss], [x, w2]);
        long left = meter.LiveBytes - before;
        Assert.Equal(g[0].Storage.Bytes + g[1].Storage.Bytes, left);
        int scoped = scope.Count;
        // And they are right: against finite differences of the same function.
        Check("relu/mul/sigmoid chain", xs =>
        {
            var hh = Ops.Relu(Ops.MatMul(xs[0], xs[1]));
            hh = Ops.Add(Ops.Mul(hh, hh), Ops.Sigmoid(hh));
            return Ops.Sum(Ops.Square(Ops.MatMul(hh, xs[2])));
        }, [Randn(1, [4, 6]), Randn(2, [6, 6], 0.2), Randn(3, [6, 2], 0.2)], [true, false, true]);
        Assert.True(scoped > 0);
    }

    [Fact]
    public void PlainBackwardPeakIsBelowKeepingEveryTemporary()
    {
        // A chain of 20 element-wise ops on a 1 MiB tensor: freed as it goes, the backward
        // holds a handful of gradients at once, not twenty-odd.
        using var scope = TensorScope.Begin();
        var x = Randn(5, [256, 512]);
        x.RequiresGrad = true;
        var h = x;
        for (int i = 0; i < 20; i++) h = Ops.Tanh(Ops.Mul(h, 1.01));
        var loss = Ops.Sum(h);
        var meter = x.Backend.Memory;
        long tensorBytes = x.Storage.Bytes;
        meter.ResetPeak();
        long before = meter.LiveBytes;
        Autograd.Grad([loss], [x]);
        long peak = meter.PeakBytes - before;
        Assert.True(peak <= 6 * tensorBytes, $"backward peak {peak} B is {peak / (double)tensorBytes:F1} tensors of {tensorBytes} B");
    }

    [Fact]
    public void FlatParameterGradientIsJoinedNotPadded()
    {
        using var scope = TensorScope.Begin();
        using var net = new ConvNet(new ConvNetConfig(new ImageShape(1, 8), [4, 4], ConvNorm.Instance, ConvPool.Avg, true, null, 3), new Generator(1));
        net.To(DType.F64);
        var flat = net.FlattenParameters();
        flat.RequiresGrad = true;
        var x = Randn(7, [2, 1, 8, 8]);
        Tensor[] g;
        using (var ops = OpCounter.Begin())
        {
            var loss = Ops.Sum(Ops.Square(net.Forward(x, net.UnflattenParameters(flat))));
            g = Autograd.Grad([loss], [flat]);
            Assert.Equal(0, ops["slice_backward"]);
            Assert.Equal(1, ops["concat"]);
        }
        // The same gradient per named parameter, concatenated, is the reference.
        var ps = net.Parameters().ToArray();
        var perParam = Autograd.Grad([Ops.Sum(Ops.Square(net.Forward(x)))], ps);
        var expected = Ops.Concat(perParam.Select(p => Ops.Reshape(p, -1)).ToArray(), 0).ToArray<double>();
        var actual = g[0].ToArray<double>();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 12);
    }

    [Fact]
    public void RecordedGroupNormKeepsOnlyItsOutputAndStatistics()
    {
        using var scope = TensorScope.Begin();
        var x = Randn(30, [4, 8, 16, 16]);
        var gamma = Uniform(31, [8], 0.5, 1.5);
        x.RequiresGrad = true;
        gamma.RequiresGrad = true;
        var meter = x.Backend.Memory;
        long before = meter.LiveBytes;
        var y = Ops.GroupNorm(x, 8, gamma, null);
        Assert.Equal(y.Storage.Bytes + 2 * 4 * 8 * sizeof(double), meter.LiveBytes - before);
    }

    [Fact]
    public void MemoryMeterCountsLiveAndPeakBytes()
    {
        var meter = Tensor.DefaultBackend.Memory;
        long start = meter.LiveBytes;
        meter.ResetPeak();
        var a = Tensor.Zeros([1000]);
        var b = Tensor.Zeros([500], DType.F64);
        Assert.Equal(start + 4000 + 4000, meter.LiveBytes);
        var view = Ops.Reshape(a, 10, 100); // a view shares a's memory: nothing new
        Assert.Equal(start + 8000, meter.LiveBytes);
        a.Dispose();
        Assert.Equal(start + 8000, meter.LiveBytes); // the view still holds it
        view.Dispose();
        b.Dispose();
        Assert.Equal(start, meter.LiveBytes);
        Assert.True(meter.PeakBytes >= start + 8000);
        meter.ResetPeak();
        Assert.Equal(start, meter.PeakBytes);
        Assert.Equal("1.5 KiB", RawDistill.Backends.MemoryMeter.Format(1536));
    }
}
