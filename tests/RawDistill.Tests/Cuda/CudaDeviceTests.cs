namespace RawDistill.Tests.Cuda;

using System.Runtime.CompilerServices;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cuda;
using RawDistill.Diagnostics;
using RawDistill.Tensors;

/// <summary>
/// The CUDA backend on a real device, against host references and the CPU backend.
/// Skipped (with the reason) where no CUDA device opens.
/// </summary>
[Collection("cuda device")]
public partial class CudaDeviceTests
{
    static CudaBackend Dev => CudaTestDevice.Backend!;

    /// <summary>
    /// The same op-level suite `rawdistill selftest --device cuda` runs (every op forward and
    /// backward, a ConvNet step, the Cholesky solve, Philox, optimizer steps), in f32 and f64
    /// against the CPU in f64, so the CLI and the tests share one set of checks.
    /// </summary>
    [CudaFact]
    public void SelftestParitySuitePasses()
    {
        foreach (var dtype in new[] { DType.F32, DType.F64 })
        {
            var failures = RawDistill.Diagnostics.ParitySuite.RunAll(CpuBackend.Instance, Dev, dtype)
                .Where(r => !r.Passed)
                .Select(r => $"{dtype} {r.Name}: {r.Worst} rel {r.MaxRelError:E2} {r.Error}")
                .ToList();
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }
    }

    /// <summary>One primitive check of the selftest's <see cref="PrimitiveParity"/> path, on the device.</summary>
    static void Check(Action<IBackend> check, [CallerMemberName] string name = "")
    {
        var r = PrimitiveParity.Run(new PrimitiveParity.Check(name, check), Dev);
        Assert.True(r.Passed, r.Error);
    }

    [CudaFact] public void GemmMatchesNaiveForEveryTransposePairAndBatch() => Check(PrimitiveParity.Gemm);
    [CudaFact] public void PhiloxMatchesTheSpecBitForBit() => Check(PrimitiveParity.Philox);
    [CudaFact] public void CholeskyFactorsSolvesAndReportsTheFirstBadPivot() => Check(PrimitiveParity.Cholesky);
    [CudaFact] public void BlockedCholeskyAtLargeSizesMatchesTheF64Reference() => Check(PrimitiveParity.CholeskyLarge);
    [CudaFact] public void ConvolutionMatchesCpu() => Check(PrimitiveParity.Conv);
    [CudaFact] public void ElementwiseMatchesCpu() => Check(PrimitiveParity.Elementwise);
    [CudaFact] public void ReductionsAndSoftmaxMatchCpu() => Check(PrimitiveParity.Reductions);
    [CudaFact] public void PoolingMatchesCpu() => Check(PrimitiveParity.Pooling);
    [CudaFact] public void IndexingMatchesCpu() => Check(PrimitiveParity.Indexing);
    [CudaFact] public void LayoutOpsMatchCpu() => Check(PrimitiveParity.Layout);
    [CudaFact] public void CastsSaturateLikeTheCpu() => Check(PrimitiveParity.CastsSaturate);
    [CudaFact] public void OptimizerStepsMatchCpu() => Check(PrimitiveParity.Optimizers);

    [CudaFact]
    public void ConvolutionInSmallChunksMatchesCpu()
    {
        using (CudaBackend.ConvWorkspaceScope(1)) Check(PrimitiveParity.Conv); // one batch item per chunk
    }

    [CudaFact]
    public void Tf32SwitchTogglesAndDefaultsOff()
    {
        Assert.False(Dev.AllowTf32);
        Dev.AllowTf32 = true;
        Dev.AllowTf32 = false;
    }

    [CudaFact]
    public void FreedMemoryGoesBackToThePool()
    {
        var before = Dev.MemoryInUse;
        var s = Dev.Allocate(DType.F32, 1 << 20);
        Assert.True(Dev.MemoryInUse.Live >= before.Live + 4 * (1 << 20));
        s.Release();
        Assert.Equal(before.Live, Dev.MemoryInUse.Live);
        var again = Dev.Allocate(DType.F32, 1 << 20);
        Assert.Equal(before.Cached, Dev.MemoryInUse.Cached); // the cached block was reused
        again.Release();
    }

    [CudaFact]
    public void ProbeDescribesTheDevice()
    {
        var report = CudaProbe.Run();
        Assert.True(report.Usable, string.Join("\n", report.Lines()));
        Assert.Contains(report.Devices, d => d.Name == Dev.DeviceName && (d.Major, d.Minor) == Dev.ComputeCapability);
        Assert.StartsWith("passed", report.SmokeTest);
    }
}

/// <summary>The parity checks run CPU-vs-CPU: no GPU needed, keeps the harness itself honest.</summary>
public class ParityHarnessSelfCheck
{
    static readonly CpuBackend Cpu = CpuBackend.Instance;

    static void Check(Action<IBackend> check, [CallerMemberName] string name = "")
    {
        var r = PrimitiveParity.Run(new PrimitiveParity.Check(name, check), Cpu);
        Assert.True(r.Passed, r.Error);
    }

    [Fact] public void Gemm() => Check(PrimitiveParity.Gemm);
    [Fact] public void Philox() => Check(PrimitiveParity.Philox);
    [Fact] public void Cholesky() => Check(PrimitiveParity.Cholesky);
    [Fact] public void CholeskyLarge() => Check(PrimitiveParity.CholeskyLarge);
    [Fact] public void Conv() => Check(PrimitiveParity.Conv);
    [Fact] public void Elementwise() => Check(PrimitiveParity.Elementwise);
    [Fact] public void Reductions() => Check(PrimitiveParity.Reductions);
    [Fact] public void Pooling() => Check(PrimitiveParity.Pooling);
    [Fact] public void Indexing() => Check(PrimitiveParity.Indexing);
    [Fact] public void Layout() => Check(PrimitiveParity.Layout);
    [Fact] public void CastsSaturate() => Check(PrimitiveParity.CastsSaturate);
    [Fact] public void Optimizers() => Check(PrimitiveParity.Optimizers);

    [Fact]
    public void TheThoroughSelftestPassesOnTheCpu()
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(TextWriter.Synchronized(output)); // other tests may print meanwhile
        int rc;
        try { rc = RawDistill.Cli.SelftestCommand.Run(new RawDistill.Cli.SelftestOptions { Device = "cpu", Thorough = true }); }
        finally { Console.SetOut(saved); }
        Assert.True(rc == 0, output.ToString());
        Assert.Contains("cholesky blocked n = 256, 300, 513", output.ToString());
        Assert.Contains(" passed, 0 failed", output.ToString());
    }

    [Fact]
    public void AMismatchFailsTheCheckNamingTheElement()
    {
        var r = PrimitiveParity.Run(new PrimitiveParity.Check("planted", _ => PrimitiveParity.Close([1, 2, 3], [1, 2.5, 3], 1e-6, "planted")), Cpu);
        Assert.False(r.Passed);
        Assert.Contains("planted: element 1 is 2.5, expected 2", r.Error);
    }

    [Fact]
    public void EveryCheckOfTheThoroughSelftestIsNamedOnce()
    {
        var names = PrimitiveParity.Checks(thorough: true, () => new MemoryStream()).Select(c => c.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Contains(names, n => n.Contains("cholesky blocked"));
        Assert.Contains(names, n => n.Contains("one-item chunks"));
        Assert.DoesNotContain(PrimitiveParity.Checks(thorough: false), c => c.Thorough);
    }

    /// <summary>The contract the device's saturating casts copy (kernels/copy.cu, sat&lt;TT&gt;).</summary>
    [Fact]
    public void CpuCastsTruncateSaturateAndMapNaNToZero()
    {
        double[] ToInt(DType from) => PrimitiveParity.ReadD(Cpu, Cast(from, DType.I32));
        double[] ToU8(DType from) => PrimitiveParity.ReadD(Cpu, Cast(from, DType.U8));
        Storage Cast(DType from, DType to)
        {
            var y = Cpu.Allocate(to, PrimitiveParity.CastEdgeValues.Length);
            Cpu.Cast(PrimitiveParity.Put(Cpu, from, PrimitiveParity.CastEdgeValues), y, PrimitiveParity.CastEdgeValues.Length);
            return y;
        }
        const double max = int.MaxValue, min = int.MinValue;
        // NaN, +inf, -inf, 1e10, -1e10, 3e38, -3e38, 2^31-1, 2^31, -2^31, -2^31-1, 255, 255.5, 256, 300, -0.7, -1, -300, 0.7, 1.5, 254.99, -0
        Assert.Equal([0, max, min, max, min, max, min, max, max, min, min, 255, 255, 256, 300, 0, -1, -300, 0, 1, 254, 0], ToInt(DType.F64));
        Assert.Equal([0, 255, 0, 255, 0, 255, 0, 255, 255, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 1, 254, 0], ToU8(DType.F64));
        Assert.Equal([0, 255, 0, 255, 0, 255, 0, 255, 255, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 1, 254, 0], ToU8(DType.F32));
        var f32 = ToInt(DType.F32); // 2^31 − 1 rounds to 2^31 in f32, so it saturates too
        Assert.Equal([0, max, min, max, min, max, min, max, max, min, min, 255, 255, 256, 300, 0, -1, -300, 0, 1, 254, 0], f32);
    }
}
