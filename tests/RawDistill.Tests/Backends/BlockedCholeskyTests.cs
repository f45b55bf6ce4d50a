namespace RawDistill.Tests.Backends;

using RawDistill.Backends.Cpu;
using RawDistill.Diagnostics;
using RawDistill.Tensors;

/// <summary>
/// The blocked Cholesky and the blocked triangular solves against the unblocked paths they
/// replace for large n, at sizes straddling the block boundaries (a short last block, a single
/// block, one row past a block). The blocked code is called directly at every size, also below
/// the crossover at which CpuBackend starts using it. Factors are compared in f64 at 1e-12
/// (PrimitiveParity.Spd's entries and L's are O(1), its condition number a few units), solves by
/// their residuals and against substitution.
/// </summary>
public unsafe class BlockedCholeskyTests
{
    const int B = BlockedCholesky.Block;

    public static TheoryData<int> Sizes() => [1, 2, B - 1, B, B + 1, 2 * B, 3 * B + 7, 1000];

    static double[] Unblocked(double[] a, int n)
    {
        var l = new double[(long)n * n];
        fixed (double* pa = a, pl = l) Assert.Equal(-1, CpuBackend.CholeskyT(pa, n, pl));
        return l;
    }

    static (int Pivot, double[] L) Blocked(double[] a, int n)
    {
        var l = new double[(long)n * n];
        int pivot;
        fixed (double* pa = a, pl = l) pivot = BlockedCholesky.Factor(pa, n, pl);
        return (pivot, l);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MatchesTheUnblockedFactorizationAndIsDeterministic(int n)
    {
        var a = PrimitiveParity.Spd(n, 40 + n);
        var want = Unblocked(a, n);
        var (pivot, got) = Blocked(a, n);
        Assert.Equal(-1, pivot);
        PrimitiveParity.Close(want, got, 1e-12, $"blocked cholesky n={n}");
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) Assert.True(got[i * n + j] == 0, $"L[{i},{j}] above the diagonal is {got[i * n + j]}");

        // L·Lᵀ = A on a sample of rows (all of them below 400).
        int step = n < 400 ? 1 : 37;
        for (int i = 0; i < n; i += step)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int k = 0; k <= j; k++) s += got[i * n + k] * got[j * n + k];
                Assert.True(Math.Abs(s - a[i * n + j]) < 1e-12, $"n={n}: (L·Lᵀ)[{i},{j}] − A = {s - a[i * n + j]:G3}");
            }

        for (int run = 0; run < 3; run++)
            Assert.True(Blocked(a, n).L.AsSpan().SequenceEqual(got), $"n={n}: run {run} differs from the first: not deterministic");
    }

    [Theory]
    [InlineData(B + 1)]
    [InlineData(3 * B + 7)]
    public void FloatMatchesTheUnblockedFactorization(int n)
    {
        var a = PrimitiveParity.Spd(n, 70 + n);
        var af = a.Select(v => (float)v).ToArray();
        var want = new float[n * n];
        var got = new float[n * n];
        fixed (float* pa = af, pw = want, pg = got)
        {
            Assert.Equal(-1, CpuBackend.CholeskyT(pa, n, pw));
            Assert.Equal(-1, BlockedCholesky.Factor(pa, n, pg));
        }

        PrimitiveParity.Close(want.Select(v => (double)v).ToArray(), got.Select(v => (double)v).ToArray(), 1e-5, $"blocked cholesky f32 n={n}");
    }

    /// <summary>The first non-positive (or NaN) pivot is reported, in the first, a middle and the last block and at their edges.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(B - 1)]
    [InlineData(B)]
    [InlineData(B + 1)]
    [InlineData(2 * B + 50)]
    [InlineData(3 * B + 6)]
    public void TheFirstBadPivotIsReportedInEveryBlock(int bad)
    {
        const int n = 3 * B + 7;
        var a = PrimitiveParity.Spd(n, 11);
        a[bad * n + bad] = -1;
        Assert.Equal(bad, Blocked(a, n).Pivot);

        // A second, later bad pivot does not hide the first; NaN is not positive either.
        if (bad + 20 < n) a[(bad + 20) * n + bad + 20] = -1;
        Assert.Equal(bad, Blocked(a, n).Pivot);
        a[bad * n + bad] = double.NaN;
        Assert.Equal(bad, Blocked(a, n).Pivot);
    }

    [Fact]
    public void TheBackendUsesTheBlockedPathFromTheCrossoverAndReportsItsPivots()
    {
        var cpu = CpuBackend.Instance;
        foreach (int n in new[] { CpuBackend.BlockedCholeskyFrom - 1, CpuBackend.BlockedCholeskyFrom, CpuBackend.BlockedCholeskyFrom + 1 })
        {
            var a = PrimitiveParity.Spd(n, n);
            var l = cpu.Allocate(DType.F64, (long)n * n);
            Assert.Equal(-1, cpu.Cholesky(PrimitiveParity.Put(cpu, DType.F64, a), n, l));
            PrimitiveParity.Close(Unblocked(a, n), PrimitiveParity.ReadD(cpu, l), 1e-12, $"backend cholesky n={n}");
            a[(n - 2) * n + n - 2] = 0;
            Assert.Equal(n - 2, cpu.Cholesky(PrimitiveParity.Put(cpu, DType.F64, a), n, l));
        }
    }

    public static TheoryData<int, int> SolveCases()
    {
        var data = new TheoryData<int, int>();
        int from = TriangularSubstitution.BlockedFrom;
        foreach (int n in new[] { from - 1, from, from + 1, 3 * B + 7, 1000 })
            foreach (int cols in new[] { 1, 3, 70 })
                data.Add(n, cols);
        return data;
    }

    /// <summary>
    /// L·Y = R and Lᵀ·X = Y through the backend (blocked from <see cref="TriangularSubstitution.BlockedFrom"/>):
    /// each against plain substitution, each by its residual, and A·X = R at the end.
    /// </summary>
    [Theory]
    [MemberData(nameof(SolveCases))]
    public void SolvesMatchSubstitutionAndLeaveSmallResiduals(int n, int cols)
    {
        var a = PrimitiveParity.Spd(n, 90 + n);
        var l = Unblocked(a, n);
        var r = PrimitiveParity.Rand(n * cols, n + cols);
        var cpu = CpuBackend.Instance;
        var L = PrimitiveParity.Put(cpu, DType.F64, l);
        var Y = cpu.Allocate(DType.F64, (long)n * cols);
        var X = cpu.Allocate(DType.F64, (long)n * cols);
        cpu.TriangularSolve(L, n, PrimitiveParity.Put(cpu, DType.F64, r), cols, Y, transpose: false);
        var y = PrimitiveParity.ReadD(cpu, Y);
        cpu.TriangularSolve(L, n, Y, cols, X, transpose: true);
        var x = PrimitiveParity.ReadD(cpu, X);

        PrimitiveParity.Close(Substituted(l, n, r, cols, transpose: false), y, 1e-12, $"forward n={n} cols={cols}");
        PrimitiveParity.Close(Substituted(l, n, y, cols, transpose: true), x, 1e-12, $"backward n={n} cols={cols}");
        for (int i = 0; i < n; i++)
            for (int c = 0; c < cols; c++)
            {
                double fw = 0, bw = 0, ax = 0;
                for (int k = 0; k <= i; k++) fw += l[i * n + k] * y[k * cols + c];
                for (int k = i; k < n; k++) bw += l[k * n + i] * x[k * cols + c];
                for (int k = 0; k < n; k++) ax += a[i * n + k] * x[k * cols + c];
                Assert.True(Math.Abs(fw - r[i * cols + c]) < 1e-12, $"n={n}: (L·Y − R)[{i},{c}] = {fw - r[i * cols + c]:G3}");
                Assert.True(Math.Abs(bw - y[i * cols + c]) < 1e-12, $"n={n}: (Lᵀ·X − Y)[{i},{c}] = {bw - y[i * cols + c]:G3}");
                Assert.True(Math.Abs(ax - r[i * cols + c]) < 1e-11, $"n={n}: (A·X − R)[{i},{c}] = {ax - r[i * cols + c]:G3}");
            }
    }

    /// <summary>The unblocked substitution over the whole matrix, the path below the crossover.</summary>
    static double[] Substituted(double[] l, int n, double[] b, int cols, bool transpose)
    {
        var x = (double[])b.Clone();
        fixed (double* pl = l, px = x) TriangularSubstitution.Substitute(pl, n, 0, n, px, cols, transpose);
        return x;
    }
}
