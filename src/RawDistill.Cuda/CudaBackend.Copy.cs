namespace RawDistill.Cuda;

using System.Runtime.InteropServices;
using RawDistill.Cuda.Native;
using RawDistill.Tensors;

// Data movement (kernels/copy.cu): fill, block copies, permutation, casts.
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Fill(Storage dst, long offset, long count, double value)
    {
        if (count == 0) return;
        ulong p = Ptr(dst, offset, count);
        MakeCurrent();
        switch (dst.DType)
        {
            case DType.F32:
                CudaDriver.Check(CudaDriver.cuMemsetD32Async(p, BitConverter.SingleToUInt32Bits((float)value), (nuint)count, _stream));
                break;
            case DType.I32: // checked, as the CPU backend: a value outside the dtype's range is an error, not a wrapped fill
                CudaDriver.Check(CudaDriver.cuMemsetD32Async(p, unchecked((uint)checked((int)value)), (nuint)count, _stream));
                break;
            case DType.U8:
                CudaDriver.Check(CudaDriver.cuMemsetD8Async(p, checked((byte)value), (nuint)count, _stream));
                break;
            case DType.F64:
                var a = new KernelArgs();
                a.Add(p);
                a.Add(count);
                a.Add(value);
                Launch1D("copy.cu", "fill_f64", count, ref a);
                return;
            default:
                throw new NotSupportedException($"fill of {dst.DType}");
        }
        AfterLaunch("fill");
    }

    /// <inheritdoc/>
    public void CopyBlocks(Storage src, long srcOffset, long srcStride, Storage dst, long dstOffset, long dstStride, long blocks, long blockLength)
    {
        if (src.DType != dst.DType) throw new ArgumentException($"copy: dtypes differ ({src.DType} → {dst.DType})");
        if (blocks <= 0 || blockLength <= 0) return;
        if (srcStride < 0 || dstStride < 0) throw new ArgumentOutOfRangeException(nameof(srcStride), "copy: strides must be non-negative");
        ulong s = Ptr(src, srcOffset, (blocks - 1) * srcStride + blockLength);
        ulong d = Ptr(dst, dstOffset, (blocks - 1) * dstStride + blockLength);
        MakeCurrent();
        if (blocks == 1 || (srcStride == blockLength && dstStride == blockLength))
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync_v2(d, s, (nuint)(blocks * blockLength * src.DType.SizeOf()), _stream));
            AfterLaunch("cuMemcpyDtoDAsync_v2");
            return;
        }
        var a = new KernelArgs();
        a.Add(s); a.Add(0L); a.Add(srcStride);
        a.Add(d); a.Add(0L); a.Add(dstStride);
        a.Add(blocks); a.Add(blockLength);
        Launch1D("copy.cu", "copy_blocks_" + WidthSuffix(src.DType), blocks * blockLength, ref a);
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct PermuteDesc
    {
        public int Rank;
        public fixed int OutShape[8];
        public fixed long SrcStrides[8];
    }

    /// <inheritdoc/>
    public void Permute(Storage x, int[] xShape, int[] perm, Storage y)
    {
        if (x.DType != y.DType) throw new ArgumentException("permute: dtypes differ");
        if (perm.Length != xShape.Length || perm.Order().Where((p, i) => p != i).Any())
            throw new ArgumentException($"permute: {Shape.Format(perm)} is not a permutation of {xShape.Length} axes");
        long n = Shape.Numel(xShape);
        ulong px = Ptr(x, 0, n), py = Ptr(y, 0, n);
        if (n == 0) return;
        var xStrides = Shape.Strides(xShape);
        // y axis i reads x axis perm[i]; drop unit axes and merge y axes that stay adjacent in x.
        var shape = new List<int>();
        var strides = new List<long>();
        for (int i = 0; i < perm.Length; i++)
        {
            int extent = xShape[perm[i]];
            long stride = xStrides[perm[i]];
            if (extent == 1) continue;
            if (shape.Count > 0 && strides[^1] == stride * extent)
            {
                shape[^1] *= extent;
                strides[^1] = stride;
            }
            else
            {
                shape.Add(extent);
                strides.Add(stride);
            }
        }
        MakeCurrent();
        if (shape.Count <= 1)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync_v2(py, px, (nuint)(n * x.DType.SizeOf()), _stream));
            AfterLaunch("cuMemcpyDtoDAsync_v2");
            return;
        }
        if (shape.Count == 2 && strides[1] == shape[0] && strides[0] == 1 && x.DType.IsFloat())
        {
            // A plain 2-D transpose: x is [d0, d1] row-major with d0 = shape[1], d1 = shape[0].
            Transpose2d(x.DType, px, shape[1], shape[0], py);
            return;
        }
        if (shape.Count > 8) throw new NotSupportedException($"permute of {shape.Count} non-mergeable axes (at most 8)");
        var d = new PermuteDesc { Rank = shape.Count };
        for (int i = 0; i < shape.Count; i++)
        {
            d.OutShape[i] = shape[i];
            d.SrcStrides[i] = strides[i];
        }
        var a = new KernelArgs();
        a.Add(px); a.Add(py); a.Add(n); a.Add(d);
        Launch1D("copy.cu", "permute_" + WidthSuffix(x.DType), n, ref a);
    }

    /// <summary>
    /// y [d1, d0] = xᵀ for row-major x [d0, d1], with cuBLAS geam. Column-major, x's memory is
    /// the d1×d0 matrix xᵀ (ld d1) and y's memory the d0×d1 matrix x (ld d0), so
    /// y_cm = 1·op(x_cm) with op = T, m = d0, n = d1 (β = 0, B not read).
    /// </summary>
    void Transpose2d(DType t, ulong x, int d0, int d1, ulong y)
    {
        MakeCurrent();
        if (t == DType.F32)
        {
            float one = 1, zero = 0;
            Cublas.Check(Cublas.cublasSgeam(_cublas, CublasOp.T, CublasOp.T, d0, d1, &one, x, d1, &zero, x, d1, y, d0));
        }
        else
        {
            double one = 1, zero = 0;
            Cublas.Check(Cublas.cublasDgeam(_cublas, CublasOp.T, CublasOp.T, d0, d1, &one, x, d1, &zero, x, d1, y, d0));
        }
        AfterLaunch("cublas geam (transpose)");
    }

    static string CastSuffix(DType t) => t switch
    {
        DType.F32 => "f32",
        DType.F64 => "f64",
        DType.I32 => "i32",
        DType.U8 => "u8",
        _ => throw new NotSupportedException($"cast of {t}"),
    };

    /// <inheritdoc/>
    public void Cast(Storage x, Storage y, long count)
    {
        ulong px = Ptr(x, 0, count), py = Ptr(y, 0, count);
        if (count == 0) return;
        MakeCurrent();
        if (x.DType == y.DType)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync_v2(py, px, (nuint)(count * x.DType.SizeOf()), _stream));
            AfterLaunch("cuMemcpyDtoDAsync_v2");
            return;
        }
        CastPtr(x.DType, px, y.DType, py, count);
    }

    void CastPtr(DType from, ulong x, DType to, ulong y, long count)
    {
        var a = new KernelArgs();
        a.Add(x); a.Add(y); a.Add(count);
        Launch1D("copy.cu", $"cast_{CastSuffix(from)}_{CastSuffix(to)}", count, ref a);
    }
}
