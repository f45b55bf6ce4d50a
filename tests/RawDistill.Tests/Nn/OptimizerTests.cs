namespace RawDistill.Tests.Nn;

using RawDistill.Autodiff;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>Optimizer behaviour beyond PyTorch parity: schedules, per-tensor rates, non-weight tensors, training a model.</summary>
[Trait("Category", "Nn")]
public sealed class OptimizerTests
{
    [Fact]
    public void SchedulesCompose()
    {
        var s = LrSchedule.Warmup(2, LrSchedule.Cosine(4, minFactor: 0.1));
        Assert.Equal([0.5, 1.0, 1.0, 0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI / 4)), 0.55], Enumerable.Range(0, 5).Select(k => s.Factor(k)), new Tol());
        Assert.Equal(0.1, s.Factor(100), 12);
        Assert.Equal(0.25, LrSchedule.Step(2, 0.5).Factor(5), 12);
        Assert.Equal(1e-3, LrSchedule.Linear(1, 1e-3, 10).Factor(10), 12);
        Assert.Equal(0.5 * 0.25, LrSchedule.Product(LrSchedule.Step(1, 0.5), LrSchedule.Step(1, 0.25)).Factor(1), 12);
    }

    sealed class Tol : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) < 1e-12;

        public int GetHashCode(double obj) => 0;
    }

    [Fact]
    public void LrScaleActsLikeAParameterGroupWithItsOwnRate()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From([1f, 2f, 3f], 3);
        var b = Tensor.From([1f, 2f, 3f], 3);
        var g = Tensor.From([0.5f, -1f, 2f], 3);
        using var full = new Sgd([a], lr: 0.05, momentum: 0.9);
        using var scaled = new Sgd([b], lr: 0.1, momentum: 0.9);
        scaled.LrScales[0] = 0.5;
        for (int k = 0; k < 3; k++)
        {
            full.Step([g]);
            scaled.Step([g]);
        }
        Assert.Equal(a.ToArray<float>(), b.ToArray<float>());
    }

    [Fact]
    public void TrainsAModelAndItsInputsWithExplicitGradients()
    {
        // A few full-batch steps of MSE regression lower the loss; AdamW on the images too (KRR-ST style).
        using var scope = TensorScope.Begin();
        using var model = new ConvNet(new ConvNetConfig(new ImageShape(1, 12), [4], ConvNorm.Batch, ConvPool.Avg, true, null, 3), new Generator(3));
        var x = Tensor.Normal([8, 1, 12, 12], 0, 1, new Generator(4));
        x.RequiresGrad = true;
        var y = Tensor.Normal([8, 3], 0, 1, new Generator(5));
        using var sgd = new Sgd(model.Parameters(), 0.05, momentum: 0.9, weightDecay: 1e-3);
        using var adam = new AdamW([x], 1e-2, weightDecay: 0);
        double first = 0, last = 0;
        for (int k = 0; k < 15; k++)
        {
            using var step = TensorScope.Begin();
            var loss = Ops.Mse(model.Forward(x), y);
            var grads = Autograd.Grad([loss], [.. model.Parameters(), x]);
            sgd.Step(grads[..^1]);
            adam.Step([grads[^1]]);
            if (k == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < 0.7 * first, $"loss {first} → {last}");
    }

    [Fact]
    public void StrictLoadToleratesMissingBatchCounters()
    {
        using var scope = TensorScope.Begin();
        using var a = new BatchNorm1d(4);
        var source = StateDictIO.ToEntries(a).Where(e => !e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToDictionary(e => e.Name);
        using var b = new BatchNorm1d(4);
        var report = StateDictIO.Load(b, source);
        Assert.Equal(["num_batches_tracked"], report.Missing);
    }
}
