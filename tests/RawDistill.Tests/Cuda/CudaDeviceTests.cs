namespace RawDistill.Tests.Cuda;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cuda;
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

    [CudaFact] public void GemmMatchesNaiveForEveryTransposePairAndBatch() => Parity.Gemm(Dev);
    [CudaFact] public void PhiloxMatchesTheSpecBitForBit() => Parity.Philox(Dev);
    [CudaFact] public void CholeskyFactorsSolvesAndReportsTheFirstBadPivot() => Parity.Cholesky(Dev);
    [CudaFact] public void ConvolutionMatchesCpu() => Parity.Conv(Dev);
    [CudaFact] public void ElementwiseMatchesCpu() => Parity.Elementwise(Dev);
    [CudaFact] public void ReductionsAndSoftmaxMatchCpu() => Parity.Reductions(Dev);
    [CudaFact] public void PoolingMatchesCpu() => Parity.Pooling(Dev);
    [CudaFact] public void IndexingMatchesCpu() => Parity.Indexing(Dev);
    [CudaFact] public void LayoutOpsMatchCpu() => Parity.Layout(Dev);
    [CudaFact] public void CastsSaturateLikeTheCpu() => Parity.CastsSaturate(Dev);
    [CudaFact] public void OptimizerStepsMatchCpu() => Parity.Optimizers(Dev);

    [CudaFact]
    public void ConvolutionInSmallChunksMatchesCpu()
    {
        long saved = CudaBackend.WorkspaceElements;
        CudaBackend.WorkspaceElements = 1; // one batch item per chunk
        try { Parity.Conv(Dev); }
        finally { CudaBackend.WorkspaceElements = saved; }
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

    [Fact] public void Gemm() => Parity.Gemm(Cpu);
    [Fact] public void Philox() => Parity.Philox(Cpu);
    [Fact] public void Cholesky() => Parity.Cholesky(Cpu);
    [Fact] public void Conv() => Parity.Conv(Cpu);
    [Fact] public void Elementwise() => Parity.Elementwise(Cpu);
    [Fact] public void Reductions() => Parity.Reductions(Cpu);
    [Fact] public void Pooling() => Parity.Pooling(Cpu);
    [Fact] public void Indexing() => Parity.Indexing(Cpu);
    [Fact] public void Layout() => Parity.Layout(Cpu);
    [Fact] public void CastsSaturate() => Parity.CastsSaturate(Cpu);

    /// <summary>The contract the device's saturating casts copy (kernels/copy.cu, sat&lt;TT&gt;).</summary>
    [Fact]
    public void CpuCastsTruncateSaturateAndMapNaNToZero()
    {
        double[] ToInt(DType from) => Parity.ReadD(Cpu, Cast(from, DType.I32));
        double[] ToU8(DType from) => Parity.ReadD(Cpu, Cast(from, DType.U8));
        Storage Cast(DType from, DType to)
        {
            var y = Cpu.Allocate(to, Parity.CastEdgeValues.Length);
            Cpu.Cast(Parity.Put(Cpu, from, Parity.CastEdgeValues), y, Parity.CastEdgeValues.Length);
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
    [Fact] public void Optimizers() => Parity.Optimizers(Cpu);
}
