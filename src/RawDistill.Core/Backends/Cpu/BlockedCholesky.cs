namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;

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
    /// unblocked diagonal work (n·nb²/3) and the TRSM's substitution work small while the
    /// GEMM's k is deep enough to amortize its C loads and packing.
    /// </summary>
    internal const int Block = 128;

    /// <summary>
    /// Width of the TRSM's column sub-blocks: inside one, entries are solved by substitution
    /// (dot products of at most this length); between them, by a GEMM.
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
        for (int k0 = 0; k0 < n; k0 += Block)
        {
            int kb = Math.Min(Block, n - k0), k1 = k0 + kb, rest = n - k1;
            T* l11 = l + (long)k0 * ld + k0;
            int bad = FactorDiagonal(l11, ld, kb);
            if (bad >= 0) return k0 + bad;
            if (rest == 0) break;
            T* l21 = l + (long)k1 * ld + k0;
            SolvePanel(l11, l21, ld, rest, kb);
            SyrkLower(l + (long)k1 * ld + k1, l21, ld, rest, kb);
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
    /// X·L11ᵀ = B in place for the rows×kb panel X (stride ld): by column sub-blocks J,
    /// X[:, J] −= X[:, :J]·L11[J, :J]ᵀ (GEMM), then X[i, j] = (X[i, j] − Σ_{j0≤p&lt;j} X[i, p]·L11[j, p]) / L11[j, j]
    /// within J, every row independent of the others.
    /// </summary>
    static void SolvePanel<T>(T* l11, T* x, int ld, int rows, int kb) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j0 = 0; j0 < kb; j0 += TrsmBlock)
        {
            int js = Math.Min(TrsmBlock, kb - j0);
            if (j0 > 0) CpuGemm.Gemm(false, true, rows, js, j0, -T.One, x, ld, l11 + (long)j0 * ld, ld, T.One, x + j0, ld);
            void Rows(int r0, int r1)
            {
                for (int i = r0; i < r1; i++)
                {
                    T* xi = x + (long)i * ld + j0;
                    for (int j = 0; j < js; j++)
                    {
                        T* lj = l11 + (long)(j0 + j) * ld + j0;
                        xi[j] = (xi[j] - TensorPrimitives.Dot(new ReadOnlySpan<T>(xi, j), new ReadOnlySpan<T>(lj, j))) / lj[j];
                    }
                }
            }

            ForRows(rows, (long)js * js / 2, Rows);
        }
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
