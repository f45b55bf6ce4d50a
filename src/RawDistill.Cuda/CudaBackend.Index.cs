namespace RawDistill.Cuda;

using RawDistill.Tensors;

// Gather and scatter-add by i32 indices (kernels/index.cu). Index values are not checked
// on the host (that would need a synchronize); an out-of-range index is a device fault,
// which RAWDISTILL_SYNC=1 reports at the launch that caused it.
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void GatherFlat(Storage x, Storage indices, long count, Storage y)
    {
        var sfx = FloatSuffix(x.DType, "gather");
        SameDType("gather", x.DType, y);
        ulong px = Ptr(x), pi = Ptr(indices, 0, count, DType.I32), py = Ptr(y, 0, count);
        var a = new KernelArgs();
        a.Add(px); a.Add(pi); a.Add(count); a.Add(py);
        Launch1D("index.cu", "gather_flat_" + sfx, count, ref a);
    }

    /// <inheritdoc/>
    public void ScatterAddFlat(Storage x, Storage indices, long count, Storage y)
    {
        var sfx = FloatSuffix(x.DType, "scatter-add");
        SameDType("scatter-add", x.DType, y);
        ulong px = Ptr(x, 0, count), pi = Ptr(indices, 0, count, DType.I32), py = Ptr(y);
        var a = new KernelArgs();
        a.Add(px); a.Add(pi); a.Add(count); a.Add(py);
        Launch1D("index.cu", "scatter_add_flat_" + sfx, count, ref a);
    }

    /// <inheritdoc/>
    public void GatherRows(Storage x, int rowLength, Storage indices, int rows, Storage y)
    {
        if (x.DType != y.DType) throw new ArgumentException("gather rows: dtypes differ");
        long n = (long)rows * rowLength;
        ulong px = Ptr(x), pi = Ptr(indices, 0, rows, DType.I32), py = Ptr(y, 0, n);
        var a = new KernelArgs();
        a.Add(px); a.Add(rowLength); a.Add(pi); a.Add(rows); a.Add(py);
        Launch1D("index.cu", "gather_rows_" + WidthSuffix(x.DType), n, ref a);
    }

    /// <inheritdoc/>
    public void ScatterAddRows(Storage x, int rowLength, Storage indices, int rows, Storage y)
    {
        var sfx = FloatSuffix(x.DType, "scatter-add rows");
        SameDType("scatter-add rows", x.DType, y);
        long n = (long)rows * rowLength;
        ulong px = Ptr(x, 0, n), pi = Ptr(indices, 0, rows, DType.I32), py = Ptr(y);
        var a = new KernelArgs();
        a.Add(px); a.Add(rowLength); a.Add(pi); a.Add(rows); a.Add(py);
        Launch1D("index.cu", "scatter_add_rows_" + sfx, n, ref a);
    }
}
