namespace RawDistill.Tests.Bench;

using System.Reflection;
using System.Text.Json;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cli;
using RawDistill.Cli.Bench;
using RawDistill.Diagnostics.Profiling;
using RawDistill.Data;
using RawDistill.Methods.KrrSt;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// The profiling pieces on the CPU backend: peak formulas, the phase hook, the phase
/// benchmarks' bookkeeping, the kernel validator, and the JSON both benches write.
/// (Speed is never asserted.)
/// </summary>
public sealed class ProfilingTests
{
    [Fact]
    public void PeakFormulaUsesTheAttributesAndTheLaneTable()
    {
        // H100 SXM-like attributes: 132 SMs at 1.98 GHz, HBM3 at 2.619 GHz on a 5120-bit bus.
        var p = new DevicePeak("test", 9, 0, 132, 1_980_000, 2_619_000, 5120, 50L << 20);
        Assert.Equal(2 * 2.619e9 * 5120 / 8 / 1e9, p.BandwidthGBs!.Value, 6);
        Assert.Equal(132 * 128 * 2 * 1.98e9 / 1e12, p.Fp32Tflops!.Value, 6);
        Assert.Equal(132 * 64 * 2 * 1.98e9 / 1e12, p.Fp64Tflops!.Value, 6);
        // A100: 64 FP32 lanes per SM.
        var a = new DevicePeak("a100", 8, 0, 108, 1_410_000, 1_215_000, 5120, 40L << 20);
        Assert.Equal(108 * 64 * 2 * 1.41e9 / 1e12, a.Fp32Tflops!.Value, 6);
    }

    [Fact]
    public void MissingOrZeroAttributesGivePeakUnknownNotAGuess()
    {
        var noClocks = new DevicePeak("cuda13", 9, 0, 132, 0, null, 5120, 50L << 20);
        Assert.Null(noClocks.BandwidthGBs);
        Assert.Null(noClocks.Fp32Tflops);
        Assert.Contains("bandwidth peak unknown", noClocks.Describe());
        Assert.Contains("FP32 peak unknown", noClocks.Describe());
        var unknownArch = new DevicePeak("future", 12, 0, 100, 2_000_000, 2_000_000, 512, null);
        Assert.Null(unknownArch.Fp32Tflops);
        Assert.NotNull(unknownArch.BandwidthGBs);
        Assert.Contains("L2 unreported", unknownArch.Describe());
    }

    sealed class RecordingTimer : IPhaseTimer
    {
        public readonly List<string> Events = [];
        public void Start(string phase) => Events.Add("+" + phase);
        public void Stop(string phase) => Events.Add("-" + phase);
    }

    [Fact]
    public void PhaseScopeBracketsWithATimerAndIsInertWithout()
    {
        var t = new RecordingTimer();
        using (PhaseScope.Begin(t, "a")) t.Events.Add("work");
        Assert.Equal(["+a", "work", "-a"], t.Events);
        using (PhaseScope.Begin(null, "b")) { }
        Assert.Equal(3, t.Events.Count);
    }

    [Fact]
    public void PhaseTimerRejectsNestedOrMismatchedPhasesAndAccumulates()
    {
        var t = new PhaseTimer(CpuBackend.Instance);
        t.Start("a");
        Assert.Throws<InvalidOperationException>(() => t.Start("b"));
        Assert.Throws<InvalidOperationException>(() => t.Stop("b"));
        t.Stop("a");
        t.Start("b");
        Thread.Sleep(5);
        t.Stop("b");
        t.Start("a");
        t.Stop("a");
        Assert.Equal(["a", "b"], t.Phases.Select(p => p.Phase));
        Assert.True(t.Phases[1].Ms >= 4, $"b took {t.Phases[1].Ms} ms around a 5 ms sleep");
        Assert.Equal(t.Phases.Sum(p => p.Ms), t.TotalMs, 9);
    }

    static KrrStConfig TinyKrr => KrrStConfig.CpuDefault() with { SyntheticCount = 8, RealBatch = 16, PoolSize = 2, MaxSteps = 10, Widths = [4, 8], Seed = 3 };

    [Fact]
    public void KrrStepPhasesAreTheDesignedOnesAndSumToAtMostTheInstrumentedStep()
    {
        var r = StepBench.Krr(CpuBackend.Instance, StepShapes.Get("fmnist"), warmup: 1, reps: 3, overrideConfig: TinyKrr);
        Assert.Equal(["data", "teacher forward", "feature forward", "gram", "solve", "backward", "optimizer", "pool update"], r.Phases.Select(p => p.Phase));
        Assert.All(r.Phases, p => Assert.True(p.MedianMs >= 0));
        // Phases are disjoint parts of each instrumented step, so their sum cannot exceed it...
        Assert.True(r.PhaseSumMs <= r.InstrumentedTotalMs, $"phases {r.PhaseSumMs} ms > step {r.InstrumentedTotalMs} ms");
        // ...and they cover the step: only the loss read-back and scope disposal lie outside.
        Assert.True(r.PhaseSumMs >= 0.5 * r.InstrumentedTotalMs, $"phases {r.PhaseSumMs} ms cover too little of the {r.InstrumentedTotalMs} ms step");
        Assert.True(r.TotalMs > 0);
        Assert.Single(r.Extra);
        Assert.Equal("16", r.Shapes["B"]);
        Assert.Equal("2048", r.Shapes["d"]);
    }

    [Fact]
    public void BarlowTwinsStepPhasesAreTheDesignedOnes()
    {
        var r = StepBench.BarlowTwins(CpuBackend.Instance, StepShapes.Get("fmnist"), warmup: 0, reps: 1, batch: 8);
        Assert.Equal(["augment", "forward", "loss", "backward", "optimizer"], r.Phases.Select(p => p.Phase));
        Assert.True(r.PhaseSumMs <= r.InstrumentedTotalMs);
        Assert.True(r.PhaseSumMs >= 0.5 * r.InstrumentedTotalMs, $"phases {r.PhaseSumMs} ms cover too little of the {r.InstrumentedTotalMs} ms step");
    }

    [Fact]
    public void Cifar100ConfigurationIsTheReferenceAndRunsWithAResNet18TeacherAtReducedSizes()
    {
        var shapes = StepShapes.Get("cifar100");
        Assert.Equal((3, 32, "resnet18"), (shapes.Channels, shapes.Size, shapes.TeacherArch));
        Assert.Equal((1000, 1024), (shapes.Krr.SyntheticCount, shapes.Krr.RealBatch));
        Assert.Equal([128, 256, 512], shapes.Krr.Widths);
        Assert.Equal([2048, 2048, 2048], shapes.Bt.Projector);
        var small = shapes.Krr with { SyntheticCount = 4, RealBatch = 6, PoolSize = 1, Widths = [4, 8, 8] };
        var r = StepBench.Krr(CpuBackend.Instance, shapes, warmup: 0, reps: 1, overrideConfig: small);
        Assert.Equal("512", r.Shapes["d"]);
        Assert.Equal("3x32x32", r.Shapes["images"]);
        var bt = StepBench.BarlowTwins(CpuBackend.Instance, shapes, warmup: 0, reps: 1, batch: 4);
        Assert.Equal("2048-2048-2048", bt.Shapes["projector"]);
        Assert.Throws<CliException>(() => StepShapes.Get("imagenet"));
    }

    [Fact]
    public void AttachingAPhaseTimerDoesNotChangeTheRun()
    {
        var real = StepBench.RandomImages(16, 1, 28, 1);
        var norm = new NormalizationStats([0.5], [0.25]);
        var teacher = new ConvNet(new ConvNetConfig(new ImageShape(1, 28), [4], ConvNorm.None, ConvPool.Avg), new Generator(1));
        Tensor G(Tensor x) => teacher.Embed(x);
        double[] Losses(bool timed)
        {
            using var d = new KrrStDistiller(TinyKrr, real, norm, G, teacher.FeatureDim, "t");
            if (timed) d.Phases = new PhaseTimer(CpuBackend.Instance);
            return Enumerable.Range(0, 3).Select(_ => d.Step().Loss).ToArray();
        }
        Assert.Equal(Losses(false), Losses(true));
        teacher.Dispose();
    }

    [Fact]
    public void StepJsonHasTheKeysCompareReads()
    {
        var r = new StepBenchResult("krr-step", "fmnist", "cpu", 1, 3, 10, 9, 8.5,
            [new PhaseRow("gram", 2), new PhaseRow("solve", 6.5)], [new PhaseRow("teacher forward over B", 4)],
            new Dictionary<string, string> { ["m"] = "100" }, "n");
        using var doc = JsonDocument.Parse(BenchCommand.StepJson(r));
        var root = doc.RootElement;
        Assert.Equal("krr-step", root.GetProperty("bench").GetString());
        Assert.Equal("fmnist", root.GetProperty("config").GetString());
        Assert.Equal(10, root.GetProperty("total_ms").GetDouble());
        Assert.Equal(9, root.GetProperty("instrumented_total_ms").GetDouble());
        Assert.Equal(8.5, root.GetProperty("phase_sum_ms").GetDouble());
        var phases = root.GetProperty("phases").EnumerateArray().ToList();
        Assert.Equal(["gram", "solve"], phases.Select(p => p.GetProperty("phase").GetString()));
        Assert.Equal(6.5, phases[1].GetProperty("median_ms").GetDouble());
        Assert.Equal("100", root.GetProperty("shapes").GetProperty("m").GetString());
        Assert.Equal(4, root.GetProperty("extra")[0].GetProperty("median_ms").GetDouble());
    }

    [Fact]
    public void KernelsBenchOnCpuRunsEveryCaseAndWritesJson()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rawdistill-kernels-{Guid.NewGuid():N}.json");
        try
        {
            var rc = BenchCommand.Run(new BenchOptions { Target = "kernels", Device = "cpu", Quick = true, Reps = 1, Json = path });
            Assert.Equal(0, rc);
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            Assert.Equal("kernels", root.GetProperty("bench").GetString());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("peak").ValueKind);
            var rows = root.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(KernelBench.Cases(quick: true).Count, rows.Count);
            foreach (var row in rows)
            {
                Assert.StartsWith("skipped", row.GetProperty("Validation").GetString());
                Assert.Equal(JsonValueKind.Null, row.GetProperty("Block").ValueKind);
                Assert.Equal(JsonValueKind.Null, row.GetProperty("PercentOfPeak").ValueKind);
                Assert.True(row.GetProperty("MedianMs").GetDouble() > 0);
                // Exactly one of the throughputs, by the kind of kernel.
                Assert.True((row.GetProperty("GBs").ValueKind == JsonValueKind.Null) != (row.GetProperty("Tflops").ValueKind == JsonValueKind.Null),
                    $"{row.GetProperty("Kernel")}: exactly one of GB/s and TFLOP/s (a zero time would give neither)");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A backend that is the CPU backend except that one op's output is corrupted afterwards.</summary>
    public class FaultyBackend : DispatchProxy
    {
        public IBackend Inner { get; set; } = CpuBackend.Instance;
        public string? Corrupt { get; set; }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            var result = method!.Invoke(Inner, args);
            if (method.Name == Corrupt)
            {
                // The output storage is the last Storage argument of every op the bench calls.
                var y = args!.OfType<Storage>().Last();
                var bytes = new byte[y.Bytes];
                Inner.Download(y, bytes);
                // One element off by 1% (+0.01): a small error, but far outside every case's tolerance.
                int i = (int)(y.Count / 2);
                if (y.DType == DType.F64)
                {
                    double v = BitConverter.ToDouble(bytes, 8 * i);
                    BitConverter.TryWriteBytes(bytes.AsSpan(8 * i), v + 0.01 + 0.01 * Math.Abs(v));
                }
                else
                {
                    float v = BitConverter.ToSingle(bytes, 4 * i);
                    BitConverter.TryWriteBytes(bytes.AsSpan(4 * i), v + 0.01f + 0.01f * Math.Abs(v));
                }
                Inner.Upload(y, bytes);
            }
            return result;
        }

        public static IBackend Create(string? corrupt)
        {
            var b = DispatchProxy.Create<IBackend, FaultyBackend>();
            ((FaultyBackend)(object)b).Corrupt = corrupt;
            return b;
        }
    }

    [Theory]
    [InlineData("Softmax", "softmax")]
    [InlineData("Reduce", "row sum")]
    [InlineData("Cholesky", "cholesky")]
    [InlineData("Conv2dForward", "conv2d")]
    [InlineData("Gemm", "sgemm")]
    [InlineData("Random", "philox")]
    [InlineData("Binary", "add")]
    public void AWrongKernelResultFailsItsRowAndTheRunGoesOn(string op, string kernel)
    {
        var cases = KernelBench.Cases(quick: true);
        var rows = KernelBench.Run(FaultyBackend.Create(op), CpuBackend.Instance, cases, reps: 1);
        Assert.Equal(cases.Count, rows.Count); // every case still ran
        var failed = Assert.Single(rows, r => r.Failed);
        Assert.StartsWith(kernel, failed.Kernel);
        Assert.StartsWith("VALIDATION FAILED", failed.Validation);
        Assert.Contains(kernel, failed.Validation);
        Assert.Null(failed.MedianMs);
        Assert.All(rows.Where(r => !r.Failed), r => Assert.NotNull(r.MedianMs));
    }

    [Fact]
    public void KernelsBenchWritesItsJsonAndExitsOneWhenARowFails()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rawdistill-kernels-{Guid.NewGuid():N}.json");
        try
        {
            var o = new BenchOptions { Target = "kernels", Quick = true, Reps = 1, Json = path };
            Assert.Equal(1, BenchCommand.Kernels(FaultyBackend.Create("Softmax"), o, CpuBackend.Instance));
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var rows = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(KernelBench.Cases(quick: true).Count, rows.Count);
            var bad = Assert.Single(rows, r => r.GetProperty("Failed").GetBoolean());
            Assert.StartsWith("VALIDATION FAILED: softmax", bad.GetProperty("Validation").GetString());
            Assert.Equal(JsonValueKind.Null, bad.GetProperty("MedianMs").ValueKind);
            Assert.Equal(0, BenchCommand.Kernels(FaultyBackend.Create(null), o, CpuBackend.Instance));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ValidationPassesWhenTheResultsAgree()
    {
        var rows = KernelBench.Run(FaultyBackend.Create(null), CpuBackend.Instance, KernelBench.Cases(quick: true), reps: 1);
        Assert.Equal(KernelBench.Cases(quick: true).Count, rows.Count);
        Assert.All(rows, r => Assert.Equal("ok, max |diff| 0", r.Validation));
    }
}
