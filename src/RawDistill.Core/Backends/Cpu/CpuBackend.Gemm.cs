namespace RawDistill.Backends.Cpu;

using RawDistill.Tensors;

// GEMM entry point of the CPU backend: argument checks and batching; the packed,
// register-blocked kernels live in Gemm/.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void Gemm(in GemmArgs g, Storage a, Storage b, Storage c)
    {
        if (a.DType != b.DType || a.DType != c.DType) throw new ArgumentException($"cpu: gemm needs one dtype, got {a.DType}, {b.DType}, {c.DType}");
        for (int i = 0; i < g.Batch; i++)
        {
            long oa = g.OffsetA + i * g.StrideA, ob = g.OffsetB + i * g.StrideB, oc = g.OffsetC + i * g.StrideC;
            switch (a.DType)
            {
                case DType.F32:
                    CpuGemm.Sgemm(g.TransA, g.TransB, g.M, g.N, g.K, (float)g.Alpha, P<float>(a) + oa, g.Lda, P<float>(b) + ob, g.Ldb, (float)g.Beta, P<float>(c) + oc, g.Ldc);
                    break;
                case DType.F64:
                    CpuGemm.Dgemm(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, P<double>(a) + oa, g.Lda, P<double>(b) + ob, g.Ldb, g.Beta, P<double>(c) + oc, g.Ldc);
                    break;
                default: throw Unsupported("gemm", a.DType);
            }
        }
    }

    /// <summary>Row-major GEMM on raw pointers for either float type (used by conv2d).</summary>
    internal static void GemmT<T>(bool transA, bool transB, int m, int n, int k, double alpha, T* a, int lda, T* b, int ldb, double beta, T* c, int ldc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            CpuGemm.Sgemm(transA, transB, m, n, k, (float)alpha, (float*)a, lda, (float*)b, ldb, (float)beta, (float*)c, ldc);
        else if (typeof(T) == typeof(double))
            CpuGemm.Dgemm(transA, transB, m, n, k, alpha, (double*)a, lda, (double*)b, ldb, beta, (double*)c, ldc);
        else throw new NotSupportedException($"gemm on {typeof(T).Name}");
    }
}
