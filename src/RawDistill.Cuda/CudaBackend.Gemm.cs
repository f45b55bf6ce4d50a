namespace RawDistill.Cuda;

using RawDistill.Backends;
using RawDistill.Cuda.Native;
using RawDistill.Tensors;

// GEMM through cuBLAS (no kernel file: cuBLAS is the kernel).
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Gemm(in GemmArgs g, Storage a, Storage b, Storage c)
    {
        FloatSuffix(a.DType, "gemm");
        SameDType("gemm", a.DType, b, c);
        if (g.Batch < 0 || g.M < 0 || g.N < 0 || g.K < 0) throw new ArgumentException("gemm: negative size");
        if (g.Batch == 0 || g.M == 0 || g.N == 0) return;
        // Stored shapes (before op): A is [M, K] or [K, M], B is [K, N] or [N, K], C is [M, N].
        ulong pa = GemmOperand(a, "A", g.OffsetA, g.StrideA, g.Batch, g.TransA ? g.K : g.M, g.TransA ? g.M : g.K, g.Lda);
        ulong pb = GemmOperand(b, "B", g.OffsetB, g.StrideB, g.Batch, g.TransB ? g.N : g.K, g.TransB ? g.K : g.N, g.Ldb);
        ulong pc = GemmOperand(c, "C", g.OffsetC, g.StrideC, g.Batch, g.M, g.N, g.Ldc);
        GemmRowMajor(a.DType, g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, pa, g.Lda, g.StrideA, pb, g.Ldb, g.StrideB, g.Beta, pc, g.Ldc, g.StrideC, g.Batch);
    }

    ulong GemmOperand(Storage s, string name, long offset, long stride, int batch, int rows, int cols, int ld)
    {
        if (rows > 0 && cols > 0 && ld < cols) throw new ArgumentException($"gemm: ld{name.ToLowerInvariant()}={ld} is less than the {cols} columns of {name}");
        long extent = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        return Ptr(s, offset, (batch - 1) * stride + extent);
    }

    /// <summary>
    /// Row-major (strided batched) C = α·op(A)·op(B) + β·C on device pointers, through
    /// column-major cuBLAS. The trick: a row-major matrix X [r, c] with row stride ld is, read
    /// column-major with the same ld, the c×r matrix Xᵀ. So cuBLAS sees our C as Cᵀ, our A as
    /// Aᵀ (or A when TransA), our B as Bᵀ (or B when TransB). Since Cᵀ = op(B)ᵀ·op(A)ᵀ, we ask
    /// cuBLAS for the column-major product with the operands swapped: first operand = our B
    /// (op T iff TransB: its column-major view is op(B)ᵀ without a transpose when TransB is
    /// false), second = our A (op T iff TransA), m = N, n = M, k = K, and each leading
    /// dimension unchanged (lda ↔ ldb swap places with their matrices). No data moves; the
    /// result lands in C's memory row-major. Strides and batch pass straight through.
    /// </summary>
    void GemmRowMajor(DType t, bool transA, bool transB, int m, int n, int k, double alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double beta, ulong c, int ldc, long strideC, int batch)
    {
        if (m == 0 || n == 0 || batch == 0) return;
        MakeCurrent();
        var opB = transB ? CublasOp.T : CublasOp.N;
        var opA = transA ? CublasOp.T : CublasOp.N;
        // BLAS requires ld ≥ 1 even when a dimension is 0 (K = 0 scales C by β).
        lda = Math.Max(1, lda); ldb = Math.Max(1, ldb); ldc = Math.Max(1, ldc);
        if (t == DType.F32)
        {
            float al = (float)alpha, be = (float)beta;
            if (batch == 1)
                Cublas.Check(Cublas.cublasSgemm_v2(_cublas, opB, opA, n, m, k, &al, b, ldb, a, lda, &be, c, ldc));
            else
                Cublas.Check(Cublas.cublasSgemmStridedBatched(_cublas, opB, opA, n, m, k, &al, b, ldb, strideB, a, lda, strideA, &be, c, ldc, strideC, batch));
        }
        else
        {
            double al = alpha, be = beta;
            if (batch == 1)
                Cublas.Check(Cublas.cublasDgemm_v2(_cublas, opB, opA, n, m, k, &al, b, ldb, a, lda, &be, c, ldc));
            else
                Cublas.Check(Cublas.cublasDgemmStridedBatched(_cublas, opB, opA, n, m, k, &al, b, ldb, strideB, a, lda, strideA, &be, c, ldc, strideC, batch));
        }
        AfterLaunch("cublas gemm");
    }
}
