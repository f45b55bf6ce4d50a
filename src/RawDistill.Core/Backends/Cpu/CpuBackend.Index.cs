namespace RawDistill.Backends.Cpu;

using RawDistill.Tensors;

// Gather and scatter-add, by flat offset (max-pool, cross-entropy picks) or by row
// (index_select on the first axis, minibatch assembly).
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void GatherFlat(Storage x, Storage indices, long count, Storage y)
    {
        int* idx = P<int>(indices);
        long n = x.Count;
        switch (x.DType)
        {
            case DType.F32: { var px = P<float>(x); var py = P<float>(y); ForChunks(count, (s, e) => { for (long i = s; i < e; i++) py[i] = px[Checked(idx[i], n)]; }); break; }
            case DType.F64: { var px = P<double>(x); var py = P<double>(y); ForChunks(count, (s, e) => { for (long i = s; i < e; i++) py[i] = px[Checked(idx[i], n)]; }); break; }
            default: throw Unsupported("gather", x.DType);
        }
    }

    /// <inheritdoc/>
    public void ScatterAddFlat(Storage x, Storage indices, long count, Storage y)
    {
        // Sequential: indices may repeat, and the sums must not race.
        int* idx = P<int>(indices);
        long n = y.Count;
        switch (x.DType)
        {
            case DType.F32: { var px = P<float>(x); var py = P<float>(y); for (long i = 0; i < count; i++) py[Checked(idx[i], n)] += px[i]; break; }
            case DType.F64: { var px = P<double>(x); var py = P<double>(y); for (long i = 0; i < count; i++) py[Checked(idx[i], n)] += px[i]; break; }
            default: throw Unsupported("scatter-add", x.DType);
        }
    }

    /// <inheritdoc/>
    public void GatherRows(Storage x, int rowLength, Storage indices, int rows, Storage y)
    {
        int* idx = P<int>(indices);
        int es = x.DType.SizeOf();
        byte* px = (byte*)P(x);
        byte* py = (byte*)P(y);
        long bytes = (long)rowLength * es;
        long xRows = rowLength == 0 ? 0 : x.Count / rowLength;
        ForChunks(rows, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
                Buffer.MemoryCopy(px + Checked(idx[r], xRows) * bytes, py + r * bytes, bytes, bytes);
        }, Math.Max(1, ParallelThreshold / Math.Max(1, rowLength)));
    }

    /// <inheritdoc/>
    public void ScatterAddRows(Storage x, int rowLength, Storage indices, int rows, Storage y)
    {
        int* idx = P<int>(indices);
        long yRows = rowLength == 0 ? 0 : y.Count / rowLength;
        switch (x.DType)
        {
            case DType.F32:
                {
                    var px = P<float>(x); var py = P<float>(y);
                    for (long r = 0; r < rows; r++)
                    {
                        var dst = new Span<float>(py + Checked(idx[r], yRows) * rowLength, rowLength);
                        System.Numerics.Tensors.TensorPrimitives.Add(dst, new ReadOnlySpan<float>(px + r * rowLength, rowLength), dst);
                    }
                    break;
                }
            case DType.F64:
                {
                    var px = P<double>(x); var py = P<double>(y);
                    for (long r = 0; r < rows; r++)
                    {
                        var dst = new Span<double>(py + Checked(idx[r], yRows) * rowLength, rowLength);
                        System.Numerics.Tensors.TensorPrimitives.Add(dst, new ReadOnlySpan<double>(px + r * rowLength, rowLength), dst);
                    }
                    break;
                }
            default: throw Unsupported("scatter-add rows", x.DType);
        }
    }

    static long Checked(int index, long length) =>
        (uint)index < (ulong)length ? index : throw new IndexOutOfRangeException($"index {index} is out of range [0, {length})");
}
