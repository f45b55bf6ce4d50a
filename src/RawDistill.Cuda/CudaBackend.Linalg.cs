namespace RawDistill.Cuda;

using RawDistill.Cuda.Native;
using RawDistill.Tensors;

// Blocked Cholesky and triangular solves (kernels/linalg.cu + cuBLAS Dtrsm/Dsyrk).
// f32 inputs are widened to f64 on the device, solved, and narrowed back.
public sealed unsafe partial class CudaBackend
{
    const int CholeskyBlock = 64; // = CHOL_NB in kernels/linalg.cu

    /// <inheritdoc/>
    public int Cholesky(Storage a, int n, Storage l)
    {
        FloatSuffix(a.DType, "cholesky");
        SameDType("cholesky", a.DType, l);
        long nn = (long)n * n;
        ulong pa = Ptr(a, 0, nn), pl = Ptr(l, 0, nn);
        if (n == 0) return -1;
        if (a.DType == DType.F64) return CholeskyF64(pa, n, pl);
        using var wide = Rent(DType.F64, nn);
        CastPtr(DType.F32, pa, DType.F64, wide.Pointer, nn);
        int info = CholeskyF64(wide.Pointer, n, wide.Pointer);
        CastPtr(DType.F64, wide.Pointer, DType.F32, pl, nn);
        return info;
    }

    /// <summary>
    /// Right-looking blocked Cholesky in place on L (a copy of A unless a == l). Read
    /// column-major, row-major L's lower triangle is the upper triangle U = Lᵀ with
    /// A = Uᵀ·U, which is the form cuBLAS calls below use. For each block column k (width b):
    ///   1. chol_diag_block factors A11 = M(k:k+b, k:k+b)                  (own kernel)
    ///   2. U12 = U11⁻ᵀ·A12: Dtrsm(Left, Upper, T, NonUnit), A12 = M(k:k+b, k+b:n)
    ///   3. A22 −= U12ᵀ·U12: Dsyrk(Upper, T) on M(k+b:n, k+b:n)
    /// where M(i, j) = element i + j·n (column-major view). Returns the first failed pivot or −1;
    /// the only host wait is the download of that int.
    /// </summary>
    int CholeskyF64(ulong a, int n, ulong l)
    {
        MakeCurrent();
        long nn = (long)n * n;
        if (a != l)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync_v2(l, a, (nuint)(nn * 8), _stream));
            AfterLaunch("cuMemcpyDtoDAsync_v2");
        }
        using var info = Rent(DType.I32, 1);
        CudaDriver.Check(CudaDriver.cuMemsetD32Async(info.Pointer, 0xFFFFFFFFu, 1, _stream)); // −1
        ulong M(long i, long j) => l + (ulong)((i + j * n) * 8);
        for (int k = 0; k < n; k += CholeskyBlock)
        {
            int b = Math.Min(CholeskyBlock, n - k);
            var args = new KernelArgs();
            args.Add(l); args.Add(n); args.Add(k); args.Add(b); args.Add(info.Pointer);
            Launch("linalg.cu", "chol_diag_block_f64", 1, BlockSize, ref args);
            int rest = n - k - b;
            if (rest == 0) break;
            double one = 1, minusOne = -1;
            Cublas.Check(Cublas.cublasDtrsm_v2(_cublas, CublasSide.Left, CublasFill.Upper, CublasOp.T, CublasDiag.NonUnit,
                b, rest, &one, M(k, k), n, M(k, k + b), n));
            Cublas.Check(Cublas.cublasDsyrk_v2(_cublas, CublasFill.Upper, CublasOp.T,
                rest, b, &minusOne, M(k, k + b), n, &one, M(k + b, k + b), n));
            AfterLaunch("cholesky panel (cublasDtrsm_v2, cublasDsyrk_v2)");
        }
        var zero = new KernelArgs();
        zero.Add(l); zero.Add(n);
        Launch1D("linalg.cu", "chol_zero_upper_f64", nn, ref zero);
        int result = -1;
        CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync_v2(&result, info.Pointer, 4, _stream));
        CudaDriver.Check(CudaDriver.cuStreamSynchronize(_stream));
        return result;
    }

    /// <inheritdoc/>
    public void TriangularSolve(Storage l, int n, Storage b, int cols, Storage x, bool transpose)
    {
        FloatSuffix(l.DType, "triangular solve");
        SameDType("triangular solve", l.DType, b, x);
        long nn = (long)n * n, nc = (long)n * cols;
        ulong pl = Ptr(l, 0, nn), pb = Ptr(b, 0, nc), px = Ptr(x, 0, nc);
        if (nc == 0) return;
        if (l.DType == DType.F64)
        {
            MakeCurrent();
            CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync_v2(px, pb, (nuint)(nc * 8), _stream));
            TriangularSolveF64(pl, n, px, cols, transpose);
            return;
        }
        using var wl = Rent(DType.F64, nn);
        using var wx = Rent(DType.F64, nc);
        CastPtr(DType.F32, pl, DType.F64, wl.Pointer, nn);
        CastPtr(DType.F32, pb, DType.F64, wx.Pointer, nc);
        TriangularSolveF64(wl.Pointer, n, wx.Pointer, cols, transpose);
        CastPtr(DType.F64, wx.Pointer, DType.F32, px, nc);
    }

    /// <summary>
    /// In place on X (holding B): row-major L·X = B is, column-major (X's memory is Xᵀ,
    /// cols×n, ld cols; L's memory is U = Lᵀ, upper, ld n), Xᵀ·U = Bᵀ: Dtrsm(Right, Upper, N).
    /// Lᵀ·X = B is Xᵀ·Uᵀ = Bᵀ: Dtrsm(Right, Upper, T).
    /// </summary>
    void TriangularSolveF64(ulong l, int n, ulong x, int cols, bool transpose)
    {
        MakeCurrent();
        double one = 1;
        Cublas.Check(Cublas.cublasDtrsm_v2(_cublas, CublasSide.Right, CublasFill.Upper, transpose ? CublasOp.T : CublasOp.N,
            CublasDiag.NonUnit, cols, n, &one, l, n, x, cols));
        AfterLaunch("cublasDtrsm_v2");
    }
}
