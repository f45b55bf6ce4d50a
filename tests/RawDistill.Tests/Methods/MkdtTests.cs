namespace RawDistill.Tests.Methods;

using System.Text.Json;
using RawDistill.Autodiff;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Methods.Mkdt;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// MKDT stage 3: the outer gradient (X, Y, η) against PyTorch's create_graph=True unroll and
/// f64 finite differences, rematerialized = full tape; two expert SGD steps against PyTorch.
/// </summary>
public sealed class MkdtGradientTests
{
    static SafetensorsFile Fixture() => Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "mkdt", "mkdt.safetensors"));

    static ConvNet Student()
    {
        var net = new ConvNet(new ConvNetConfig(new ImageShape(1, 8), [3, 3], ConvNorm.Instance, ConvPool.Avg, true, null, 4), new Generator(1));
        net.To(DType.F64);
        return net;
    }

    static Tensor[] Rows(SafetensorsFile f, string name)
    {
        var b = f.GetI32(name);
        int cols = f[name].Shape[1];
        return Enumerable.Range(0, b.Length / cols).Select(k => Tensor.From<int>(b.AsSpan(k * cols, cols), [cols])).ToArray();
    }

    static void Close(double[] expected, double[] actual, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * scale, $"[{i}] expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Fact]
    public void StudentParameterOrderIsTheFixtures()
    {
        using var net = Student();
        var names = JsonSerializer.Deserialize<string[]>(Fixture().Metadata["param_names"])!;
        Assert.Equal(names, net.NamedParameters().Select(p => p.Name).ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OuterGradientMatchesPyTorch(bool rematerialize)
    {
        var f = Fixture();
        using var scope = TensorScope.Begin();
        using var net = Student();
        var x = f.ReadTensor("outer.x");
        var y = f.ReadTensor("outer.y");
        var eta = f.ReadTensor("outer.eta");
        foreach (var t in new[] { x, y, eta }) t.RequiresGrad = true;
        var loss = new TrajectoryMatcher(net).Loss(f.ReadTensor("outer.theta_start"), f.ReadTensor("outer.theta_target"), x, y, eta, Rows(f, "outer.batches"), rematerialize);
        Assert.Equal(f.GetF64("outer.loss")[0], loss.Item(), 10);
        var g = Autograd.Grad([loss], [x, y, eta]);
        Close(f.GetF64("outer.grad_x"), g[0].ToArray<double>(), 1e-9);
        Close(f.GetF64("outer.grad_y"), g[1].ToArray<double>(), 1e-9);
        Close(f.GetF64("outer.grad_eta"), g[2].ToArray<double>(), 1e-9);
    }

    [Fact]
    public void OuterGradientMatchesFiniteDifferences()
    {
        var f = Fixture();
        using var scope = TensorScope.Begin();
        using var net = Student();
        var matcher = new TrajectoryMatcher(net);
        var t0 = f.ReadTensor("outer.theta_start");
        var tT = f.ReadTensor("outer.theta_target");
        var batches = Rows(f, "outer.batches");
        var x = f.ReadTensor("outer.x");
        var y = f.ReadTensor("outer.y");
        var eta = Tensor.Scalar(0.05, DType.F64); // a smaller step than the fixture's: a smoother loss for differences
        foreach (var t in new[] { x, y, eta }) t.RequiresGrad = true;
        var g = Autograd.Grad([matcher.Loss(t0, tT, x, y, eta, batches)], [x, y, eta]);

        double L(Tensor xv, Tensor yv, Tensor ev)
        {
            using var s = TensorScope.Begin();
            using var _ = GradMode.NoGrad();
            return matcher.Loss(t0, tT, xv, yv, ev, batches).Item();
        }
        var rng = new Generator(3);
        const double h = 1e-5;
        Tensor Dir(Tensor t) => Tensor.Normal(t.Shape.ToArray(), 0, 1, rng, DType.F64);
        Tensor Detached(Tensor t) => Ops.Detach(t);
        var vx = Dir(x);
        var vy = Dir(y);
        double fdX = (L(Ops.Add(Detached(x), Ops.Mul(vx, h)), Detached(y), Detached(eta)) - L(Ops.Sub(Detached(x), Ops.Mul(vx, h)), Detached(y), Detached(eta))) / (2 * h);
        double fdY = (L(Detached(x), Ops.Add(Detached(y), Ops.Mul(vy, h)), Detached(eta)) - L(Detached(x), Ops.Sub(Detached(y), Ops.Mul(vy, h)), Detached(eta))) / (2 * h);
        double fdEta = (L(Detached(x), Detached(y), Tensor.Scalar(0.05 + h, DType.F64)) - L(Detached(x), Detached(y), Tensor.Scalar(0.05 - h, DType.F64))) / (2 * h);
        double adX = Ops.Sum(Ops.Mul(g[0], vx)).Item(), adY = Ops.Sum(Ops.Mul(g[1], vy)).Item(), adEta = g[2].Item();
        Assert.True(Math.Abs(fdX - adX) <= 1e-6 * Math.Max(1, Math.Abs(adX)), $"X: fd {fdX:R} vs {adX:R}");
        Assert.True(Math.Abs(fdY - adY) <= 1e-6 * Math.Max(1, Math.Abs(adY)), $"Y: fd {fdY:R} vs {adY:R}");
        Assert.True(Math.Abs(fdEta - adEta) <= 1e-6 * Math.Max(1, Math.Abs(adEta)), $"η: fd {fdEta:R} vs {adEta:R}");
    }

    [Fact]
    public void TwoExpertSgdStepsMatchPyTorch()
    {
        var f = Fixture();
        using var scope = TensorScope.Begin();
        using var net = Student();
        net.LoadFlatParameters(f.ReadTensor("expert.theta0"));
        using var sgd = new Sgd(net.Parameters(), 0.1, momentum: 0.9, weightDecay: 1e-4);
        var x = f.ReadTensor("expert.x");
        var y = f.ReadTensor("expert.y");
        var batches = Rows(f, "expert.batches");
        var ps = net.Parameters().ToArray();
        for (int s = 0; s < 2; s++)
        {
            var loss = Ops.Mse(net.Forward(Ops.IndexSelect(x, batches[s])), Ops.IndexSelect(y, batches[s]));
            sgd.Step(Autograd.Grad([loss], ps));
            Close(f.GetF64($"expert.theta{s + 1}"), net.FlattenParameters().ToArray<double>(), 1e-12);
        }
    }
}

/// <summary>MKDT stage 3: the distiller on a toy store — outputs, bit-exact resume, the NaN/η stops, bad inputs.</summary>
public sealed class MkdtDistillerTests
{
    static (ExpertStore Store, RawDistill.Data.ImageDataset Images, float[] Targets) Setup(string dir, int experts = 2, int epochs = 3)
    {
        var (images, targets) = ExpertTests.Toy();
        var data = RegressionData.FromDataset(images, targets, ExpertTests.Norm);
        var store = ExpertStore.OpenOrCreate(dir, ExpertTrainer.Manifest(ExpertTests.Tiny(experts, epochs), "h", images, ExpertTests.Norm, 3));
        for (int k = 0; k < experts; k++) ExpertTrainer.Train(store, k, data);
        return (store, images, targets);
    }

    static MkdtConfig Tiny(int iterations = 4) => new()
    {
        SyntheticCount = 4,
        Iterations = iterations,
        SynSteps = 3,
        ExpertEpochs = 2,
        MaxStart = 2,
        Batch = 2,
        LrImg = 10,
        LrY = 10,
        LrLr = 1e-3,
        EtaInit = 0.05,
        CheckpointEvery = 2,
        Seed = 4,
    };

    [Fact]
    public void RunWritesEverythingAndResumesBitExactly()
    {
        var dir = ExpertTests.TempDir();
        try
        {
            var (store, images, targets) = Setup(Path.Combine(dir, "experts"));
            string a = Path.Combine(dir, "a"), b = Path.Combine(dir, "b");
            using (var d = new MkdtDistiller(Tiny(), store, images, targets, "h"))
            {
                Assert.Equal(4, d.InitialIndices.Length);
                MkdtRun.Run(d, a);
            }
            foreach (var name in new[] { MkdtRun.DistilledFile, MkdtRun.CheckpointFile, MkdtRun.MetricsFile, MkdtRun.GridFile, MkdtRun.InitialGridFile, MkdtRun.LossPlotFile })
                Assert.True(File.Exists(Path.Combine(a, name)), name);
            var set = DistilledSet.Load(Path.Combine(a, MkdtRun.DistilledFile));
            Assert.Equal(DistillMethod.Mkdt, set.Method);
            Assert.True(set.Eta > 0);
            Assert.Equal("high-loss", set.Init);
            Assert.Equal(5, File.ReadAllLines(Path.Combine(a, MkdtRun.MetricsFile)).Length);

            // Stop after 2 iterations (the checkpoint), resume, finish: the same bits.
            using (var d = new MkdtDistiller(Tiny(2), store, images, targets, "h")) MkdtRun.Run(d, b);
            using (var d = MkdtDistiller.Resume(Path.Combine(b, MkdtRun.CheckpointFile), store, images, targets)) Assert.Equal(2, d.StepsDone);
            // Continue that run to the original run's 4 iterations.
            var ck = Safetensors.Read(Path.Combine(b, MkdtRun.CheckpointFile));
            var meta = ck.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
            meta["config"] = Tiny(4).ToJson();
            Safetensors.Write(Path.Combine(b, MkdtRun.CheckpointFile), ck.Entries, meta);
            using (var d = MkdtDistiller.Resume(Path.Combine(b, MkdtRun.CheckpointFile), store, images, targets)) MkdtRun.Run(d, b);
            var x = DistilledSet.Load(Path.Combine(b, MkdtRun.DistilledFile));
            Assert.Equal(set.X, x.X);
            Assert.Equal(set.Y, x.Y);
            Assert.Equal(set.Eta, x.Eta);
            Assert.Equal(File.ReadAllLines(Path.Combine(a, MkdtRun.MetricsFile)).Select(l => string.Join(',', l.Split(',').Take(3))),
                File.ReadAllLines(Path.Combine(b, MkdtRun.MetricsFile)).Select(l => string.Join(',', l.Split(',').Take(3))));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void NormalizedUpdateMovesEachElementAboutTheLearningRate()
    {
        var dir = ExpertTests.TempDir();
        try
        {
            var (store, images, targets) = Setup(Path.Combine(dir, "experts"));
            var config = Tiny(1) with { Update = MkdtUpdate.Normalized, LrImg = 1e-3, LrY = 1e-3, LrLr = 1e-3 };
            Assert.Equal(config, MkdtConfig.FromJson(config.ToJson()));
            using var d = new MkdtDistiller(config, store, images, targets, "h");
            var x0 = d.XSyn.ToArray<float>();
            var y0 = d.YSyn.ToArray<float>();
            d.Step();
            double Rms(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (p, q) => (double)(p - q) * (p - q)).Average());
            Assert.Equal(1e-3, Rms(d.XSyn.ToArray<float>(), x0), 4);
            Assert.Equal(1e-3, Rms(d.YSyn.ToArray<float>(), y0), 4);
            Assert.Equal(1e-3, Math.Abs(d.Eta.Item() - 0.05), 5);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void NanLossAndNonPositiveEtaStopWithARemedyAndKeepTheCheckpoint()
    {
        var dir = ExpertTests.TempDir();
        try
        {
            var (store, images, targets) = Setup(Path.Combine(dir, "experts"));
            string run = Path.Combine(dir, "run");
            using (var d = new MkdtDistiller(Tiny() with { LrLr = 1e6 }, store, images, targets, "h"))
            {
                var e = Assert.Throws<MkdtDivergedException>(() => MkdtRun.Run(d, run));
                Assert.True(e.Message.Contains("--lr-lr") || e.Message.Contains("--lr-img"), e.Message);
            }
            Assert.Equal("0", Safetensors.Read(Path.Combine(run, MkdtRun.CheckpointFile)).Metadata["step"]);
            using (var d = new MkdtDistiller(Tiny() with { EtaInit = 1e30 }, store, images, targets, "h"))
            {
                var e = Assert.Throws<MkdtDivergedException>(() => d.Step());
                Assert.Contains("Remedy", e.Message);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void BadInputsAreRefusedWithTheirData()
    {
        var dir = ExpertTests.TempDir();
        try
        {
            var (store, images, targets) = Setup(Path.Combine(dir, "experts"), experts: 1, epochs: 2);
            Assert.Contains("teacher", Assert.Throws<ArgumentException>(() => new MkdtDistiller(Tiny(), store, images, targets, "other")).Message);
            Assert.Contains("need 3", Assert.Throws<ArgumentException>(() => new MkdtDistiller(Tiny(), store, images, targets, "h")).Message);
            Assert.Contains("m = 40", Assert.Throws<ArgumentException>(() => new MkdtDistiller(Tiny() with { SyntheticCount = 40, MaxStart = 1 }, store, images, targets, "h")).Message);
            Assert.Contains("not on these", Assert.Throws<ArgumentException>(() =>
                new MkdtDistiller(Tiny() with { MaxStart = 1 }, store, CommonTests.Images(12, seed: 99), targets, "h")).Message);
            Assert.Throws<ArgumentException>(() => (Tiny() with { SynSteps = 0 }).Validate());
            Assert.Throws<ArgumentException>(() => HighLossInit.Parse("worst"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
