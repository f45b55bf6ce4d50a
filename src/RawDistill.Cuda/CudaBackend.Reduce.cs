namespace RawDistill.Cuda;

using RawDistill.Backends;
using RawDistill.Tensors;

// Reductions and argmax (kernels/reduce.cu).
public sealed unsafe partial class CudaBackend
{
    /// <summary>Rows fewer than this (with inner = 1) are split so the reduction fills the GPU.</summary>
    const int SplitBelowRows = 256;

    /// <summary>Elements of a row one block reduces in the split version.</summary>
    internal static int SplitChunk { get; set; } = 16384;

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
        if (inner == 1 && outer < SplitBelowRows && reduce >= 2 * SplitChunk)
        {
            // Few long rows: partials over chunks of SplitChunk, then a second pass over them.
            int splits = (reduce + SplitChunk - 1) / SplitChunk;
            using var partial = Rent(x.DType, (long)outer * splits);
            var p1 = new KernelArgs();
            p1.Add((int)op); p1.Add(px); p1.Add(partial.Pointer); p1.Add(outer); p1.Add(reduce); p1.Add(splits); p1.Add(SplitChunk);
            Launch("reduce.cu", "reduce_split_" + sfx, (uint)Math.Min((long)outer * splits, 1 << 20), BlockSize, ref p1);
            var p2 = new KernelArgs();
            p2.Add((int)op); p2.Add(partial.Pointer); p2.Add(py); p2.Add(outer); p2.Add(splits);
            Launch("reduce.cu", "reduce_rows_" + sfx, (uint)outer, BlockSize, ref p2);
        }
        else if (inner == 1)
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
