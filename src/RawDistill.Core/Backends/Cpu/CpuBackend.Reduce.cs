namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;
using RawDistill.Tensors;

// Reductions over the middle axis of an [outer, reduce, inner] view, and softmax rows.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Storage x, int outer, int reduce, int inner, Storage y)
    {
        switch (x.DType)
        {
            case DType.F32: ReduceT(op, P<float>(x), outer, reduce, inner, P<float>(y)); break;
            case DType.F64: ReduceT(op, P<double>(x), outer, reduce, inner, P<double>(y)); break;
            default: throw Unsupported($"reduce {op}", x.DType);
        }
    }

    static void ReduceT<T>(ReduceOp op, T* x, int outer, int reduce, int inner, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (reduce == 0)
        {
            T identity = op switch { ReduceOp.Sum => T.Zero, ReduceOp.Max => T.NegativeInfinity, _ => T.PositiveInfinity };
            new Span<T>(y, outer * inner).Fill(identity);
            return;
        }
        if (inner == 1)
        {
            // Each output reduces one contiguous row.
            long minRows = Math.Max(1, ParallelThreshold / reduce);
            ForChunks(outer, (o0, o1) =>
            {
                for (long o = o0; o < o1; o++)
                {
                    var row = new ReadOnlySpan<T>(x + o * reduce, reduce);
                    y[o] = op switch
                    {
                        ReduceOp.Sum => TensorPrimitives.Sum(row),
                        ReduceOp.Max => TensorPrimitives.Max(row),
                        _ => TensorPrimitives.Min(row),
                    };
                }
            }, minRows);
            return;
        }
        // Each output row [inner] accumulates `reduce` input rows with vector ops. Split
        // across outer slices, or across the inner axis when there is a single slice.
        void Slice(long o, int i0, int i1)
        {
            var acc = new Span<T>(y + o * inner + i0, i1 - i0);
            new ReadOnlySpan<T>(x + o * (long)reduce * inner + i0, i1 - i0).CopyTo(acc);
            for (int r = 1; r < reduce; r++)
            {
                var row = new ReadOnlySpan<T>(x + (o * reduce + r) * inner + i0, i1 - i0);
                switch (op)
                {
                    case ReduceOp.Sum: TensorPrimitives.Add(acc, row, acc); break;
                    case ReduceOp.Max: TensorPrimitives.Max(acc, row, acc); break;
                    default: TensorPrimitives.Min(acc, row, acc); break;
                }
            }
        }
        if (outer == 1)
            ForChunks(inner, (i0, i1) => Slice(0, (int)i0, (int)i1), Math.Max(64, ParallelThreshold / reduce));
        else
            ForChunks(outer, (o0, o1) =>
            {
                for (long o = o0; o < o1; o++) Slice(o, 0, inner);
            }, Math.Max(1, ParallelThreshold / ((long)reduce * inner)));
    }

    /// <inheritdoc/>
    public void ArgMax(Storage x, int outer, int reduce, int inner, Storage indices)
    {
        switch (x.DType)
        {
            case DType.F32: ArgMaxT(P<float>(x), outer, reduce, inner, P<int>(indices)); break;
            case DType.F64: ArgMaxT(P<double>(x), outer, reduce, inner, P<int>(indices)); break;
            default: throw Unsupported("argmax", x.DType);
        }
    }

    static void ArgMaxT<T>(T* x, int outer, int reduce, int inner, int* idx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ForChunks((long)outer * inner, (s, e) =>
        {
            for (long k = s; k < e; k++)
            {
                long o = k / inner, i = k % inner;
                T* p = x + o * reduce * inner + i;
                int best = 0;
                T bv = p[0];
                for (int r = 1; r < reduce; r++)
                {
                    T v = p[(long)r * inner];
                    if (v > bv || (T.IsNaN(v) && !T.IsNaN(bv))) { bv = v; best = r; }
                }
                idx[k] = best;
            }
        }, Math.Max(1, ParallelThreshold / Math.Max(1, reduce)));
    }

    /// <inheritdoc/>
    public void Softmax(Storage x, int rows, int cols, Storage y, bool log)
    {
        switch (x.DType)
        {
            case DType.F32: SoftmaxT(P<float>(x), rows, cols, P<float>(y), log); break;
            case DType.F64: SoftmaxT(P<double>(x), rows, cols, P<double>(y), log); break;
            default: throw Unsupported("softmax", x.DType);
        }
    }

    static void SoftmaxT<T>(T* x, int rows, int cols, T* y, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ForChunks(rows, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                var xs = new ReadOnlySpan<T>(x + r * cols, cols);
                var ys = new Span<T>(y + r * cols, cols);
                // Subtract the row maximum first so exp never overflows.
                T max = TensorPrimitives.Max(xs);
                TensorPrimitives.Subtract(xs, max, ys);
                if (log)
                {
                    T lse = T.Zero;
                    for (int i = 0; i < cols; i++) lse += T.Exp(ys[i]);
                    TensorPrimitives.Subtract(ys, T.Log(lse), ys);
                }
                else
                {
                    TensorPrimitives.Exp(ys, ys);
                    TensorPrimitives.Divide(ys, TensorPrimitives.Sum<T>(ys), ys);
                }
            }
        }, Math.Max(1, ParallelThreshold / Math.Max(1, cols)));
    }
}
