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
        var args = g;
        var (pa, pb, pc) = ((nint)P(a), (nint)P(b), (nint)P(c));
        void One(int i)
        {
            long oa = args.OffsetA + i * args.StrideA, ob = args.OffsetB + i * args.StrideB, oc = args.OffsetC + i * args.StrideC;
            switch (a.DType)
            {
                case DType.F32:
                    CpuGemm.Sgemm(args.TransA, args.TransB, args.M, args.N, args.K, (float)args.Alpha, (float*)pa + oa, args.Lda, (float*)pb + ob, args.Ldb, (float)args.Beta, (float*)pc + oc, args.Ldc);
                    break;
                case DType.F64:
                    CpuGemm.Dgemm(args.TransA, args.TransB, args.M, args.N, args.K, args.Alpha, (double*)pa + oa, args.Lda, (double*)pb + ob, args.Ldb, args.Beta, (double*)pc + oc, args.Ldc);
                    break;
                default: throw Unsupported("gemm", a.DType);
            }
        }
        // A GEMM too small to be split across threads runs on one; then the batch is the
        // parallel axis. (Batches never alias their outputs: each writes its own C.)
        long work = (long)g.M * g.N * g.K;
        if (g.Batch > 1 && work < CpuGemm.WorkPerThread && g.StrideC != 0) Parallel.For(0, g.Batch, One);
        else for (int i = 0; i < g.Batch; i++) One(i);
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
