using System.Numerics;
using System.Runtime.CompilerServices;

namespace RawDistill.Backends.Cpu;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous micro-panel layout the micro-kernel
/// streams through: A as MR-row panels (MR values per k), B as NR-column panels (NR values per k).
/// </summary>
/// <remarks>
/// Packing turns every operand layout (transposed or not, any leading dimension) into unit-stride,
/// aligned reads inside the kernel, which is what lets one kernel serve all four transpose pairs.
/// Partial edge panels are zero-padded so the kernel always computes a full tile; the driver
/// discards the padded rows/columns when it writes C.
/// </remarks>
internal static unsafe class GemmPacking<T, TKernel>
    where T : unmanaged, INumberBase<T>
    where TKernel : IGemmMicroKernel<T>
{
    /// <summary>
    /// Packs op(A)[i0 .. i0+mc, p0 .. p0+kc] into <paramref name="dst"/> as ceil(mc/MR) panels of kc·MR values.
    /// A is m×k (row i at a + i·lda) or, when <paramref name="trans"/>, k×m (row p at a + p·lda).
    /// </summary>
    public static void PackA(bool trans, T* a, nint lda, int i0, int p0, int mc, int kc, T* dst)
    {
        int mr = TKernel.MR;
        for (int ir = 0; ir < mc; ir += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, mc - ir);
            if (trans)
            {
                // op(A) column p is a contiguous row of the stored A: copy MR values per k.
                T* src = a + (nint)p0 * lda + i0 + ir;
                for (int p = 0; p < kc; p++, src += lda)
                {
                    T* d = dst + p * mr;
                    int r = 0;
                    for (; r < rows; r++)
                    {
                        d[r] = src[r];
                    }

                    for (; r < mr; r++)
                    {
                        d[r] = T.Zero;
                    }
                }
            }
            else
            {
                // op(A) row r is a contiguous row of the stored A: scatter it with stride MR.
                for (int r = 0; r < rows; r++)
                {
                    T* src = a + (nint)(i0 + ir + r) * lda + p0;
                    T* d = dst + r;
                    for (int p = 0; p < kc; p++)
                    {
                        d[p * mr] = src[p];
                    }
                }

                for (int r = rows; r < mr; r++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        dst[p * mr + r] = T.Zero;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs NR-column panels <paramref name="panel0"/> .. <paramref name="panel1"/> (exclusive) of
    /// op(B)[p0 .. p0+kc, j0 .. j0+nc] into <paramref name="dst"/>; panel q lands at dst + q·kc·NR.
    /// B is k×n (row p at b + p·ldb) or, when <paramref name="trans"/>, n×k (row j at b + j·ldb).
    /// </summary>
    public static void PackB(bool trans, T* b, nint ldb, int p0, int j0, int kc, int nc, int panel0, int panel1, T* dst)
    {
        int nr = TKernel.NR;
        for (int q = panel0; q < panel1; q++)
        {
            int jr = q * nr;
            int cols = Math.Min(nr, nc - jr);
            T* d = dst + (nint)q * kc * nr;
            if (!trans)
            {
                // op(B) row p is contiguous: one NR-wide copy per k (unrolled by the JIT: the size is constant).
                T* src = b + (nint)p0 * ldb + j0 + jr;
                if (cols == nr)
                {
                    for (int p = 0; p < kc; p++, src += ldb, d += nr)
                    {
                        Unsafe.CopyBlockUnaligned(d, src, (uint)(nr * sizeof(T)));
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++, src += ldb, d += nr)
                    {
                        int j = 0;
                        for (; j < cols; j++)
                        {
                            d[j] = src[j];
                        }

                        for (; j < nr; j++)
                        {
                            d[j] = T.Zero;
                        }
                    }
                }
            }
            else
            {
                // op(B) column j is a contiguous row of the stored B: scatter it with stride NR.
                for (int j = 0; j < cols; j++)
                {
                    T* src = b + (nint)(j0 + jr + j) * ldb + p0;
                    for (int p = 0; p < kc; p++)
                    {
                        d[p * nr + j] = src[p];
                    }
                }

                for (int j = cols; j < nr; j++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        d[p * nr + j] = T.Zero;
                    }
                }
            }
        }
    }
}
