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
            DType.F64 => n < BlockedCholeskyFrom ? CholeskyT(P<double>(a), n, P<double>(l)) : BlockedCholesky.Factor(P<double>(a), n, P<double>(l)),
            DType.F32 => n < BlockedCholeskyFrom ? CholeskyT(P<float>(a), n, P<float>(l)) : BlockedCholesky.Factor(P<float>(a), n, P<float>(l)),
            _ => throw Unsupported("cholesky", a.DType),
        };
    }

    /// <summary>
    /// n from which <see cref="Cholesky"/> uses <see cref="BlockedCholesky"/>; below it, the
    /// unblocked loop (the KRR CPU config's m = 100 stays there). Measured with the benchmarks'
    /// <c>cholesky-versions</c> mode (unblocked and blocked alternating): on the 2-core machine the
    /// blocked factor was slower at n = 128 (one block: the copy and the panel machinery for
    /// nothing) and ahead from n = 192–256 on, 2.5–4× at 1000–2000. Taken under heavy load
    /// (load average ~20), so the exact point is rough; recheck with
    /// <c>cholesky-versions --sizes 128,192,256,320,384</c> on a quiet machine.
    /// </summary>
    internal const int BlockedCholeskyFrom = 256;

    /// <summary>
    /// The unblocked factorization, column by column: L[j, j] = √(A[j, j] − ‖L[j, :j]‖²), then for every row i &gt; j
    /// L[i, j] = (A[i, j] − L[i, :j]·L[j, :j]) / L[j, j]. Every inner product is over two
    /// contiguous row prefixes, so it vectorizes. The entries of one column depend only on
    /// earlier columns, so for large n the rows of a column run in parallel: each entry is
    /// computed by one thread from finished columns, the same arithmetic as the sequential loop,
    /// so the result is identical whatever the threading. (Parallelizing within a row instead
    /// is a race: L[i, j] reads L[i, :j] of the same row.) Returns the first failing pivot, or −1.
    /// </summary>
    internal static int CholeskyT<T>(T* a, int n, T* l) where T : unmanaged, IFloatingPointIeee754<T>
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
            case DType.F64: TriangularSubstitution.Solve(P<double>(l), n, P<double>(b), cols, P<double>(x), transpose); break;
            case DType.F32: TriangularSubstitution.Solve(P<float>(l), n, P<float>(b), cols, P<float>(x), transpose); break;
            default: throw Unsupported("triangular solve", l.DType);
        }
    }
}
