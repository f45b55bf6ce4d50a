namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;

/// <summary>
/// L·X = B (forward) and Lᵀ·X = B (backward) for a lower-triangular n×n L (row-major) and
/// n×cols B, X: the two solves after a Cholesky factorization (α = L⁻ᵀ·L⁻¹·Y in the KRR step).
/// </summary>
/// <remarks>
/// Small n: plain substitution by rows of X (<see cref="Substitute{T}"/>). Large n: by row
/// blocks of <see cref="BlockedCholesky.Block"/>, each first updated with everything solved
/// before it in one GEMM (forward X[I] −= L[I, :I]·X[:I]; backward X[I] −= L[I⁺, I]ᵀ·X[I⁺] with
/// I⁺ the rows below I), then solved by substitution against its diagonal block. Both are
/// deterministic: the GEMM for the reasons given in <see cref="BlockedCholesky"/>, the
/// substitution because each column block of X belongs to one thread.
/// </remarks>
internal static unsafe class TriangularSubstitution
{
    /// <summary>
    /// n from which the solves are blocked: from two row blocks on, the GEMM update replaces
    /// n·B/2 short axpys per column block. Measured with 512 right-hand sides in the benchmarks'
    /// <c>cholesky-versions</c> mode (loaded 2-core machine): level at n = 256, 2.5–5× ahead at
    /// 512–2000.
    /// </summary>
    internal const int BlockedFrom = 256;

    /// <summary>Columns of X per substitution task: X's column blocks are independent.</summary>
    const int ColumnBlock = 64;

    public static void Solve<T>(T* l, int n, T* b, int cols, T* x, bool transpose) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long count = (long)n * cols;
        if (b != x) Buffer.MemoryCopy(b, x, count * sizeof(T), count * sizeof(T));
        if (n < BlockedFrom) Substitute(l, n, 0, n, x, cols, transpose);
        else SolveInPlace(l, n, n, x, cols, transpose, BlockedCholesky.Block);
    }

    /// <summary>
    /// The blocked solve in place on X (which holds B), for an n×n L stored with row stride
    /// <paramref name="ldl"/> and row blocks of <paramref name="block"/> (the blocked Cholesky's
    /// panel solve uses it too, on the transposed panel).
    /// </summary>
    internal static void SolveInPlace<T>(T* l, int ldl, int n, T* x, int cols, bool transpose, int block) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = (n + block - 1) / block;
        for (int s = 0; s < blocks; s++)
        {
            // Forward walks the row blocks top-down, backward bottom-up.
            int blk = transpose ? blocks - 1 - s : s;
            int i0 = blk * block, i1 = Math.Min(n, i0 + block), ib = i1 - i0;
            T* xi = x + (long)i0 * cols;
            if (!transpose && i0 > 0)
                CpuGemm.Gemm(false, false, ib, cols, i0, -T.One, l + (long)i0 * ldl, ldl, x, cols, T.One, xi, cols);
            else if (transpose && i1 < n)
                CpuGemm.Gemm(true, false, ib, cols, n - i1, -T.One, l + (long)i1 * ldl + i0, ldl, x + (long)i1 * cols, cols, T.One, xi, cols);
            Substitute(l, ldl, i0, i1, x, cols, transpose);
        }
    }

    /// <summary>
    /// Substitution restricted to the diagonal block L[i0:i1, i0:i1] (L's row stride ldl), in place on
    /// the rows i0 … i1 of X (which already hold B minus everything outside the block):
    /// forward X[i] = (X[i] − Σ_{i0≤j&lt;i} L[i, j]·X[j]) / L[i, i];
    /// backward X[i] = (X[i] − Σ_{i&lt;j&lt;i1} L[j, i]·X[j]) / L[i, i]. Each row update is a vector
    /// axpy over the columns; column blocks of X are independent and run in parallel.
    /// </summary>
    internal static void Substitute<T>(T* l, int ldl, int i0, int i1, T* x, int cols, bool transpose) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = (cols + ColumnBlock - 1) / ColumnBlock;
        Parallel.For(0, blocks, blk =>
        {
            int c0 = blk * ColumnBlock, w = Math.Min(ColumnBlock, cols - c0);
            for (int step = i0; step < i1; step++)
            {
                int i = transpose ? i1 - 1 - (step - i0) : step;
                var xi = new Span<T>(x + (long)i * cols + c0, w);
                if (!transpose)
                    for (int j = i0; j < i; j++)
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(x + (long)j * cols + c0, w), -l[(long)i * ldl + j], xi, xi);
                else
                    for (int j = i + 1; j < i1; j++)
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(x + (long)j * cols + c0, w), -l[(long)j * ldl + i], xi, xi);
                TensorPrimitives.Divide(xi, l[(long)i * ldl + i], xi);
            }
        });
    }
}
