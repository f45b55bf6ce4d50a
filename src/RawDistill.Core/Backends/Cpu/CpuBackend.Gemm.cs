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
}
