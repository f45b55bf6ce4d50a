using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace RawDistill.Backends.Cpu;

/// <summary>
/// Row-major GEMM for the CPU backend: C[m×n] = alpha·op(A)·op(B) + beta·C.
/// </summary>
/// <remarks>
/// op(A) is m×k: A is stored m×k (lda ≥ k) or, when transA, k×m (lda ≥ m); likewise op(B) is k×n,
/// stored k×n (ldb ≥ n) or, when transB, n×k (ldb ≥ k). ldc ≥ n. As in BLAS, beta == 0 never
/// reads C (it may hold NaN garbage) and alpha == 0 or k == 0 never reads A or B.
/// The work is done by <see cref="GemmDriver{T, TKernel}"/> with the widest micro-kernel this
/// CPU supports (AVX-512, then AVX2+FMA, then scalar).
/// </remarks>
internal static unsafe class CpuGemm
{
    /// <summary>
    /// Multiply-adds (m·n·k) each worker must get before another thread is used: 2²⁴ (256³) is
    /// ~0.1 ms of AVX-512 work. Below that, waking thread-pool workers and the two barriers per
    /// KC slice cost as much as they save (measured on 2 cores: 256³ ran at 188 GFLOP/s on one
    /// thread, 198 on two), and a worker preempted by another process stalls the whole call,
    /// so small GEMMs stay on the calling thread. Scales with the core count: 1024³ may use 64.
    /// </summary>
    internal const long WorkPerThread = 1L << 24;

    /// <summary>
    /// Upper bound on the worker count (default: all logical processors). Benchmarks and tests
    /// set it to pin the thread count; 1 forces the single-threaded path.
    /// </summary>
    internal static int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Set while the calling thread is one of several that each run their own GEMMs (conv2d's
    /// image groups): a GEMM started there stays on that thread. Without it every such GEMM
    /// would also fork, the forks of all threads would compete for the same cores, and each KC
    /// slice's barrier would wait for a worker another GEMM had preempted.
    /// </summary>
    [ThreadStatic]
    private static bool serialOnThisThread;

    /// <summary>
    /// Keeps the GEMMs this thread starts single-threaded until the returned scope is disposed
    /// (for callers that already spread independent GEMMs over the cores); with
    /// <paramref name="when"/> false the scope changes nothing.
    /// </summary>
    internal static SerialScope Serial(bool when = true)
    {
        bool previous = serialOnThisThread;
        serialOnThisThread |= when;
        return new(previous);
    }

    /// <summary>Restores the thread's previous setting (scopes nest).</summary>
    internal readonly struct SerialScope(bool previous) : IDisposable
    {
        public void Dispose() => serialOnThisThread = previous;
    }

    /// <summary>Name of the micro-kernel <see cref="Sgemm"/> uses on this machine (for doctor/bench output).</summary>
    public static string KernelName =>
        Avx512F.IsSupported ? "avx512 14x32" : Avx2.IsSupported && Fma.IsSupported ? "avx2+fma 6x16" : "scalar 4x4";

    /// <summary>Single-precision GEMM; see <see cref="CpuGemm"/> for the operand layout.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (Thin(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        {
            return;
        }

        if (Avx512MicroKernel<float>.IsSupported)
        {
            Gemm<float, Avx512MicroKernel<float>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else if (Avx2MicroKernel<float>.IsSupported)
        {
            Gemm<float, Avx2MicroKernel<float>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else
        {
            Gemm<float, ScalarMicroKernel<float>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }

    /// <summary>Double-precision GEMM; see <see cref="CpuGemm"/> for the operand layout.</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc)
    {
        if (Thin(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        {
            return;
        }

        if (Avx512MicroKernel<double>.IsSupported)
        {
            Gemm<double, Avx512MicroKernel<double>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else if (Avx2MicroKernel<double>.IsSupported)
        {
            Gemm<double, Avx2MicroKernel<double>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else
        {
            Gemm<double, ScalarMicroKernel<double>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }

    /// <summary>
    /// C[m×n] = alpha·op(A)·op(B) + beta·C with op(B) packed by <paramref name="b"/> (for example
    /// an implicit im2col) on the widest micro-kernel this CPU supports; threads as for
    /// <see cref="Sgemm"/> (m, n, k ≥ 1).
    /// </summary>
    internal static void Gemm<T, TB>(bool transA, int m, int n, int k, T alpha, T* a, int lda, TB b, T beta, T* c, int ldc)
        where T : unmanaged, INumberBase<T>
        where TB : struct, IGemmOperandB<T>
    {
        int threads = Threads((long)m * n * k);
        if (Avx512MicroKernel<T>.IsSupported)
        {
            GemmDriver<T, Avx512MicroKernel<T>>.Run(transA, m, n, k, alpha, a, lda, b, beta, c, ldc, threads);
        }
        else if (Avx2MicroKernel<T>.IsSupported)
        {
            GemmDriver<T, Avx2MicroKernel<T>>.Run(transA, m, n, k, alpha, a, lda, b, beta, c, ldc, threads);
        }
        else
        {
            GemmDriver<T, ScalarMicroKernel<T>>.Run(transA, m, n, k, alpha, a, lda, b, beta, c, ldc, threads);
        }
    }

    /// <summary>
    /// Runs a product with a narrow C (1 ≤ n ≤ <see cref="ThinGemm.MaxColumns"/>) on
    /// <see cref="ThinGemm"/> instead of the packing driver; false (nothing done) otherwise. The
    /// explicit-kernel overload below never takes this path, so the tests still reach every
    /// micro-kernel at every n.
    /// </summary>
    private static bool Thin<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, INumberBase<T>
    {
        if (n < 1 || n > ThinGemm.MaxColumns || m == 0 || k == 0 || T.IsZero(alpha))
        {
            return false;
        }

        Validate(transA, transB, m, n, k, lda, ldb, ldc);
        ThinGemm.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Threads((long)m * n * k));
        return true;
    }

    /// <summary>Worker count for a GEMM of this many multiply-adds (see <see cref="WorkPerThread"/>, <see cref="Serial"/>).</summary>
    private static int Threads(long work) =>
        serialOnThisThread ? 1 : (int)Math.Clamp(work / WorkPerThread, 1, Math.Max(1, MaxThreads));

    /// <summary>
    /// <see cref="Sgemm"/> or <see cref="Dgemm"/> by element type, for kernels written once for
    /// both precisions (the blocked Cholesky and triangular solves).
    /// </summary>
    internal static void Gemm<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, INumberBase<T>
    {
        if (typeof(T) == typeof(double))
        {
            Dgemm(transA, transB, m, n, k, double.CreateTruncating(alpha), (double*)a, lda, (double*)b, ldb, double.CreateTruncating(beta), (double*)c, ldc);
        }
        else if (typeof(T) == typeof(float))
        {
            Sgemm(transA, transB, m, n, k, float.CreateTruncating(alpha), (float*)a, lda, (float*)b, ldb, float.CreateTruncating(beta), (float*)c, ldc);
        }
        else
        {
            throw new NotSupportedException($"GEMM of {typeof(T).Name}");
        }
    }

    /// <summary>The same GEMM with an explicit micro-kernel, so tests can check every kernel this CPU can run.</summary>
    internal static void Gemm<T, TKernel>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, INumberBase<T>
        where TKernel : IGemmMicroKernel<T>
    {
        Validate(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0 || T.IsZero(alpha))
        {
            Scale(m, n, beta, c, ldc);
            return;
        }

        int threads = Threads((long)m * n * k);
        GemmDriver<T, TKernel>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);

        // Same rule as CBLAS row-major: the leading dimension covers one stored row.
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, Math.Max(1, transA ? m : k));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, Math.Max(1, transB ? k : n));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, Math.Max(1, n));
    }

    /// <summary>C = beta·C, with beta == 0 writing zeros without reading C.</summary>
    private static void Scale<T>(int m, int n, T beta, T* c, int ldc)
        where T : unmanaged, INumberBase<T>
    {
        if (T.IsZero(beta))
        {
            for (int i = 0; i < m; i++)
            {
                new Span<T>(c + (nint)i * ldc, n).Clear();
            }
        }
        else if (beta != T.One)
        {
            for (int i = 0; i < m; i++)
            {
                T* row = c + (nint)i * ldc;
                for (int j = 0; j < n; j++)
                {
                    row[j] *= beta;
                }
            }
        }
    }
}
