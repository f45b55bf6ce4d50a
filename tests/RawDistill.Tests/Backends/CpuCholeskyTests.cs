namespace RawDistill.Tests.Backends;

using RawDistill.Backends.Cpu;
using RawDistill.Diagnostics;
using RawDistill.Tensors;

/// <summary>
/// The CPU Cholesky above its parallel threshold (n &gt; 256): every entry of L depends on
/// entries computed before it, so the parallel loop must not read an entry another thread has
/// not written yet. Checked against a sequential f64 factorization, several times (a race shows
/// as a run that differs), at sizes around and well above the threshold.
/// </summary>
public class CpuCholeskyTests
{
    /// <summary>Cholesky–Banachiewicz, one entry at a time, in order: the reference.</summary>
    static double[] Sequential(double[] a, int n)
    {
        var l = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
                l[i * n + j] = i == j ? Math.Sqrt(s) : s / l[j * n + j];
            }
        }
        return l;
    }

    [Theory]
    [InlineData(257)]
    [InlineData(300)]
    [InlineData(450)]
    [InlineData(600)]
    public void MatchesASequentialFactorizationEveryTime(int n)
    {
        var a = PrimitiveParity.Spd(n, n);
        var want = Sequential(a, n);
        var cpu = CpuBackend.Instance;
        double[]? first = null;
        for (int run = 0; run < 5; run++)
        {
            var l = cpu.Allocate(DType.F64, (long)n * n);
            Assert.Equal(-1, cpu.Cholesky(PrimitiveParity.Put(cpu, DType.F64, a), n, l));
            var got = PrimitiveParity.ReadD(cpu, l);
            PrimitiveParity.Close(want, got, 1e-12, $"cpu cholesky n={n} run {run}");
            if (first is null) first = got;
            else Assert.True(first.AsSpan().SequenceEqual(got), $"run {run} differs from run 0: not deterministic");
        }
    }

    [Fact]
    public void TheFirstBadPivotIsReportedAboveTheThreshold()
    {
        const int n = 400;
        var a = PrimitiveParity.Spd(n, 9);
        a[333 * n + 333] = -1;
        var cpu = CpuBackend.Instance;
        Assert.Equal(333, cpu.Cholesky(PrimitiveParity.Put(cpu, DType.F64, a), n, cpu.Allocate(DType.F64, n * n)));
    }
}
