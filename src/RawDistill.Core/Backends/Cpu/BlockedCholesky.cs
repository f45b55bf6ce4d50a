namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

/// <summary>
/// Blocked right-looking Cholesky A = L·Lᵀ (row-major, lower), for the large KRR solves
/// (m = 500 … 2000) where the unblocked column loop runs at a few GFLOP/s.
/// </summary>
/// <remarks>
/// For each block column [k0, k1) of width <see cref="Block"/>, on the working copy of A in L:
/// <code>
/// L11 = chol(A11)                    unblocked, nb³/3 of the n³/3 multiply-adds
/// L21 = A21·L11⁻ᵀ                    panel TRSM: column sub-blocks, GEMM for all but their diagonal
/// A22 = A22 − L21·L21ᵀ  (lower part)  SYRK through the packed GEMM: where the time goes
/// </code>
/// Every update goes through <see cref="CpuGemm"/>, whose result does not depend on how its
/// threads are scheduled (each C tile is written by one worker in a fixed k order), and the
/// hand-written loops give each entry to one thread with the same arithmetic as a sequential
/// loop, so the factor is the same every run. It is not bitwise the unblocked factor: the
/// sums are taken in another order (the tests bound the difference).
/// </remarks>
internal static unsafe class BlockedCholesky
{
    /// <summary>
    /// Width of a block column. The trailing update is a GEMM of depth nb: 128 keeps the
    /// unblocked diagonal work (n·nb²/3) and the panel solve (n²·nb/4) small while the GEMM's k
    /// is deep enough to amortize its C loads and packing. 64, 128 and 256 were within the noise
    /// of each other at n = 1000 and 2000 on the loaded 2-core machine (cholesky-versions mode);
    /// recheck on a quiet one.
    /// </summary>
    internal const int Block = 128;

    /// <summary>
    /// Row blocks of the panel solve (on the transposed panel): inside one, substitution by
    /// axpys; between them, GEMM.
    /// </summary>
    const int TrsmBlock = 32;

    /// <summary>
    /// Rows of a SYRK leaf: the recursion computes a full square GEMM there (its strict upper
    /// half is wasted and later cleared); above it, the off-diagonal halves are rectangles.
    /// </summary>
    const int SyrkLeaf = 64;

    /// <summary>Multiply-adds of a substitution step above which its rows run in parallel.</summary>
    const long ParallelWork = 1 << 16;

    /// <summary>
    /// Factors the n×n SPD matrix <paramref name="a"/> into <paramref name="l"/> (lower, zeros
    /// above the diagonal). Returns the first index whose pivot is not positive, or −1.
    /// </summary>
    public static int Factor<T>(T* a, int n, T* l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long count = (long)n * n;
        if (a != l) Buffer.MemoryCopy(a, l, count * sizeof(T), count * sizeof(T));
        int ld = n;
        T* scratch = (T*)NativeMemory.Alloc((nuint)Math.Max(0, n - Math.Min(Block, n)) * (nuint)Block, (nuint)sizeof(T));
        try
        {
            for (int k0 = 0; k0 < n; k0 += Block)
            {
                int kb = Math.Min(Block, n - k0), k1 = k0 + kb, rest = n - k1;
                T* l11 = l + (long)k0 * ld + k0;
                int bad = FactorDiagonal(l11, ld, kb);
                if (bad >= 0) return k0 + bad;
                if (rest == 0) break;
                T* l21 = l + (long)k1 * ld + k0;
                SolvePanel(l11, l21, ld, rest, kb, scratch);
                SyrkLower(l + (long)k1 * ld + k1, l21, ld, rest, kb);
            }
        }
        finally
        {
            NativeMemory.Free(scratch);
        }

        // The SYRK leaves and the copy of A wrote above the diagonal; L is lower triangular.
        for (int i = 0; i < n - 1; i++) new Span<T>(l + (long)i * ld + i + 1, n - 1 - i).Clear();
        return -1;
    }

    /// <summary>
    /// In-place unblocked factorization of the kb×kb diagonal block (stride ld), column by column
    /// as in CpuBackend.CholeskyT; only its lower triangle is read.
    /// </summary>
    static int FactorDiagonal<T>(T* a, int ld, int kb) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < kb; j++)
        {
            T* lj = a + (long)j * ld;
            var rowj = new ReadOnlySpan<T>(lj, j);
            T d = lj[j] - TensorPrimitives.Dot(rowj, rowj);
            if (!(d > T.Zero)) return j;
            T ljj = T.Sqrt(d);
            lj[j] = ljj;
            for (int i = j + 1; i < kb; i++)
            {
                T* li = a + (long)i * ld;
                li[j] = (li[j] - TensorPrimitives.Dot(new ReadOnlySpan<T>(li, j), rowj)) / ljj;
            }
        }

        return -1;
    }

    /// <summary>
    /// X·L11ᵀ = B in place for the rows×kb panel X (stride ld), solved as L11·Xᵀ = Bᵀ on a
    /// transposed copy: there each substitution step is an axpy along a row of Xᵀ (rows long,
    /// vectorized), and the blocked solve does all but the TrsmBlock-wide diagonal blocks by GEMM.
    /// (Solved row by row in place instead, every entry is a dot product shorter than the block:
    /// rows·kb calls of a few multiply-adds each, measured at 40 % of the whole factorization.)
    /// </summary>
    static void SolvePanel<T>(T* l11, T* x, int ld, int rows, int kb, T* scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Transpose(x, ld, rows, kb, scratch, rows);
        TriangularSubstitution.SolveInPlace(l11, ld, kb, scratch, rows, transpose: false, TrsmBlock);
        Transpose(scratch, rows, kb, rows, x, ld);
    }

    /// <summary>dst (cols×rows, stride ldd) = srcᵀ (src rows×cols, stride lds), in square tiles so both sides stay in cache.</summary>
    static void Transpose<T>(T* src, int lds, int rows, int cols, T* dst, int ldd) where T : unmanaged
    {
        const int tile = 32;
        int tiles = (rows + tile - 1) / tile;
        ForRows(tiles, (long)tile * cols / 4, (t0, t1) =>
        {
            for (int r0 = t0 * tile; r0 < Math.Min(rows, t1 * tile); r0 += tile)
                for (int c0 = 0; c0 < cols; c0 += tile)
                    for (int r = r0; r < Math.Min(rows, r0 + tile); r++)
                        for (int c = c0; c < Math.Min(cols, c0 + tile); c++)
                            dst[(long)c * ldd + r] = src[(long)r * lds + c];
        });
    }

    /// <summary>
    /// Lower triangle of the m×m block C (stride ld) −= A·Aᵀ, A being m×k: split in halves,
    /// C21 −= A2·A1ᵀ is one rectangular GEMM, C11 and C22 recurse down to square leaves.
    /// </summary>
    static void SyrkLower<T>(T* c, T* a, int ld, int m, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m <= SyrkLeaf)
        {
            CpuGemm.Gemm(false, true, m, m, k, -T.One, a, ld, a, ld, T.One, c, ld);
            return;
        }

        // A split on a leaf boundary keeps the leaves full-sized.
        int h = (m / 2 + SyrkLeaf - 1) / SyrkLeaf * SyrkLeaf;
        SyrkLower(c, a, ld, h, k);
        T* a2 = a + (long)h * ld;
        CpuGemm.Gemm(false, true, m - h, h, k, -T.One, a2, ld, a, ld, T.One, c + (long)h * ld, ld);
        SyrkLower(c + (long)h * ld + h, a2, ld, m - h, k);
    }

    /// <summary>
    /// Runs <paramref name="body"/> over row ranges of [0, rows): in parallel chunks when a
    /// row's <paramref name="workPerRow"/> times the rows pays for the fork, else in one call.
    /// Rows are independent, so the split does not change any result.
    /// </summary>
    internal static void ForRows(int rows, long workPerRow, Action<int, int> body)
    {
        int chunks = (int)Math.Clamp(rows * workPerRow / ParallelWork, 1, Math.Min(rows, 4 * Environment.ProcessorCount));
        if (chunks == 1)
        {
            body(0, rows);
            return;
        }

        Parallel.For(0, chunks, t => body((int)((long)rows * t / chunks), (int)((long)rows * (t + 1) / chunks)));
    }
}
