namespace RawDistill.Cuda;

using RawDistill.Tensors;

// Softmax and log-softmax over rows (kernels/softmax.cu).
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Softmax(Storage x, int rows, int cols, Storage y, bool log)
    {
        var sfx = FloatSuffix(x.DType, "softmax");
        SameDType("softmax", x.DType, y);
        long n = (long)rows * cols;
        ulong px = Ptr(x, 0, n), py = Ptr(y, 0, n);
        if (n == 0) return;
        var a = new KernelArgs();
        a.Add(px); a.Add(py); a.Add(rows); a.Add(cols); a.Add(log ? 1 : 0);
        Launch("softmax.cu", "softmax_" + sfx, (uint)Math.Min(rows, 1 << 20), BlockSize, ref a);
    }
}
