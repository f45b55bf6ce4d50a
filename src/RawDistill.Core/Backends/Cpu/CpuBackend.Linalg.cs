namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;
using RawDistill.Tensors;

// Dense Cholesky factorization and triangular solves (the KRR inner solve).
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public int Cholesky(Storage a, int n, Storage l)
    {
        return a.DType switch
        {
            DType.F64 => CholeskyT(P<double>(a), n, P<double>(l)),
            DType.F32 => CholeskyT(P<float>(a), n, P<float>(l)),
            _ => throw Unsupported("cholesky", a.DType),
        };
    }

    /// <summary>
    /// Column by column: L[j, j] = √(A[j, j] − ‖L[j, :j]‖²), then for every row i &gt; j
    /// L[i, j] = (A[i, j] − L[i, :j]·L[j, :j]) / L[j, j]. Every inner product is over two
    /// contiguous row prefixes, so it vectorizes. The entries of one column depend only on
    /// earlier columns, so for large n the rows of a column run in parallel: each entry is
    /// computed by one thread from finished columns, the same arithmetic as the sequential loop,
    /// so the result is identical whatever the threading. (Parallelizing within a row instead
    /// is a race: L[i, j] reads L[i, :j] of the same row.) Returns the first failing pivot, or −1.
    /// </summary>
    static int CholeskyT<T>(T* a, int n, T* l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        new Span<T>(l, checked(n * n)).Clear();
        for (int j = 0; j < n; j++)
        {
            T* lj = l + (long)j * n;
            var rowj = new ReadOnlySpan<T>(lj, j);
            T d = a[(long)j * n + j] - TensorPrimitives.Dot(rowj, rowj);
            if (!(d > T.Zero)) return j;
            T ljj = T.Sqrt(d);
            lj[j] = ljj;
            void Entry(int i)
            {
                T* li = l + (long)i * n;
                T dot = TensorPrimitives.Dot(new ReadOnlySpan<T>(li, j), new ReadOnlySpan<T>(lj, j));
                li[j] = (a[(long)i * n + j] - dot) / ljj;
            }
            // Parallel only where a column has enough work to pay for the fork (rows × length).
            if ((long)(n - j - 1) * j >= ParallelCholeskyWork) Parallel.For(j + 1, n, Entry);
            else for (int i = j + 1; i < n; i++) Entry(i);
        }
        return -1;
    }

    /// <summary>Multiply-adds of one column's updates above which its rows run in parallel.</summary>
    const long ParallelCholeskyWork = 1 << 16;

    /// <inheritdoc/>
    public void TriangularSolve(Storage l, int n, Storage b, int cols, Storage x, bool transpose)
    {
        switch (l.DType)
        {
            case DType.F64: TriSolveT(P<double>(l), n, P<double>(b), cols, P<double>(x), transpose); break;
            case DType.F32: TriSolveT(P<float>(l), n, P<float>(b), cols, P<float>(x), transpose); break;
            default: throw Unsupported("triangular solve", l.DType);
        }
    }

    /// <summary>
    /// Substitution by rows of X (each row update is a vector axpy over the columns):
    /// L·X = B: X[i] = (B[i] − Σ_{j&lt;i} L[i, j]·X[j]) / L[i, i]   (forward);
    /// Lᵀ·X = B: X[i] = (B[i] − Σ_{j&gt;i} L[j, i]·X[j]) / L[i, i]  (backward).
    /// Column blocks of X are independent and run in parallel.
    /// </summary>
    static void TriSolveT<T>(T* l, int n, T* b, int cols, T* x, bool transpose) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int blockCols = 64;
        int blocks = (cols + blockCols - 1) / blockCols;
        Parallel.For(0, blocks, blk =>
        {
            int c0 = blk * blockCols, w = Math.Min(blockCols, cols - c0);
            for (int step = 0; step < n; step++)
            {
                int i = transpose ? n - 1 - step : step;
                var xi = new Span<T>(x + (long)i * cols + c0, w);
                new ReadOnlySpan<T>(b + (long)i * cols + c0, w).CopyTo(xi);
                if (!transpose)
                    for (int j = 0; j < i; j++)
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(x + (long)j * cols + c0, w), -l[(long)i * n + j], xi, xi);
                else
                    for (int j = i + 1; j < n; j++)
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(x + (long)j * cols + c0, w), -l[(long)j * n + i], xi, xi);
                TensorPrimitives.Divide(xi, l[(long)i * n + i], xi);
            }
        });
    }
}
