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
    /// Row-oriented Cholesky–Crout: L[i, j] = (A[i, j] − L[i, :j]·L[j, :j]) / L[j, j], and
    /// L[i, i] = √(A[i, i] − ‖L[i, :i]‖²). Every inner product is over two contiguous
    /// rows, so it vectorizes; the entries of one row depend only on earlier rows, so the
    /// j loop of a row runs in parallel for large n.
    /// </summary>
    static int CholeskyT<T>(T* a, int n, T* l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        new Span<T>(l, checked(n * n)).Clear();
        for (int i = 0; i < n; i++)
        {
            T* li = l + (long)i * n;
            void Entry(int j)
            {
                T* lj = l + (long)j * n;
                T dot = TensorPrimitives.Dot(new ReadOnlySpan<T>(li, j), new ReadOnlySpan<T>(lj, j));
                li[j] = (a[(long)i * n + j] - dot) / lj[j];
            }
            if (i >= 256) Parallel.For(0, i, Entry);
            else for (int j = 0; j < i; j++) Entry(j);
            var rowi = new ReadOnlySpan<T>(li, i);
            T d = a[(long)i * n + i] - TensorPrimitives.Dot(rowi, rowi);
            if (!(d > T.Zero)) return i;
            li[i] = T.Sqrt(d);
        }
        return -1;
    }

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
