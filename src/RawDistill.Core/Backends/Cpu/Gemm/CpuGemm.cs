namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;

// TEMPORARY simple GEMM (row-axpy with TensorPrimitives) while the packed kernel is
// written on its own branch; replaced wholesale when that lands.
internal static unsafe class CpuGemm
{
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc)
        => Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    static void Gemm<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[]? bt = null;
        if (transB)
        {
            // Materialize B as k×n so each step is a contiguous axpy.
            bt = new T[(long)k * n];
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++) bt[(long)p * n + j] = b[(long)j * ldb + p];
        }
        Parallel.For(0, m, i =>
        {
            var row = new Span<T>(c + (long)i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else if (beta != T.One) TensorPrimitives.Multiply(row, beta, row);
            for (int p = 0; p < k; p++)
            {
                T av = alpha * (transA ? a[(long)p * lda + i] : a[(long)i * lda + p]);
                if (av == T.Zero) continue;
                ReadOnlySpan<T> brow = bt != null ? new ReadOnlySpan<T>(bt, p * n, n) : new ReadOnlySpan<T>(b + (long)p * ldb, n);
                TensorPrimitives.MultiplyAdd(brow, av, row, row);
            }
        });
    }
}
