using System.Numerics;
using System.Runtime.InteropServices;

namespace RawDistill.Benchmarks;

/// <summary>
/// The operands of an m×n×k GEMM (A: m·k, B: k·n, C: m·n values, densely stored in either
/// orientation) in 64-byte-aligned native memory, A and B filled with uniform values in [-1, 1),
/// so both GEMMs under comparison see identical, identically aligned operands.
/// </summary>
internal sealed unsafe class GemmMatrices<T> : IDisposable
    where T : unmanaged, IFloatingPoint<T>
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
        var rng = new System.Random(seed);
        for (long i = 0; i < (long)m * k; i++)
        {
            A[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        }

        for (long i = 0; i < (long)k * n; i++)
        {
            B[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        }

        new Span<T>(C, checked((int)((long)m * n))).Clear();
    }

    public int M { get; }

    public int N { get; }

    public int K { get; }

    public T* A { get; }

    public T* B { get; }

    public T* C { get; }

    /// <summary>Floating-point operations of this m×n×k GEMM (a multiply and an add per term).</summary>
    public double Flops() => 2.0 * M * N * K;

    public void Dispose()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(B);
        NativeMemory.AlignedFree(C);
    }

    private static T* Alloc(long count) => (T*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, count) * (nuint)sizeof(T), 64);
}
