using System.Runtime.InteropServices;

namespace RawDistill.Benchmarks;

/// <summary>
/// Three n×n f32 matrices in 64-byte-aligned native memory, A and B filled with uniform values
/// in [-1, 1), so both GEMMs under comparison see identical, identically aligned operands.
/// </summary>
internal sealed unsafe class GemmMatrices : IDisposable
{
    public GemmMatrices(int n, int seed = 42)
    {
        N = n;
        nuint bytes = (nuint)n * (nuint)n * sizeof(float);
        A = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        B = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        C = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        var rng = new System.Random(seed);
        for (long i = 0; i < (long)n * n; i++)
        {
            A[i] = (float)(rng.NextDouble() * 2 - 1);
            B[i] = (float)(rng.NextDouble() * 2 - 1);
            C[i] = 0;
        }
    }

    public int N { get; }

    public float* A { get; }

    public float* B { get; }

    public float* C { get; }

    /// <summary>Floating-point operations of one n×n×n GEMM (a multiply and an add per term).</summary>
    public static double Flops(int n) => 2.0 * n * n * n;

    public void Dispose()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(B);
        NativeMemory.AlignedFree(C);
    }
}
