using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RawDistill.Backends.Cpu;

/// <summary>
/// AVX2+FMA micro-kernel: a 6×(2·W) tile of C (W = lanes of a ymm register), i.e. 6×16 for
/// f32 and 6×8 for f64 — the classic Haswell shape.
/// </summary>
/// <remarks>
/// Register budget (16 ymm): 12 accumulators + 2 B vectors + 1 broadcast A value = 15.
/// KC = 256: the B micro-panel (256·16·4 B = 16 KiB) fits a 32 KiB L1. MC = 144: the f32 A
/// block (144 KiB) fits the 256–512 KiB L2 of AVX2-only cores. NC = 4080 (a multiple of NR):
/// the shared B panel is ~4 MiB, for L3.
/// </remarks>
internal readonly unsafe struct Avx2MicroKernel<T> : IGemmMicroKernel<T>
    where T : unmanaged, INumberBase<T>
{
    public static int MR => 6;

    public static int NR => 2 * Vector256<T>.Count;

    public static int KC => 256;

    public static int MC => typeof(T) == typeof(float) ? 144 : 72;

    public static int NC => 4080;

    public static bool IsSupported => Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
    {
        Vector256<T> c00 = default, c01 = default;
        Vector256<T> c10 = default, c11 = default;
        Vector256<T> c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default;
        Vector256<T> c40 = default, c41 = default;
        Vector256<T> c50 = default, c51 = default;
        Vector256<T> va;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.Load(b);
            Vector256<T> b1 = Vector256.Load(b + Vector256<T>.Count);
            va = Vector256.Create(a[0]);
            c00 = Fma(va, b0, c00);
            c01 = Fma(va, b1, c01);
            va = Vector256.Create(a[1]);
            c10 = Fma(va, b0, c10);
            c11 = Fma(va, b1, c11);
            va = Vector256.Create(a[2]);
            c20 = Fma(va, b0, c20);
            c21 = Fma(va, b1, c21);
            va = Vector256.Create(a[3]);
            c30 = Fma(va, b0, c30);
            c31 = Fma(va, b1, c31);
            va = Vector256.Create(a[4]);
            c40 = Fma(va, b0, c40);
            c41 = Fma(va, b1, c41);
            va = Vector256.Create(a[5]);
            c50 = Fma(va, b0, c50);
            c51 = Fma(va, b1, c51);
            a += 6;
            b += 2 * Vector256<T>.Count;
        }

        Vector256<T> vAlpha = Vector256.Create(alpha);
        if (T.IsZero(beta))
        {
            // beta == 0: C may hold garbage (NaN), so it is written without being read.
            StoreRow(c + 0 * ldc, c00, c01, vAlpha);
            StoreRow(c + 1 * ldc, c10, c11, vAlpha);
            StoreRow(c + 2 * ldc, c20, c21, vAlpha);
            StoreRow(c + 3 * ldc, c30, c31, vAlpha);
            StoreRow(c + 4 * ldc, c40, c41, vAlpha);
            StoreRow(c + 5 * ldc, c50, c51, vAlpha);
        }
        else
        {
            Vector256<T> vBeta = Vector256.Create(beta);
            StoreRow(c + 0 * ldc, c00, c01, vAlpha, vBeta);
            StoreRow(c + 1 * ldc, c10, c11, vAlpha, vBeta);
            StoreRow(c + 2 * ldc, c20, c21, vAlpha, vBeta);
            StoreRow(c + 3 * ldc, c30, c31, vAlpha, vBeta);
            StoreRow(c + 4 * ldc, c40, c41, vAlpha, vBeta);
            StoreRow(c + 5 * ldc, c50, c51, vAlpha, vBeta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(T* c, Vector256<T> acc0, Vector256<T> acc1, Vector256<T> alpha)
    {
        (acc0 * alpha).Store(c);
        (acc1 * alpha).Store(c + Vector256<T>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(T* c, Vector256<T> acc0, Vector256<T> acc1, Vector256<T> alpha, Vector256<T> beta)
    {
        Fma(acc0, alpha, beta * Vector256.Load(c)).Store(c);
        Fma(acc1, alpha, beta * Vector256.Load(c + Vector256<T>.Count)).Store(c + Vector256<T>.Count);
    }

    /// <summary>x·y + z in one rounding; the type test folds away when the JIT specializes T.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma(Vector256<T> x, Vector256<T> y, Vector256<T> z)
    {
        if (typeof(T) == typeof(float))
        {
            return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        }

        return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    }
}
