namespace RawDistill.Tests.Autodiff;

using RawDistill.Autodiff;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;
using static GradCheck;

/// <summary>
/// Rematerialized segments and the unrolled-SGD helper MKDT differentiates through:
/// the same numbers as the full tape (f64, 1e-10), finite differences, second order
/// through a checkpoint, and memory that does not grow with the unroll's activations.
/// </summary>
[Trait("Category", "SecondOrder")]
[Collection("memory meter")]
public sealed class RematerializationTests
{
    const int Images = 6, Batch = 2, Outputs = 2, Steps = 5;

    /// <summary>A tiny MKDT student: one conv block (instance norm, avg-pool) and a linear head, f64.</summary>
    static ConvNet Student()
    {
        var net = new ConvNet(new ConvNetConfig(new ImageShape(1, 6), [3], ConvNorm.Instance, ConvPool.Avg, true, null, Outputs), new Generator(7));
        net.To(DType.F64);
        return net;
    }

    /// <summary>Step k's inner loss: MSE on minibatch k mod 3 of (X, Y), through the functional call.</summary>
    static Tensor StepLoss(ConvNet net, Tensor theta, Tensor[] data, int k)
    {
        int first = Batch * (k % (Images / Batch));
        var rows = Tensor.From(Enumerable.Range(first, Batch).ToArray(), Batch);
        var xb = Ops.IndexSelect(data[0], rows);
        var yb = Ops.IndexSelect(data[1], rows);
        return Ops.Mse(net.Forward(xb, net.UnflattenParameters(theta)), yb);
    }

    /// <summary>MKDT's matching loss ‖θ_N − θ_T‖² / ‖θ₀ − θ_T‖² after the unroll.</summary>
    static Tensor MatchingLoss(ConvNet net, Tensor theta0, Tensor thetaT, Tensor x, Tensor y, Tensor eta, bool rematerialize)
    {
        var thetaN = UnrolledSgd.Run(theta0, eta, Steps, (th, d, k) => StepLoss(net, th, d, k), [x, y], rematerialize);
        var num = Ops.Sum(Ops.Square(Ops.Sub(thetaN, thetaT)));
        var den = Ops.Sum(Ops.Square(Ops.Sub(Ops.Detach(theta0), thetaT)));
        return Ops.Div(num, den);
    }

    static (Tensor Theta0, Tensor ThetaT, Tensor X, Tensor Y) Problem(ConvNet net)
    {
        var theta0 = net.FlattenParameters();
        var thetaT = Ops.Add(theta0, Randn(41, [(int)theta0.Numel], 0.05));
        return (theta0, thetaT, Randn(42, [Images, 1, 6, 6]), Randn(43, [Images, Outputs]));
    }

    [Fact]
    public void RematerializedUnrollEqualsTheFullTape()
    {
        using var scope = TensorScope.Begin();
        using var net = Student();
        var (theta0, thetaT, x, y) = Problem(net);
        var results = new List<double[]>[2];
        for (int r = 0; r < 2; r++)
        {
            var xs = Ops.Detach(x);
            var ys = Ops.Detach(y);
            var eta = Tensor.Scalar(0.3, DType.F64);
            var th0 = Ops.Clone(theta0);
            foreach (var t in new[] { xs, ys, eta, th0 }) t.RequiresGrad = true;
            var loss = MatchingLoss(net, th0, thetaT, xs, ys, eta, rematerialize: r == 0);
            var g = Autograd.Grad([loss], [xs, ys, eta, th0]);
            results[r] = [[loss.Item()], .. g.Select(t => t.ToArray<double>())];
        }
        string[] names = ["loss", "∂/∂X", "∂/∂Y", "∂/∂η", "∂/∂θ₀"];
        for (int i = 0; i < names.Length; i++)
        {
            double[] a = results[0][i], b = results[1][i];
            double scale = b.Max(Math.Abs);
            Assert.True(scale > 1e-6, $"{names[i]} is ~0 ({scale:G3}): the comparison would mean nothing");
            for (int j = 0; j < a.Length; j++)
                Assert.True(Math.Abs(a[j] - b[j]) <= 1e-10 * scale, $"{names[i]}[{j}]: rematerialized {a[j]:R} vs full tape {b[j]:R}");
        }
    }

    [Fact]
    public void RematerializedUnrollGradientMatchesFiniteDifferences()
    {
        using var scope = TensorScope.Begin();
        using var net = Student();
        var (theta0, thetaT, x, y) = Problem(net);
        // Every element of X, Y and η perturbed; relu kinks are avoided with probability ~1 at these seeds.
        Check("mkdt_matching_loss(X, Y, η)", xs => MatchingLoss(net, theta0, thetaT, xs[0], xs[1], xs[2], rematerialize: true),
            [x, y, Tensor.Scalar(0.3, DType.F64)], rtol: 1e-5, atol: 1e-7);
    }

    [Fact]
    public void CheckpointedSegmentHasExactFirstAndSecondOrderGradients()
    {
        static Tensor F(Tensor[] x) =>
            Ops.Sum(Ops.Square(Checkpoint.Run("tanh_matmul", a => Ops.Tanh(Ops.MatMul(a[0], a[1])), x[0], x[1])));
        Check("checkpoint(tanh(x·w))", F, [Randn(50, [3, 4]), Randn(51, [4, 2])]);
        GradGradCheck("checkpoint(tanh(x·w))", F, [Randn(52, [3, 4]), Randn(53, [4, 2])]);
    }

    [Fact]
    public void CheckpointedSegmentFreesItsGraphAndGivesTheSameGradient()
    {
        using var scope = TensorScope.Begin();
        var x = Randn(60, [64, 64]);
        var w = Randn(61, [64, 64], 0.1);
        x.RequiresGrad = true;
        static Tensor Deep(Tensor[] a)
        {
            var h = a[0];
            for (int i = 0; i < 8; i++) h = Ops.Tanh(Ops.MatMul(h, a[1]));
            return h;
        }
        var plain = Autograd.Grad([Ops.Sum(Deep([x, w]))], [x])[0].ToArray<double>();
        var meter = x.Backend.Memory;
        long before = meter.LiveBytes;
        var y = Checkpoint.Run("deep", Deep, x, w);
        long held = meter.LiveBytes - before;
        Assert.Equal(y.Storage.Bytes, held); // only the output survives the forward
        var remat = Autograd.Grad([Ops.Sum(y)], [x])[0].ToArray<double>();
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], remat[i], 12);
    }

    [Fact]
    public void UnrollMemoryGrowsBySnapshotsNotActivations()
    {
        // f32, wide enough that one step's activations dwarf θ: the rematerialized unroll's
        // peak grows by about one θ per extra step, the full tape's by every step's graph.
        long Peak(int steps, bool remat)
        {
            using var scope = TensorScope.Begin();
            using var net = new ConvNet(new ConvNetConfig(new ImageShape(1, 16), [8, 8], ConvNorm.Instance, ConvPool.Avg, true, null, Outputs), new Generator(3));
            var x = Tensor.Normal([32, 1, 16, 16], 0, 1, new Generator(4));
            var y = Tensor.Normal([32, Outputs], 0, 1, new Generator(5));
            var eta = Tensor.Scalar(0.1);
            foreach (var t in new[] { x, y, eta }) t.RequiresGrad = true;
            var theta0 = net.FlattenParameters();
            var meter = x.Backend.Memory;
            meter.ResetPeak();
            long start = meter.LiveBytes;
            var thetaN = UnrolledSgd.Run(theta0, eta, steps, (th, d, k) => Ops.Mse(net.Forward(d[0], net.UnflattenParameters(th)), d[1]), [x, y], remat);
            Autograd.Grad([Ops.Sum(Ops.Square(thetaN))], [x, y, eta]);
            return meter.PeakBytes - start;
        }
        long thetaBytes;
        using (var net = new ConvNet(new ConvNetConfig(new ImageShape(1, 16), [8, 8], ConvNorm.Instance, ConvPool.Avg, true, null, Outputs), new Generator(3)))
            thetaBytes = net.ParameterCount * sizeof(float);
        long remat4 = Peak(4, true), remat8 = Peak(8, true), full8 = Peak(8, false);
        Assert.True(remat8 - remat4 <= 6 * thetaBytes, $"rematerialized peak grew {remat8 - remat4} B from 4 to 8 steps; θ is {thetaBytes} B");
        Assert.True(remat8 * 2 < full8, $"rematerialized peak {remat8} B vs full tape {full8} B");
    }
}
