using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RawDistill.Backends.Cpu;

/// <summary>
/// AVX-512 micro-kernel: a 14×(2·W) tile of C (W = lanes of a zmm register: 16 floats or 8 doubles),
/// i.e. 14×32 for f32 and 14×16 for f64.
/// </summary>
/// <remarks>
/// Register budget (32 zmm): 28 accumulators + 2 B vectors + 1 broadcast A value = 31.
/// Per k step: 2 vector loads and 14 broadcasts feed 28 FMAs, so the FMA pipes rather than the
/// load ports are the bottleneck, and 28 independent accumulators cover the FMA latency
/// (4 cycles × 2 pipes needs 8).
/// KC = 256: the B micro-panel (256·32·4 B = 32 KiB) stays in a 48 KiB L1 while the A
/// micro-panels (14 KiB) stream from L2. MC = 504 (14·36): the A block is 504 KiB at most, half
/// of a 1 MiB L2. NC = 4096: the shared B panel (4 MiB) lives in L3.
/// </remarks>
internal readonly unsafe struct Avx512MicroKernel<T> : IGemmMicroKernel<T>
    where T : unmanaged, INumberBase<T>
{
    public static int MR => 14;

    public static int NR => 2 * Vector512<T>.Count;

    public static int KC => 256;

    // Keeps the A block's bytes constant across f32/f64 (504 rows of f32, 252 of f64).
    public static int MC => typeof(T) == typeof(float) ? 504 : 252;

    public static int NC => 4096;

    public static bool IsSupported => Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
    {
        Vector512<T> c00 = default, c01 = default;
        Vector512<T> c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default;
        Vector512<T> c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default;
        Vector512<T> c70 = default, c71 = default;
        Vector512<T> c80 = default, c81 = default;
        Vector512<T> c90 = default, c91 = default;
        Vector512<T> c100 = default, c101 = default;
        Vector512<T> c110 = default, c111 = default;
        Vector512<T> c120 = default, c121 = default;
        Vector512<T> c130 = default, c131 = default;
        Vector512<T> va;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b);
            Vector512<T> b1 = Vector512.Load(b + Vector512<T>.Count);
            va = Vector512.Create(a[0]);
            c00 = Fma(va, b0, c00);
            c01 = Fma(va, b1, c01);
            va = Vector512.Create(a[1]);
            c10 = Fma(va, b0, c10);
            c11 = Fma(va, b1, c11);
            va = Vector512.Create(a[2]);
            c20 = Fma(va, b0, c20);
            c21 = Fma(va, b1, c21);
            va = Vector512.Create(a[3]);
            c30 = Fma(va, b0, c30);
            c31 = Fma(va, b1, c31);
            va = Vector512.Create(a[4]);
            c40 = Fma(va, b0, c40);
            c41 = Fma(va, b1, c41);
            va = Vector512.Create(a[5]);
            c50 = Fma(va, b0, c50);
            c51 = Fma(va, b1, c51);
            va = Vector512.Create(a[6]);
            c60 = Fma(va, b0, c60);
            c61 = Fma(va, b1, c61);
            va = Vector512.Create(a[7]);
            c70 = Fma(va, b0, c70);
            c71 = Fma(va, b1, c71);
            va = Vector512.Create(a[8]);
            c80 = Fma(va, b0, c80);
            c81 = Fma(va, b1, c81);
            va = Vector512.Create(a[9]);
            c90 = Fma(va, b0, c90);
            c91 = Fma(va, b1, c91);
            va = Vector512.Create(a[10]);
            c100 = Fma(va, b0, c100);
            c101 = Fma(va, b1, c101);
            va = Vector512.Create(a[11]);
            c110 = Fma(va, b0, c110);
            c111 = Fma(va, b1, c111);
            va = Vector512.Create(a[12]);
            c120 = Fma(va, b0, c120);
            c121 = Fma(va, b1, c121);
            va = Vector512.Create(a[13]);
            c130 = Fma(va, b0, c130);
            c131 = Fma(va, b1, c131);
            a += 14;
            b += 2 * Vector512<T>.Count;
        }

        Vector512<T> vAlpha = Vector512.Create(alpha);
        if (T.IsZero(beta))
        {
            // beta == 0: C may hold garbage (NaN), so it is written without being read.
            StoreRow(c + 0 * ldc, c00, c01, vAlpha);
            StoreRow(c + 1 * ldc, c10, c11, vAlpha);
            StoreRow(c + 2 * ldc, c20, c21, vAlpha);
            StoreRow(c + 3 * ldc, c30, c31, vAlpha);
            StoreRow(c + 4 * ldc, c40, c41, vAlpha);
            StoreRow(c + 5 * ldc, c50, c51, vAlpha);
            StoreRow(c + 6 * ldc, c60, c61, vAlpha);
            StoreRow(c + 7 * ldc, c70, c71, vAlpha);
            StoreRow(c + 8 * ldc, c80, c81, vAlpha);
            StoreRow(c + 9 * ldc, c90, c91, vAlpha);
            StoreRow(c + 10 * ldc, c100, c101, vAlpha);
            StoreRow(c + 11 * ldc, c110, c111, vAlpha);
            StoreRow(c + 12 * ldc, c120, c121, vAlpha);
            StoreRow(c + 13 * ldc, c130, c131, vAlpha);
        }
        else
        {
            Vector512<T> vBeta = Vector512.Create(beta);
            StoreRow(c + 0 * ldc, c00, c01, vAlpha, vBeta);
            StoreRow(c + 1 * ldc, c10, c11, vAlpha, vBeta);
            StoreRow(c + 2 * ldc, c20, c21, vAlpha, vBeta);
            StoreRow(c + 3 * ldc, c30, c31, vAlpha, vBeta);
            StoreRow(c + 4 * ldc, c40, c41, vAlpha, vBeta);
            StoreRow(c + 5 * ldc, c50, c51, vAlpha, vBeta);
            StoreRow(c + 6 * ldc, c60, c61, vAlpha, vBeta);
            StoreRow(c + 7 * ldc, c70, c71, vAlpha, vBeta);
            StoreRow(c + 8 * ldc, c80, c81, vAlpha, vBeta);
            StoreRow(c + 9 * ldc, c90, c91, vAlpha, vBeta);
            StoreRow(c + 10 * ldc, c100, c101, vAlpha, vBeta);
            StoreRow(c + 11 * ldc, c110, c111, vAlpha, vBeta);
            StoreRow(c + 12 * ldc, c120, c121, vAlpha, vBeta);
            StoreRow(c + 13 * ldc, c130, c131, vAlpha, vBeta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(T* c, Vector512<T> acc0, Vector512<T> acc1, Vector512<T> alpha)
    {
        (acc0 * alpha).Store(c);
        (acc1 * alpha).Store(c + Vector512<T>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(T* c, Vector512<T> acc0, Vector512<T> acc1, Vector512<T> alpha, Vector512<T> beta)
    {
        Fma(acc0, alpha, beta * Vector512.Load(c)).Store(c);
        Fma(acc1, alpha, beta * Vector512.Load(c + Vector512<T>.Count)).Store(c + Vector512<T>.Count);
    }

    /// <summary>x·y + z in one rounding; the type test folds away when the JIT specializes T.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (typeof(T) == typeof(float))
        {
            return Avx512F.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        }

        return Avx512F.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    }
}
