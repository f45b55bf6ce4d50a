namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;

/// <summary>
/// C[m×n] = alpha·op(A)·op(B) + beta·C for a narrow C (n ≤ <see cref="MaxColumns"/>), without
/// packing A. The blocked driver repacks all of op(A) on every call, which for a thin product
/// costs as much as the multiply: the linear probe's X·W and Xᵀ·R (X 6 000 × 2 048 features,
/// 10 classes, f64) spent two thirds of their time in PackA, and the micro-kernel's 16-wide
/// tile used 10 of its lanes. Here A is read once, straight from where it lies:
/// <list type="bullet">
/// <item>op(A) = A (rows contiguous): C[i, c] = Σ_k A[i, k]·B[k, c], a SIMD dot product of row i
/// with column c of op(B) (gathered once into an n × k buffer unless B is stored transposed);</item>
/// <item>op(A) = Aᵀ (A stored k × m): for a block of output rows i0..i0+w, Cᵀ[c, i] += op(B)[kk, c]·A[kk, i]
/// for every kk, SIMD along i over A's contiguous stored rows.</item>
/// </list>
/// Every output is computed by one thread in a fixed order, so the result does not depend on
/// the thread count.
/// </summary>
internal static unsafe class ThinGemm
{
    /// <summary>Widest C this path takes; wider ones keep the micro-kernel busy enough to pay for packing.</summary>
    internal const int MaxColumns = 12;

    /// <summary>Output rows per task of the transposed-A case (its n × w accumulator stays in L1/L2).</summary>
    const int RowBlock = 256;

    internal static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc, int threads)
        where T : unmanaged, INumberBase<T>
    {
        if (!transA) RunRows(transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
        else RunTransposed(transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
    }

    static void RunRows<T>(bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc, int threads)
        where T : unmanaged, INumberBase<T>
    {
        // Columns of op(B) as contiguous rows: B itself when stored transposed (n × k), else gathered.
        using var gathered = HostScratch<T>.RentIf(!transB, (long)n * k);
        T* bt = b;
        int ldbt = ldb;
        if (!transB)
        {
            bt = gathered.Ptr;
            ldbt = k;
            for (int kk = 0; kk < k; kk++)
                for (int col = 0; col < n; col++) bt[(long)col * k + kk] = b[(long)kk * ldb + col];
        }

        nint ap = (nint)a, btp = (nint)bt, cp = (nint)c; // pointers cannot be captured by the lambda
        int blocks = (m + RowBlock - 1) / RowBlock;
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, blk =>
        {
            int i1 = Math.Min(m, (blk + 1) * RowBlock);
            for (int i = blk * RowBlock; i < i1; i++)
            {
                var row = new ReadOnlySpan<T>((T*)ap + (long)i * lda, k);
                T* ci = (T*)cp + (long)i * ldc;
                for (int col = 0; col < n; col++)
                {
                    T dot = TensorPrimitives.Dot(row, new ReadOnlySpan<T>((T*)btp + (long)col * ldbt, k));
                    ci[col] = T.IsZero(beta) ? alpha * dot : alpha * dot + beta * ci[col];
                }
            }
        });
    }

    static void RunTransposed<T>(bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc, int threads)
        where T : unmanaged, INumberBase<T>
    {
        nint ap = (nint)a, bp = (nint)b, cp = (nint)c;
        int blocks = (m + RowBlock - 1) / RowBlock;
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, blk =>
        {
            int i0 = blk * RowBlock, w = Math.Min(RowBlock, m - i0);
            using var accBuf = HostScratch<T>.Rent((long)n * w, clear: true);
            T* acc = accBuf.Ptr;
            for (int kk = 0; kk < k; kk++)
            {
                var arow = new ReadOnlySpan<T>((T*)ap + (long)kk * lda + i0, w);
                for (int col = 0; col < n; col++)
                {
                    T bv = transB ? ((T*)bp)[(long)col * ldb + kk] : ((T*)bp)[(long)kk * ldb + col];
                    var accRow = new Span<T>(acc + (long)col * w, w);
                    TensorPrimitives.MultiplyAdd(arow, bv, accRow, accRow);
                }
            }
            for (int i = 0; i < w; i++)
            {
                T* ci = (T*)cp + (long)(i0 + i) * ldc;
                for (int col = 0; col < n; col++)
                {
                    T v = acc[(long)col * w + i];
                    ci[col] = T.IsZero(beta) ? alpha * v : alpha * v + beta * ci[col];
                }
            }
        });
    }
}
