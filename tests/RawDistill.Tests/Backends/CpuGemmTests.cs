namespace RawDistill.Tests.Backends;

using System.Numerics;
using System.Runtime.InteropServices;
using RawDistill.Backends.Cpu;

/// <summary>
/// CpuGemm against a naive triple loop accumulated in double. The error bound is relative to
/// Σ_p |alpha·a_ip·b_pj| + |beta·c_ij| (the scale that rounding errors are proportional to),
/// so it holds at any magnitude and for cancelling sums.
/// </summary>
[Trait("Category", "Gemm")]
public unsafe class CpuGemmTests
{
    // f32: a k ≤ 600 dot product with FMA accumulation stays far below 1e-5 of Σ|a||b|.
    private const double FloatTolerance = 1e-5;
    private const double DoubleTolerance = 1e-13;

    /// <summary>
    /// (m, n, k): odd sizes, exact and off-by-one tiles (14×32, 6×16, 4×4), several KC slices, tiny;
    /// all below CpuGemm.WorkPerThread, so single-threaded (see <see cref="ParallelShapes"/>).
    /// </summary>
    public static readonly (int M, int N, int K)[] Sizes =
    [
        (1, 1, 1), (7, 7, 7), (1, 65, 33), (65, 1, 33), (33, 65, 129), (65, 33, 7),
        (14, 32, 256), (15, 33, 257), (13, 31, 255), (6, 16, 8), (129, 129, 129), (28, 96, 600), (5, 2000, 300), (5, 33, 20000),
    ];

    public static TheoryData<bool, bool, int> Cases()
    {
        var data = new TheoryData<bool, bool, int>();
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                for (int s = 0; s < Sizes.Length; s++)
                {
                    data.Add(ta, tb, s);
                }
            }
        }

        return data;
    }

    /// <summary>
    /// Shapes with at least 2·CpuGemm.WorkPerThread multiply-adds, so that on a machine with ≥ 2
    /// cores they take the parallel paths: row split, column split (C is one MR panel tall) and
    /// k split (C is so small that per-slice barriers would dominate).
    /// </summary>
    public static readonly (int M, int N, int K)[] ParallelShapes = [(300, 260, 450), (5, 7000, 1000), (8, 40, 110000)];

    private static readonly (double Alpha, double Beta)[] Scalars = [(1, 0), (0.75, -1.5), (-2, 1)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void SgemmMatchesReference(bool transA, bool transB, int size)
    {
        var (m, n, k) = Sizes[size];
        foreach (var (alpha, beta) in Scalars)
        {
            foreach (int pad in new[] { 0, 3 })
            {
                Check<float>(&CpuGemm.Sgemm, transA, transB, m, n, k, alpha, beta, pad, FloatTolerance, seed: size * 31 + pad);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DgemmMatchesReference(bool transA, bool transB, int size)
    {
        var (m, n, k) = Sizes[size];
        foreach (var (alpha, beta) in Scalars)
        {
            foreach (int pad in new[] { 0, 5 })
            {
                Check<double>(&CpuGemm.Dgemm, transA, transB, m, n, k, alpha, beta, pad, DoubleTolerance, seed: size * 17 + pad);
            }
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void ParallelPathsMatchReference(bool transA, bool transB)
    {
        Assert.True(ParallelShapes.All(s => (long)s.M * s.N * s.K >= 2 * CpuGemm.WorkPerThread));
        foreach (var (m, n, k) in ParallelShapes)
        {
            Check<float>(&CpuGemm.Sgemm, transA, transB, m, n, k, 0.75, 0, 1, FloatTolerance, m);
            Check<double>(&CpuGemm.Dgemm, transA, transB, m, n, k, -1, 0.5, 0, DoubleTolerance, n);
        }
    }

    /// <summary>The dispatcher only runs the widest kernel; this runs each one the CPU supports.</summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void EverySupportedKernelMatchesReference(bool transA, bool transB)
    {
        foreach (var (m, n, k) in new[] { (33, 65, 129), (129, 129, 129), (300, 260, 450) })
        {
            if (Avx512MicroKernel<float>.IsSupported)
            {
                Check<float>(&CpuGemm.Gemm<float, Avx512MicroKernel<float>>, transA, transB, m, n, k, 0.5, 2, 1, FloatTolerance, 1);
                Check<double>(&CpuGemm.Gemm<double, Avx512MicroKernel<double>>, transA, transB, m, n, k, 0.5, 2, 1, DoubleTolerance, 2);
            }

            if (Avx2MicroKernel<float>.IsSupported)
            {
                Check<float>(&CpuGemm.Gemm<float, Avx2MicroKernel<float>>, transA, transB, m, n, k, 0.5, 0, 1, FloatTolerance, 3);
                Check<double>(&CpuGemm.Gemm<double, Avx2MicroKernel<double>>, transA, transB, m, n, k, 0.5, 0, 1, DoubleTolerance, 4);
            }

            Check<float>(&CpuGemm.Gemm<float, ScalarMicroKernel<float>>, transA, transB, m, n, k, -1, 0.25, 2, FloatTolerance, 5);
            Check<double>(&CpuGemm.Gemm<double, ScalarMicroKernel<double>>, transA, transB, m, n, k, -1, 0, 2, DoubleTolerance, 6);
        }
    }

    [Fact]
    public void LargeNSpansSeveralColumnPanels()
    {
        // n > NC (4096): exercises the outer jc loop.
        Check<float>(&CpuGemm.Sgemm, false, true, 3, 4200, 20, 1, 0.5, 1, FloatTolerance, 7);
        Check<double>(&CpuGemm.Dgemm, true, false, 3, 4200, 20, 1, 0, 1, DoubleTolerance, 8);
    }

    [Fact]
    public void LargeMSpansSeveralRowBlocks()
    {
        // m > MC (504): several row blocks on one thread, and (1100·70·500 multiply-adds) on two.
        Check<float>(&CpuGemm.Sgemm, false, false, 1100, 9, 11, 1, 0, 0, FloatTolerance, 9);
        Check<float>(&CpuGemm.Sgemm, true, false, 1100, 70, 500, 1, 1, 0, FloatTolerance, 10);
        Check<double>(&CpuGemm.Dgemm, false, true, 600, 70, 60, 1, 0, 0, DoubleTolerance, 11);
    }

    [Fact]
    public void RandomShapesMatchReference()
    {
        // Fuzz: sizes 0..80 (zero included), random transposes, padding and scalars, every
        // kernel this CPU supports; seeded, so a failure reproduces.
        var rng = new System.Random(2026);
        double[] scalars = [0, 1, -1, 0.3];
        for (int iter = 0; iter < 300; iter++)
        {
            int m = rng.Next(81), n = rng.Next(81), k = rng.Next(81);
            bool ta = rng.Next(2) == 1, tb = rng.Next(2) == 1;
            int pad = rng.Next(3);
            double alpha = scalars[rng.Next(scalars.Length)], beta = scalars[rng.Next(scalars.Length)];
            int kernel = rng.Next(3);
            if (kernel == 0 && Avx512MicroKernel<float>.IsSupported)
            {
                Check<float>(&CpuGemm.Gemm<float, Avx512MicroKernel<float>>, ta, tb, m, n, k, alpha, beta, pad, FloatTolerance, iter);
                Check<double>(&CpuGemm.Gemm<double, Avx512MicroKernel<double>>, ta, tb, m, n, k, alpha, beta, pad, DoubleTolerance, iter);
            }
            else if (kernel == 1 && Avx2MicroKernel<float>.IsSupported)
            {
                Check<float>(&CpuGemm.Gemm<float, Avx2MicroKernel<float>>, ta, tb, m, n, k, alpha, beta, pad, FloatTolerance, iter);
                Check<double>(&CpuGemm.Gemm<double, Avx2MicroKernel<double>>, ta, tb, m, n, k, alpha, beta, pad, DoubleTolerance, iter);
            }
            else
            {
                Check<float>(&CpuGemm.Gemm<float, ScalarMicroKernel<float>>, ta, tb, m, n, k, alpha, beta, pad, FloatTolerance, iter);
                Check<double>(&CpuGemm.Gemm<double, ScalarMicroKernel<double>>, ta, tb, m, n, k, alpha, beta, pad, DoubleTolerance, iter);
            }
        }
    }

    /// <summary>
    /// Narrow products (n ≤ ThinGemm.MaxColumns) run on ThinGemm from Sgemm/Dgemm: the linear
    /// probe's shapes (thousands of rows, 10 classes), output rows spanning several of its row
    /// blocks, the parallel path (≥ 2·WorkPerThread multiply-adds), every transpose, padding,
    /// alpha and beta.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void ThinProductsMatchReference(bool transA, bool transB)
    {
        foreach (var (m, n, k) in new[] { (600, 10, 300), (257, 12, 40), (3, 1, 900), (6000, 10, 600) })
        {
            foreach (var (alpha, beta) in Scalars)
            {
                Check<double>(&CpuGemm.Dgemm, transA, transB, m, n, k, alpha, beta, 3, DoubleTolerance, m + n);
                Check<float>(&CpuGemm.Sgemm, transA, transB, m, n, k, alpha, beta, 0, FloatTolerance, m + k);
            }
        }
        Assert.True(6000L * 10 * 600 >= 2 * CpuGemm.WorkPerThread);
    }

    [Fact]
    public void ThinProductsDoNotDependOnTheThreadCount()
    {
        var rng = new System.Random(5);
        foreach (bool transA in new[] { false, true })
        {
            int m = 6000, n = 10, k = 600;
            var a = Enumerable.Range(0, m * k).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var b = Enumerable.Range(0, k * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
            double[] Run(int threads)
            {
                var c = new double[m * n];
                int saved = CpuGemm.MaxThreads;
                CpuGemm.MaxThreads = threads;
                try
                {
                    fixed (double* pa = a, pb = b, pc = c)
                    {
                        CpuGemm.Dgemm(transA, false, m, n, k, 1, pa, transA ? m : k, pb, n, 0, pc, n);
                    }
                }
                finally
                {
                    CpuGemm.MaxThreads = saved;
                }

                return c;
            }

            Assert.Equal(Run(1), Run(4));
        }
    }

    [Fact]
    public void ConcurrentCallsDoNotShareBuffers()
    {
        // Packing buffers come from a process-wide pool: calls from several threads at once must
        // each get their own (sizes differ so a mix-up would be visible).
        Parallel.For(0, 8, i =>
        {
            Check<float>(&CpuGemm.Sgemm, i % 2 == 1, i % 3 == 1, 40 + 13 * i, 70 - 5 * i, 300 + 7 * i, 1, 0.5, i % 2, FloatTolerance, 100 + i);
        });
    }

    [Fact]
    public void KZeroScalesCByBeta()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        fixed (float* pc = c)
        {
            CpuGemm.Sgemm(false, false, 2, 3, 0, 1, null, 1, null, 3, 2, pc, 3);
        }

        Assert.Equal([2f, 4, 6, 8, 10, 12], c);

        double[] d = [double.NaN, double.NaN, 7, double.NaN, double.NaN, 7];
        fixed (double* pd = d)
        {
            // beta == 0 clears C without reading it; the padding column (ldc = 3 > n = 2) is untouched.
            CpuGemm.Dgemm(true, true, 2, 2, 0, 1, null, 2, null, 1, 0, pd, 3);
        }

        Assert.Equal([0.0, 0, 7, 0, 0, 7], d);
    }

    [Fact]
    public void AlphaZeroDoesNotReadAOrB()
    {
        float[] a = [float.NaN, float.NaN, float.NaN, float.NaN];
        float[] c = [1, 2, 3, 4];
        fixed (float* pa = a, pc = c)
        {
            CpuGemm.Sgemm(false, false, 2, 2, 2, 0, pa, 2, pa, 2, -1, pc, 2);
        }

        Assert.Equal([-1f, -2, -3, -4], c);
    }

    [Fact]
    public void EmptyOutputIsANoOp()
    {
        float[] c = [float.NaN];
        fixed (float* pc = c)
        {
            CpuGemm.Sgemm(false, false, 0, 5, 5, 1, null, 5, null, 5, 0, pc, 5);
            CpuGemm.Sgemm(false, false, 5, 0, 5, 1, null, 5, null, 1, 0, pc, 1);
        }

        Assert.True(float.IsNaN(c[0]));
    }

    [Fact]
    public void RejectsLeadingDimensionsBelowTheRowLength()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Sgemm(false, false, 2, 3, 4, 1, null, 3, null, 3, 0, null, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Sgemm(true, false, 2, 3, 4, 1, null, 1, null, 3, 0, null, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Sgemm(false, true, 2, 3, 4, 1, null, 4, null, 3, 0, null, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Sgemm(false, false, 2, 3, 4, 1, null, 4, null, 3, 0, null, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Sgemm(false, false, -1, 3, 4, 1, null, 4, null, 3, 0, null, 3));
    }

    /// <summary>
    /// Runs one GEMM on random operands whose padding (lda/ldb/ldc beyond the row length) holds
    /// NaN, so a read outside op(A)/op(B) poisons C and a write outside C is visible. With
    /// beta == 0, C starts as NaN everywhere to prove it is not read.
    /// </summary>
    private static void Check<T>(
        delegate*<bool, bool, int, int, int, T, T*, int, T*, int, T, T*, int, void> gemm,
        bool transA, bool transB, int m, int n, int k, double alpha, double beta, int pad, double tolerance, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        // BLAS wants ld ≥ 1 even for an empty dimension.
        int lda = Math.Max(1, aCols + pad), ldb = Math.Max(1, bCols + pad), ldc = Math.Max(1, n + pad);
        T[] a = Random<T>(rng, aRows, aCols, lda);
        T[] b = Random<T>(rng, bRows, bCols, ldb);
        T[] c = Random<T>(rng, m, n, ldc);
        if (beta == 0)
        {
            c.AsSpan().Fill(T.NaN);
        }

        T[] c0 = (T[])c.Clone();
        fixed (T* pa = a, pb = b, pc = c)
        {
            gemm(transA, transB, m, n, k, T.CreateChecked(alpha), pa, lda, pb, ldb, T.CreateChecked(beta), pc, ldc);
        }

        // The reference reads op(A) and op(B)ᵀ as contiguous double rows (fast enough for the
        // 35M-term parallel shapes) and checks rows in parallel; the first failure is reported.
        double[] opA = new double[(long)m * k], opBt = new double[(long)n * k];
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++)
            {
                opA[(long)i * k + p] = double.CreateChecked(transA ? a[p * lda + i] : a[i * lda + p]);
            }
        }

        for (int j = 0; j < n; j++)
        {
            for (int p = 0; p < k; p++)
            {
                opBt[(long)j * k + p] = double.CreateChecked(transB ? b[j * ldb + p] : b[p * ldb + j]);
            }
        }

        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Parallel.For(0, m, i =>
        {
            var aRow = new ReadOnlySpan<double>(opA, i * k, k);
            for (int j = 0; j < ldc && failures.IsEmpty; j++)
            {
                double got = double.CreateChecked(c[i * ldc + j]);
                if (j >= n)
                {
                    if (!double.IsNaN(got))
                    {
                        failures.Enqueue($"C padding ({i},{j}) was written");
                    }

                    continue;
                }

                var bRow = new ReadOnlySpan<double>(opBt, j * k, k);
                double sum = 0, scale = 0;
                for (int p = 0; p < k; p++)
                {
                    double ab = aRow[p] * bRow[p];
                    sum += ab;
                    scale += Math.Abs(ab);
                }

                double expected = alpha * sum;
                scale = Math.Abs(alpha) * scale;
                if (beta != 0)
                {
                    double old = double.CreateChecked(c0[i * ldc + j]);
                    expected += beta * old;
                    scale += Math.Abs(beta * old);
                }

                double err = Math.Abs(got - expected);
                if (!(err <= tolerance * scale))
                {
                    failures.Enqueue(
                        $"{typeof(T).Name} tA={transA} tB={transB} m={m} n={n} k={k} α={alpha} β={beta} pad={pad}: C[{i},{j}] = {got}, expected {expected}, |err| = {err:E2} > {tolerance:E0}·{scale:E2}");
                }
            }
        });

        Assert.True(failures.IsEmpty, failures.TryPeek(out string? first) ? first : null);
    }

    /// <summary>rows×cols values in [-1, 1) with row stride ld; the padding columns are NaN.</summary>
    private static T[] Random<T>(System.Random rng, int rows, int cols, int ld)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = new T[Math.Max(1, rows * ld)];
        x.AsSpan().Fill(T.NaN);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                x[i * ld + j] = T.CreateChecked(rng.NextDouble() * 2 - 1);
            }
        }

        return x;
    }
}
