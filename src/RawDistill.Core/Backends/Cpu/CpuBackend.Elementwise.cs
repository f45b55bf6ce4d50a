namespace RawDistill.Backends.Cpu;

using System.Numerics;
using System.Numerics.Tensors;
using RawDistill.Tensors;

// Element-wise primitives. Contiguous runs go through TensorPrimitives (vectorized for
// Vector128/256/512); broadcasting is handled by collapsing the shape until the
// innermost run is either contiguous or a single repeated value on each side, so even
// [N,C,H,W] ⊙ [1,C,1,1] runs as long vector-scalar spans.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void Unary(UnaryOp op, Storage x, Storage y, long count, double a = 0, double b = 0)
    {
        switch (x.DType)
        {
            case DType.F32: UnaryT(op, P<float>(x), P<float>(y), count, (float)a, (float)b); break;
            case DType.F64: UnaryT(op, P<double>(x), P<double>(y), count, a, b); break;
            default: throw Unsupported($"unary {op}", x.DType);
        }
    }

    static void UnaryT<T>(UnaryOp op, T* x, T* y, long count, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ForChunks(count, (start, end) =>
        {
            var xs = new ReadOnlySpan<T>(x + start, (int)(end - start));
            var ys = new Span<T>(y + start, (int)(end - start));
            UnarySpan(op, xs, ys, a, b);
        });
    }

    static void UnarySpan<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Affine:
                TensorPrimitives.Multiply(x, a, y);
                if (b != T.Zero) TensorPrimitives.Add(y, b, y);
                break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
            case UnaryOp.Pow: TensorPrimitives.Pow(x, a, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
            case UnaryOp.Clamp:
                TensorPrimitives.Max(x, a, y);
                TensorPrimitives.Min(y, b, y);
                break;
            case UnaryOp.Sign:
                for (int i = 0; i < x.Length; i++) y[i] = x[i] > T.Zero ? T.One : x[i] < T.Zero ? -T.One : T.Zero;
                break;
            case UnaryOp.Step:
                for (int i = 0; i < x.Length; i++) y[i] = x[i] > T.Zero ? T.One : T.Zero;
                break;
            case UnaryOp.InRange:
                for (int i = 0; i < x.Length; i++) y[i] = x[i] >= a && x[i] <= b ? T.One : T.Zero;
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, null);
        }
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Storage a, long[] aStrides, Storage b, long[] bStrides, Storage y, int[] shape)
    {
        if (a.DType != b.DType || a.DType != y.DType)
            throw new ArgumentException($"cpu: binary {op} needs one dtype, got {a.DType}, {b.DType} → {y.DType}");
        switch (a.DType)
        {
            case DType.F32: BinaryT(op, P<float>(a), aStrides, P<float>(b), bStrides, P<float>(y), shape); break;
            case DType.F64: BinaryT(op, P<double>(a), aStrides, P<double>(b), bStrides, P<double>(y), shape); break;
            default: throw Unsupported($"binary {op}", a.DType);
        }
    }

    /// <inheritdoc/>
    public void Select(Storage mask, Storage a, Storage b, Storage y, long count)
    {
        if (mask.DType != a.DType || b.DType != a.DType || y.DType != a.DType)
            throw new ArgumentException($"cpu: select needs one dtype, got {mask.DType} ? {a.DType} : {b.DType} → {y.DType}");
        foreach (var s in new[] { mask, a, b, y })
            if (s.Count < count) throw new ArgumentOutOfRangeException(nameof(count), $"cpu: select of {count} elements from a storage of {s.Count}");
        switch (a.DType)
        {
            case DType.F32: SelectT(P<float>(mask), P<float>(a), P<float>(b), P<float>(y), count); break;
            case DType.F64: SelectT(P<double>(mask), P<double>(a), P<double>(b), P<double>(y), count); break;
            default: throw Unsupported("select", a.DType);
        }
    }

    static void SelectT<T>(T* mask, T* a, T* b, T* y, long count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ForChunks(count, (start, end) =>
        {
            for (long i = start; i < end; i++) y[i] = mask[i] != T.Zero ? a[i] : b[i];
        });
    }

    static void BinaryT<T>(BinaryOp op, T* a, long[] aStrides, T* b, long[] bStrides, T* y, int[] shape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (dims, sa, sb) = CollapseForBroadcast(shape, aStrides, bStrides);
        int rank = dims.Length;
        long inner = rank == 0 ? 1 : dims[rank - 1];
        long ia = rank == 0 ? 0 : sa[rank - 1];
        long ib = rank == 0 ? 0 : sb[rank - 1];
        long total = 1;
        foreach (var d in dims) total *= d;
        long rows = inner == 0 ? 0 : total / inner;
        if (rows == 0 || inner == 0) return;

        // Offsets of row r's first element in a and b: an odometer over the outer dims.
        long RowOffset(long r, long[] strides)
        {
            long off = 0;
            for (int d = rank - 2; d >= 0; d--)
            {
                long i = r % dims[d];
                r /= dims[d];
                off += i * strides[d];
            }
            return off;
        }

        if (rows == 1)
        {
            // One long run: split it across threads.
            ForChunks(inner, (s, e) => BinaryRun(op, a + s * ia, ia, b + s * ib, ib, y + s, (int)(e - s)));
            return;
        }
        long minRows = Math.Max(1, ParallelThreshold / inner);
        ForChunks(rows, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
                BinaryRun(op, a + RowOffset(r, sa), ia, b + RowOffset(r, sb), ib, y + r * inner, (int)inner);
        }, minRows);
    }

    /// <summary>
    /// Drops size-1 axes and merges neighbours that both inputs read contiguously (or both
    /// broadcast), so the innermost axis is as long as possible.
    /// </summary>
    internal static (long[] dims, long[] sa, long[] sb) CollapseForBroadcast(int[] shape, long[] aStrides, long[] bStrides)
    {
        var d = new List<long>();
        var a = new List<long>();
        var b = new List<long>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (d.Count > 0)
            {
                int last = d.Count - 1;
                if (a[last] == aStrides[i] * shape[i] && b[last] == bStrides[i] * shape[i])
                {
                    d[last] *= shape[i];
                    a[last] = aStrides[i];
                    b[last] = bStrides[i];
                    continue;
                }
            }
            d.Add(shape[i]);
            a.Add(aStrides[i]);
            b.Add(bStrides[i]);
        }
        return ([.. d], [.. a], [.. b]);
    }

    /// <summary>One run of n outputs; each input steps by 1 (contiguous) or 0 (one repeated value).</summary>
    static void BinaryRun<T>(BinaryOp op, T* a, long ia, T* b, long ib, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ys = new Span<T>(y, n);
        if (ia == 1 && ib == 1)
        {
            var xa = new ReadOnlySpan<T>(a, n);
            var xb = new ReadOnlySpan<T>(b, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(xa, xb, ys); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(xa, xb, ys); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(xa, xb, ys); return;
                case BinaryOp.Div: TensorPrimitives.Divide(xa, xb, ys); return;
                case BinaryOp.Max: TensorPrimitives.Max(xa, xb, ys); return;
                case BinaryOp.Min: TensorPrimitives.Min(xa, xb, ys); return;
            }
        }
        else if (ia == 1 && ib == 0)
        {
            var xa = new ReadOnlySpan<T>(a, n);
            T s = *b;
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(xa, s, ys); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(xa, s, ys); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(xa, s, ys); return;
                case BinaryOp.Div: TensorPrimitives.Divide(xa, s, ys); return;
                case BinaryOp.Max: TensorPrimitives.Max(xa, s, ys); return;
                case BinaryOp.Min: TensorPrimitives.Min(xa, s, ys); return;
            }
        }
        else if (ia == 0 && ib == 1)
        {
            T s = *a;
            var xb = new ReadOnlySpan<T>(b, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(xb, s, ys); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(s, xb, ys); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(xb, s, ys); return;
                case BinaryOp.Div: TensorPrimitives.Divide(s, xb, ys); return;
                case BinaryOp.Max: TensorPrimitives.Max(xb, s, ys); return;
                case BinaryOp.Min: TensorPrimitives.Min(xb, s, ys); return;
            }
        }
        for (int i = 0; i < n; i++) y[i] = Scalar(op, a[i * ia], b[i * ib]);
    }

    static T Scalar<T>(BinaryOp op, T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Max => T.MaxNumber(a, b) == a || T.IsNaN(a) ? a : b,
        BinaryOp.Min => T.MinNumber(a, b) == a || T.IsNaN(a) ? a : b,
        BinaryOp.Equal => a == b ? T.One : T.Zero,
        BinaryOp.Greater => a > b ? T.One : T.Zero,
        BinaryOp.GreaterEqual => a >= b ? T.One : T.Zero,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    /// <inheritdoc/>
    public void Fill(Storage dst, long offset, long count, double value)
    {
        switch (dst.DType)
        {
            case DType.F32: { var p = P<float>(dst) + offset; float v = (float)value; ForChunks(count, (s, e) => new Span<float>(p + s, (int)(e - s)).Fill(v)); break; }
            case DType.F64: { var p = P<double>(dst) + offset; ForChunks(count, (s, e) => new Span<double>(p + s, (int)(e - s)).Fill(value)); break; }
            case DType.I32: { var p = P<int>(dst) + offset; int v = checked((int)value); ForChunks(count, (s, e) => new Span<int>(p + s, (int)(e - s)).Fill(v)); break; }
            case DType.U8: { var p = P<byte>(dst) + offset; byte v = checked((byte)value); ForChunks(count, (s, e) => new Span<byte>(p + s, (int)(e - s)).Fill(v)); break; }
            default: throw Unsupported("fill", dst.DType);
        }
    }

    /// <inheritdoc/>
    public void Cast(Storage x, Storage y, long count)
    {
        switch ((x.DType, y.DType))
        {
            case (DType.F32, DType.F64): CastT<float, double>(x, y, count); break;
            case (DType.F64, DType.F32): CastT<double, float>(x, y, count); break;
            case (DType.U8, DType.F32): CastT<byte, float>(x, y, count); break;
            case (DType.U8, DType.F64): CastT<byte, double>(x, y, count); break;
            case (DType.I32, DType.F32): CastT<int, float>(x, y, count); break;
            case (DType.I32, DType.F64): CastT<int, double>(x, y, count); break;
            case (DType.F32, DType.I32): CastT<float, int>(x, y, count); break;
            case (DType.F64, DType.I32): CastT<double, int>(x, y, count); break;
            case (DType.F32, DType.U8): CastT<float, byte>(x, y, count); break;
            case (DType.F64, DType.U8): CastT<double, byte>(x, y, count); break;
            case (DType.U8, DType.I32): CastT<byte, int>(x, y, count); break;
            case (DType.I32, DType.U8): CastT<int, byte>(x, y, count); break;
            default:
                if (x.DType == y.DType) { CopyBlocks(x, 0, count, y, 0, count, 1, count); break; }
                throw new NotSupportedException($"cpu: cast {x.DType} → {y.DType}");
        }
    }

    static void CastT<TFrom, TTo>(Storage x, Storage y, long count)
        where TFrom : unmanaged, INumberBase<TFrom> where TTo : unmanaged, INumberBase<TTo>
    {
        var px = P<TFrom>(x);
        var py = P<TTo>(y);
        // Truncating (C-style) conversion for float → int, saturating for out-of-range values.
        ForChunks(count, (s, e) =>
        {
            for (long i = s; i < e; i++) py[i] = TTo.CreateSaturating(px[i]);
        });
    }
}
