namespace RawDistill.Tests.Cuda;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cli.Bench;
using RawDistill.Tensors;

// The profiling surface of the CUDA backend (IProfilingBackend): events, L2 flush, block-size
// override, peaks, and the kernel bench's validation at every block size.
public partial class CudaDeviceTests
{
    [CudaFact]
    public void EventTimerTimesQueuedWorkAndNeedsAStart()
    {
        using var timer = Dev.CreateTimer();
        Assert.Throws<InvalidOperationException>(() => timer.Stop());
        using var scope = TensorScope.Begin();
        var x = Tensor.Zeros([1 << 18], DType.F32, Dev);
        var y = Tensor.Empty([1 << 18], DType.F32, Dev);
        timer.Start();
        for (int i = 0; i < 4; i++) Dev.Unary(UnaryOp.Exp, x.Storage, y.Storage, x.Numel);
        double ms = timer.Stop();
        Assert.True(ms > 0 && double.IsFinite(ms), $"elapsed {ms} ms for four kernels over 2^18 elements");
        // Reusable: a second interval on the same events.
        timer.Start();
        Dev.Unary(UnaryOp.Exp, x.Storage, y.Storage, x.Numel);
        Assert.True(timer.Stop() >= 0);
        Assert.All(y.ToArray<float>(), v => Assert.Equal(1f, v));
    }

    [CudaFact]
    public void L2FlushWritesTwiceTheReportedL2AndLeavesOtherMemoryAlone()
    {
        using var scope = TensorScope.Begin();
        var data = Enumerable.Range(0, 4096).Select(i => (float)i).ToArray();
        var t = Tensor.From<float>(data, [4096], Dev);
        long written = Dev.FlushL2();
        if (Dev.Peak.L2Bytes is { } l2) Assert.True(written >= 2 * l2, $"flushed {written} bytes for an L2 of {l2}");
        else Assert.Equal(RawDistill.Cuda.CudaBackend.FallbackFlushBytes, written);
        Assert.Equal(written, Dev.FlushL2());
        Dev.Synchronize();
        Assert.Equal(data, t.ToArray<float>());
    }

    [CudaFact]
    public void BlockSizeOverrideKeepsResultsAndOnlyAcceptsTheSweepSizes()
    {
        Assert.Null(Dev.BlockSizeOverride);
        Assert.Throws<ArgumentOutOfRangeException>(() => Dev.BlockSizeOverride = 100);
        Assert.Throws<ArgumentOutOfRangeException>(() => Dev.BlockSizeOverride = 2048);
        const int rows = 3, cols = 1000;
        var x = Enumerable.Range(0, rows * cols).Select(i => (float)Math.Sin(i)).ToArray();
        using var scope = TensorScope.Begin();
        var cx = Tensor.From<float>(x, [rows, cols], CpuBackend.Instance);
        var wantSum = Tensor.Empty([rows], DType.F32, CpuBackend.Instance);
        var wantSoft = Tensor.Empty([rows, cols], DType.F32, CpuBackend.Instance);
        CpuBackend.Instance.Reduce(ReduceOp.Sum, cx.Storage, rows, cols, 1, wantSum.Storage);
        CpuBackend.Instance.Softmax(cx.Storage, rows, cols, wantSoft.Storage, false);
        try
        {
            foreach (var block in Dev.BlockSizes)
            {
                Dev.BlockSizeOverride = block;
                var dx = Tensor.From<float>(x, [rows, cols], Dev);
                var sum = Tensor.Empty([rows], DType.F32, Dev);
                var soft = Tensor.Empty([rows, cols], DType.F32, Dev);
                var exp = Tensor.Empty([rows, cols], DType.F32, Dev);
                Dev.Reduce(ReduceOp.Sum, dx.Storage, rows, cols, 1, sum.Storage);
                Dev.Softmax(dx.Storage, rows, cols, soft.Storage, false);
                Dev.Unary(UnaryOp.Affine, dx.Storage, exp.Storage, rows * cols, 2, 1);
                var s = sum.ToArray<float>();
                var w = wantSum.ToArray<float>();
                for (int i = 0; i < rows; i++) Assert.True(Math.Abs(s[i] - w[i]) <= 1e-4 + 1e-5 * Math.Abs(w[i]), $"block {block}: sum[{i}] {s[i]} vs {w[i]}");
                var so = soft.ToArray<float>();
                var ws = wantSoft.ToArray<float>();
                for (int i = 0; i < so.Length; i++) Assert.True(Math.Abs(so[i] - ws[i]) <= 1e-6 + 1e-4 * ws[i], $"block {block}: softmax[{i}] {so[i]} vs {ws[i]}");
                var e = exp.ToArray<float>();
                for (int i = 0; i < e.Length; i++) Assert.Equal(x[i] * 2 + 1, e[i]);
            }
        }
        finally
        {
            Dev.BlockSizeOverride = null;
        }
        Assert.Null(Dev.BlockSizeOverride);
    }

    [CudaFact]
    public void PeakComesFromTheDeviceAttributes()
    {
        var p = Dev.Peak;
        Assert.Equal(Dev.DeviceName, p.Name);
        Assert.Equal(Dev.ComputeCapability, (p.Major, p.Minor));
        Assert.True(p.SmCount > 0);
        // Derived figures exist exactly when their inputs do.
        Assert.Equal(p.MemoryClockKHz is > 0 && p.BusWidthBits is > 0, p.BandwidthGBs != null);
        Assert.Contains(p.BandwidthGBs == null ? "bandwidth peak unknown" : "GB/s", p.Describe());
    }

    [CudaFact]
    public void KernelBenchValidatesEveryCaseAtEveryBlockSize()
    {
        var cases = KernelBench.Cases(quick: true);
        var rows = KernelBench.Run(Dev, CpuBackend.Instance, cases, reps: 1);
        int expected = cases.Sum(c => c.Sweep ? Dev.BlockSizes.Count : 1);
        Assert.Equal(expected, rows.Count);
        Assert.All(rows, r => Assert.StartsWith("ok, max |diff|", r.Validation));
        Assert.All(rows, r => Assert.True(r.MedianMs >= 0));
        foreach (var r in rows.Where(r => r.GBs != null))
            Assert.Equal(Dev.Peak.BandwidthGBs == null, r.PercentOfPeak == null);
        Assert.All(rows, r => Assert.True(r.GBs is null or (> 0 and < double.PositiveInfinity) && r.Tflops is null or (> 0 and < double.PositiveInfinity),
            $"{r.Kernel}: {r.GBs} GB/s, {r.Tflops} TFLOP/s"));
        Assert.Null(Dev.BlockSizeOverride);
    }
}

public partial class CudaDeviceTests
{
    /// <summary>
    /// A KRR-ST step on the device with the phase timer attached: the pool members live on the
    /// distiller's backend (not the default CPU one), and the phases are the designed ones.
    /// </summary>
    [CudaFact]
    public void KrrStepRunsOnTheDeviceWithPhases()
    {
        var real = StepBench.RandomImages(12, 1, 8, 3);
        var norm = new RawDistill.Data.NormalizationStats([0.5], [0.25]);
        var config = new RawDistill.Methods.KrrSt.KrrStConfig { SyntheticCount = 4, RealBatch = 6, PoolSize = 1, MaxSteps = 5, Widths = [4], Seed = 2 };
        using var scope = TensorScope.Begin();
        var w = Tensor.From<float>(Enumerable.Range(0, 64 * 3).Select(i => (float)Math.Cos(i) * 0.1f).ToArray(), [64, 3], Dev);
        Tensor G(Tensor x) => Ops.MatMul(Ops.Reshape(x, [x.Shape[0], 64]), w);
        using var d = new RawDistill.Methods.KrrSt.KrrStDistiller(config, real, norm, G, 3, "t", Dev, initialPoolSteps: 1);
        Assert.All(d.Pool[0].Net.Parameters(), p => Assert.Same(Dev, p.Storage.Backend));
        var timer = new RawDistill.Diagnostics.Profiling.PhaseTimer(Dev);
        d.Phases = timer;
        var (loss, _) = d.Step();
        Assert.True(double.IsFinite(loss));
        Assert.Equal(["data", "teacher forward", "feature forward", "gram", "solve", "backward", "optimizer", "pool update"], timer.Phases.Select(p => p.Phase));
    }
}
