namespace RawDistill.Tests.Methods;

using RawDistill.Autodiff;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Eval;
using RawDistill.Methods.KrrSt;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// KRR-ST's outer step against PyTorch and finite differences, bit-exact resume, the
/// NaN/Cholesky stop that keeps the last checkpoint, and a tiny run that writes every output.
/// </summary>
public sealed class KrrStDistillerTests
{
    const int Size = 8, D = 5;

    static SafetensorsFile Fixture() => Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "krr", "krr_step.safetensors"));

    /// <summary>N random 1×8×8 images with labels.</summary>
    static ImageDataset Data(int n, ulong seed = 1)
    {
        var rng = new Generator(seed);
        var px = new float[n * Size * Size];
        rng.FillUniform(px);
        var bytes = px.Select(v => (byte)(v * 255)).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        return new ImageDataset("toy", bytes, n, 1, Size, Size, labels, 2);
    }

    /// <summary>g: a fixed linear map of the normalized pixels to D dimensions.</summary>
    sealed class LinearTeacher : IDisposable
    {
        readonly Tensor _w;
        public int Calls;
        public int NanFromCall = int.MaxValue;

        public LinearTeacher()
        {
            var w = new float[Size * Size * D];
            new Generator(9).FillNormal(w);
            for (int i = 0; i < w.Length; i++) w[i] *= 0.2f;
            using var scope = TensorScope.Begin();
            _w = Tensor.From<float>(w, [Size * Size, D]).Keep();
        }

        public Tensor Embed(Tensor x)
        {
            Calls++;
            var y = Ops.MatMul(Ops.Reshape(x, [x.Shape[0], Size * Size]), _w);
            return Calls >= NanFromCall ? Ops.Mul(y, double.NaN) : y;
        }

        public void Dispose() => _w.Dispose();
    }

    static KrrStConfig Tiny(int steps = 6) => new()
    {
        SyntheticCount = 6,
        RealBatch = 10,
        PoolSize = 2,
        MaxSteps = 3,
        Lr = 1e-2,
        Steps = steps,
        Widths = [4, 8],
        CheckpointEvery = 2,
        Seed = 5,
    };

    static readonly NormalizationStats Norm = new([0.3], [0.25]);

    static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rawdistill-krr-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    [Trait("Category", "PyTorchParity")]
    public void OneOuterStepLossAndGradientsMatchPyTorch()
    {
        var f = Fixture();
        using var teacher = new LinearTeacher();
        var cfg = Tiny() with { PoolSize = 1 };
        using var d = new KrrStDistiller(cfg, Data(20), new NormalizationStats(f.GetF64("krr_step.mean"), f.GetF64("krr_step.std")), teacher.Embed, D, "test");
        StateDictIO.Load(d.Pool[0].Net, f, strict: true, prefix: "krr_step.net.");
        using var scope = TensorScope.Begin();
        d.XSyn.CopyFrom(f.ReadTensor("krr_step.x_syn"));
        d.YSyn.CopyFrom(f.ReadTensor("krr_step.y_syn"));
        var (loss, gx, gy) = d.LossAndGradients(0, f.ReadTensor("krr_step.x_real"), f.ReadTensor("krr_step.y_real"));
        double expected = f.GetF64("krr_step.y")[0];
        Assert.True(Math.Abs(loss - expected) <= 1e-4 * Math.Abs(expected), $"loss {loss:R} vs PyTorch {expected:R}");
        Close(f.GetF64("krr_step.grad_x_syn"), gx.ToArray<float>(), 2e-3, "∂L/∂X_s");
        Close(f.GetF64("krr_step.grad_y_syn"), gy.ToArray<float>(), 2e-3, "∂L/∂Y_s");
    }

    [Fact]
    public void OuterStepBackwardRunsNoConvWeightGradient()
    {
        // The pool model's parameters require gradients (they are trained between outer
        // steps), but the outer step asks only for ∂L/∂X_s and ∂L/∂Y_s: no conv weight
        // gradient, no bias or norm-parameter gradient may be computed.
        using var teacher = new LinearTeacher();
        using var d = new KrrStDistiller(Tiny() with { PoolSize = 1 }, Data(20), Norm, teacher.Embed, D, "test");
        using var scope = TensorScope.Begin();
        var xr = d.Normalize(Tensor.Uniform([10, 1, Size, Size], 0, 1, new Generator(4)));
        var yr = Tensor.Uniform([10, D], -1, 1, new Generator(5));
        using (var ops = OpCounter.Begin())
        {
            d.LossAndGradients(0, xr, yr);
            Assert.Equal(0, ops["conv2d_backward_weight"]);
            Assert.True(ops["conv2d_backward_input"] >= 2, $"the X_s gradient goes through both convolutions: {ops["conv2d_backward_input"]}");
        }
        // The same graph differentiated for the parameters too does run them: the counter sees them.
        var net = d.Pool[0].Net;
        net.Eval();
        var loss = KrrOuterLoss.Compute(net.Embed(d.Normalize(d.XSyn)), net.Embed(xr), d.YSyn, yr, 1e-2);
        using (var ops = OpCounter.Begin())
        {
            Autograd.Grad([loss], [d.XSyn, .. net.Parameters()]);
            Assert.Equal(4, ops["conv2d_backward_weight"]); // two convolutions, each on the synthetic and the real branch
        }
    }

    static void Close(double[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * scale, $"{what}[{i}]: got {actual[i]:R}, expected {expected[i]:R} (scale {scale:G3})");
    }

    [Fact]
    [Trait("Category", "GradCheck")]
    public void OuterLossGradientsThroughTheConvNetMatchFiniteDifferencesInFloat64()
    {
        // The same composition as the outer step (normalize → ConvNet embed (eval) → KRR loss), in f64.
        // λ = ridge·tr(K_ss) is a constant for the autodiff but not for finite differences: a tiny
        // ridge makes its derivative negligible (p = 28 features > m = 4 keeps K_ss well conditioned).
        using var scope = TensorScope.Begin();
        var net = new ConvNet(new ConvNetConfig(new ImageShape(1, 6), [3], ConvNorm.Batch, ConvPool.Avg, true, null, 0), new Generator(3));
        net.To(DType.F64);
        net.Eval();
        var rng = new Generator(11);
        Tensor Rand(int[] shape)
        {
            var v = new double[Shape.Numel(shape)];
            rng.FillUniform(v);
            return Tensor.From<double>(v, shape);
        }
        var xs = Rand([4, 1, 6, 6]);
        var ys = Rand([4, 2]);
        var xr = Rand([5, 1, 6, 6]);
        var yr = Rand([5, 2]);
        xs.RequiresGrad = true;
        ys.RequiresGrad = true;
        Tensor Loss(Tensor x, Tensor y) =>
            KrrOuterLoss.Compute(net.Embed(Ops.Mul(Ops.Add(x, -0.3), 4.0)), net.Embed(Ops.Mul(Ops.Add(xr, -0.3), 4.0)), y, yr, 1e-10);
        var g = Autograd.Grad([Loss(xs, ys)], [xs, ys]);
        using var _ = GradMode.NoGrad();
        foreach (var (input, grad, other, isX) in new[] { (xs, g[0], ys, true), (ys, g[1], xs, false) })
        {
            var v = input.ToArray<double>();
            var analytic = grad.ToArray<double>();
            for (int i = 0; i < v.Length; i += Math.Max(1, v.Length / 12))
            {
                const double h = 1e-6;
                double Eval(double delta)
                {
                    var w = (double[])v.Clone();
                    w[i] += delta;
                    var t = Tensor.From<double>(w, input.Shape);
                    return (isX ? Loss(t, other) : Loss(other, t)).Item();
                }
                double fd = (Eval(h) - Eval(-h)) / (2 * h);
                Assert.True(Math.Abs(fd - analytic[i]) <= 1e-6 + 1e-5 * Math.Abs(fd), $"{(isX ? "X_s" : "Y_s")}[{i}]: autodiff {analytic[i]:R}, FD {fd:R}");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ResumeAfterSomeStepsEqualsAnUninterruptedRunBitForBit(bool augment)
    {
        var cfg = Tiny(7) with { Augment = augment };
        var data = Data(30);
        using var teacher = new LinearTeacher();
        string dir = TempDir();
        try
        {
            float[] xA, yA;
            IReadOnlyList<int> stepsA;
            using (var a = new KrrStDistiller(cfg, data, Norm, teacher.Embed, D, "t"))
            {
                for (int i = 0; i < 7; i++) a.Step();
                (xA, yA, stepsA) = (a.XSyn.ToArray<float>(), a.YSyn.ToArray<float>(), a.Pool.Steps.ToArray());
                Assert.True(a.Pool.Creations > cfg.PoolSize); // T_max = 3: re-initializations happened
            }
            string ckpt = Path.Combine(dir, "c.safetensors");
            using (var b = new KrrStDistiller(cfg, data, Norm, teacher.Embed, D, "t"))
            {
                for (int i = 0; i < 4; i++) b.Step();
                b.SaveCheckpoint(ckpt);
            }
            using var c = KrrStDistiller.Resume(ckpt, data, teacher.Embed, D);
            Assert.Equal(4, c.StepsDone);
            for (int i = 0; i < 3; i++) c.Step();
            Assert.Equal(xA, c.XSyn.ToArray<float>());
            Assert.Equal(yA, c.YSyn.ToArray<float>());
            Assert.Equal(stepsA, c.Pool.Steps.ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void NanLossStopsTheRunWithAClearMessageAndKeepsTheLastGoodCheckpoint()
    {
        // With augmentation the teacher runs every step; from its 6th call it returns NaN.
        var cfg = Tiny(10) with { Augment = true };
        var data = Data(30);
        using var teacher = new LinearTeacher();
        string dir = TempDir();
        try
        {
            using (var d = new KrrStDistiller(cfg, data, Norm, teacher.Embed, D, "t"))
            {
                teacher.NanFromCall = teacher.Calls + 5; // steps 1..4 fine, step 5 NaN
                var e = Assert.Throws<KrrStDivergedException>(() => KrrStRun.Run(d, dir));
                Assert.Contains("step 5", e.Message);
                Assert.Contains("Remedy", e.Message);
            }
            var meta = Safetensors.Read(Path.Combine(dir, KrrStRun.CheckpointFile)).Metadata;
            Assert.Equal("4", meta["step"]);
            teacher.NanFromCall = int.MaxValue;
            using var resumed = KrrStDistiller.Resume(Path.Combine(dir, KrrStRun.CheckpointFile), data, teacher.Embed, D);
            Assert.Equal(4, resumed.StepsDone);
            Assert.True(resumed.XSyn.ToArray<float>().All(float.IsFinite));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void FailedFactorizationStopsTheStepWithTheRemedy()
    {
        using var teacher = new LinearTeacher();
        using var d = new KrrStDistiller(Tiny(), Data(30), Norm, teacher.Embed, D, "t");
        d.Step();
        var before = d.YSyn.ToArray<float>();
        using (var scope = TensorScope.Begin())
            d.XSyn.CopyFrom(Tensor.Full(d.XSyn.Shape, double.NaN));
        var e = Assert.Throws<KrrStDivergedException>(() => d.Step());
        Assert.Contains("--ridge", e.Message + " " + e.InnerException?.Message);
        Assert.Equal(before, d.YSyn.ToArray<float>()); // no update from the failed step
        Assert.Equal(1, d.StepsDone);
    }

    [Fact]
    public void TinyRunWritesEveryOutputFileAndTheyLoad()
    {
        var data = Data(30);
        using var teacher = new LinearTeacher();
        string dir = TempDir();
        try
        {
            var cfg = Tiny(4);
            using (var d = new KrrStDistiller(cfg, data, Norm, teacher.Embed, D, "abc123"))
                KrrStRun.Run(d, dir);
            foreach (var name in new[] { KrrStRun.DistilledFile, KrrStRun.CheckpointFile, KrrStRun.MetricsFile, KrrStRun.GridFile, KrrStRun.RandomGridFile, KrrStRun.LossPlotFile })
                Assert.True(File.Exists(Path.Combine(dir, name)), name);
            var f = Safetensors.Read(Path.Combine(dir, KrrStRun.DistilledFile));
            Assert.Equal([6, 1, Size, Size], f["x_syn"].Shape);
            Assert.Equal([6, D], f["y_syn"].Shape);
            Assert.Equal("abc123", f.Metadata["teacher_sha256"]);
            Assert.Equal("4", f.Metadata["step"]);
            Assert.Equal(cfg, KrrStConfig.FromJson(f.Metadata["config"]) with { Widths = cfg.Widths });
            Assert.Equal(Norm.Mean, NormalizationStats.FromJson(f.Metadata[NormalizationStats.MetadataKey]).Mean);
            var metrics = File.ReadAllLines(Path.Combine(dir, KrrStRun.MetricsFile));
            Assert.Equal("step,loss,lr,seconds", metrics[0]);
            Assert.Equal(5, metrics.Length);
            foreach (var png in new[] { KrrStRun.GridFile, KrrStRun.RandomGridFile, KrrStRun.LossPlotFile })
                Assert.True(File.ReadAllBytes(Path.Combine(dir, png)).AsSpan(0, 8).SequenceEqual(Png.Signature), png);

            // The evaluation on the distilled set and the baselines writes its report.
            var xs = f.GetF32("x_syn");
            var ys = f.GetF32("y_syn");
            var sets = new List<EvalSetSource> { new("distilled", _ => (xs, ys)), new("no pre-training", _ => null) };
            var results = PretrainEvaluation.Run(sets, [EvalArchitecture.ConvNet(new ConvNetConfig(new ImageShape(1, Size), [4, 8], ConvNorm.Batch))], Norm, data, Data(12, 7),
                [0.5, 1], [0UL, 1UL], new PretrainOptions(2, Batch: 4));
            Assert.Equal(2 * 2 * 2, results.Count);
            string report = PretrainEvaluation.WriteReport(dir, results, "test");
            Assert.Contains("| distilled |", File.ReadAllText(report));
            Assert.True(File.Exists(Path.Combine(dir, "results.csv")));
            Assert.True(File.Exists(Path.Combine(dir, "results.json")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
