using System.Runtime.InteropServices;

namespace RawDistill.Benchmarks;

/// <summary>
/// The f32 operands of an m×n×k GEMM (A: m·k, B: k·n, C: m·n values, densely stored in either
/// orientation) in 64-byte-aligned native memory, A and B filled with uniform values in [-1, 1),
/// so both GEMMs under comparison see identical, identically aligned operands.
/// </summary>
internal sealed unsafe class GemmMatrices : IDisposable
{
    public GemmMatrices(int n, int seed = 42)
        : this(n, n, n, seed)
    {
    }

    public GemmMatrices(int m, int n, int k, int seed = 42)
    {
        (M, N, K) = (m, n, k);
        A = Alloc((long)m * k);
        B = Alloc((long)k * n);
        C = Alloc((long)m * n);
        var rng = new Random(seed);
        for (long i = 0; i < (long)m * k; i++)
        {
            A[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        for (long i = 0; i < (long)k * n; i++)
        {
            B[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        new Span<float>(C, checked((int)((long)m * n))).Clear();
    }

    public int M { get; }

    public int N { get; }

    public int K { get; }

    public float* A { get; }

    public float* B { get; }

    public float* C { get; }

    /// <summary>Floating-point operations of one n×n×n GEMM (a multiply and an add per term).</summary>
    public static double Flops(int n) => 2.0 * n * n * n;

    /// <summary>Floating-point operations of this m×n×k GEMM.</summary>
    public double Flops() => 2.0 * M * N * K;

    private static float* Alloc(long count) => (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, count) * sizeof(float), 64);

    public void Dispose()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(B);
        NativeMemory.AlignedFree(C);
    }
}
