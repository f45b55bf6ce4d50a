namespace RawDistill.Cuda;

using RawDistill.Backends;
using RawDistill.Tensors;

// Reductions and argmax (kernels/reduce.cu).
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Storage x, int outer, int reduce, int inner, Storage y)
    {
        var sfx = FloatSuffix(x.DType, "reduce");
        SameDType("reduce", x.DType, y);
        long outputs = (long)outer * inner;
        ulong px = Ptr(x, 0, outputs * reduce), py = Ptr(y, 0, outputs);
        if (outputs == 0) return;
        if (reduce == 0)
        {
            // An empty sum is 0; max/min of nothing is ∓∞ (what the kernels' identities give).
            Fill(y, 0, outputs, op switch { ReduceOp.Sum => 0.0, ReduceOp.Max => double.NegativeInfinity, _ => double.PositiveInfinity });
            return;
        }
        var a = new KernelArgs();
        a.Add((int)op); a.Add(px); a.Add(py); a.Add(outer); a.Add(reduce);
        if (inner == 1)
            Launch("reduce.cu", "reduce_rows_" + sfx, (uint)Math.Min(outer, 1 << 20), BlockSize, ref a);
        else
        {
            a.Add(inner);
            Launch1D("reduce.cu", "reduce_cols_" + sfx, outputs, ref a);
        }
    }

    /// <inheritdoc/>
    public void ArgMax(Storage x, int outer, int reduce, int inner, Storage indices)
    {
        var sfx = FloatSuffix(x.DType, "argmax");
        if (reduce <= 0) throw new ArgumentException("argmax over an empty axis");
        long outputs = (long)outer * inner;
        ulong px = Ptr(x, 0, outputs * reduce), pi = Ptr(indices, 0, outputs, DType.I32);
        var a = new KernelArgs();
        a.Add(px); a.Add(pi); a.Add(outer); a.Add(reduce); a.Add(inner);
        Launch1D("reduce.cu", "argmax_" + sfx, outputs, ref a);
    }
}
