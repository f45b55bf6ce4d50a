using System.Numerics;

namespace RawDistill.Backends.Cpu;

/// <summary>
/// Portable micro-kernel for machines with neither AVX-512 nor AVX2+FMA: a 4×4 tile of scalar
/// accumulators. Correct everywhere, fast nowhere; it exists so the packed driver has one code
/// path on every CPU.
/// </summary>
internal readonly unsafe struct ScalarMicroKernel<T> : IGemmMicroKernel<T>
    where T : unmanaged, INumberBase<T>
{
    public static int MR => 4;

    public static int NR => 4;

    public static int KC => 256;

    public static int MC => 64;

    public static int NC => 2048;

    public static bool IsSupported => true;

    public static void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
    {
        T* acc = stackalloc T[16];
        for (int i = 0; i < 16; i++)
        {
            acc[i] = T.Zero;
        }

        for (int p = 0; p < kc; p++, a += 4, b += 4)
        {
            for (int r = 0; r < 4; r++)
            {
                T ar = a[r];
                acc[r * 4 + 0] += ar * b[0];
                acc[r * 4 + 1] += ar * b[1];
                acc[r * 4 + 2] += ar * b[2];
                acc[r * 4 + 3] += ar * b[3];
            }
        }

        bool betaZero = T.IsZero(beta);
        for (int r = 0; r < 4; r++)
        {
            T* row = c + r * ldc;
            for (int j = 0; j < 4; j++)
            {
                // beta == 0: C may hold garbage (NaN), so it is written without being read.
                row[j] = betaZero ? alpha * acc[r * 4 + j] : alpha * acc[r * 4 + j] + beta * row[j];
            }
        }
    }
}
