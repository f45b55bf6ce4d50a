namespace RawDistill.Cuda;

using System.Runtime.InteropServices;
using RawDistill.Backends;
using RawDistill.Tensors;

// Element-wise ops (kernels/elementwise.cu).
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Unary(UnaryOp op, Storage x, Storage y, long count, double a = 0, double b = 0)
    {
        var sfx = FloatSuffix(x.DType, "unary " + op);
        SameDType("unary", x.DType, y);
        ulong px = Ptr(x, 0, count), py = Ptr(y, 0, count);
        var args = new KernelArgs();
        args.Add((int)op); args.Add(px); args.Add(py); args.Add(count); args.Add(a); args.Add(b);
        Launch1D("elementwise.cu", "unary_" + sfx, count, ref args);
    }

    /// <inheritdoc/>
    public void Select(Storage mask, Storage a, Storage b, Storage y, long count)
    {
        var sfx = FloatSuffix(a.DType, "select");
        SameDType("select", a.DType, mask, b, y);
        ulong pm = Ptr(mask, 0, count), pa = Ptr(a, 0, count), pb = Ptr(b, 0, count), py = Ptr(y, 0, count);
        var args = new KernelArgs();
        args.Add(pm); args.Add(pa); args.Add(pb); args.Add(py); args.Add(count);
        Launch1D("elementwise.cu", "select_" + sfx, count, ref args);
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct BroadcastDesc
    {
        public int Rank;
        public fixed int Shape[8];
        public fixed long AStrides[8];
        public fixed long BStrides[8];
    }

    /// <summary>
    /// Drops unit axes and merges neighbouring axes that both inputs read contiguously
    /// (outer stride = inner stride · inner extent), so most calls become rank 1 or 2.
    /// </summary>
    internal static BroadcastDesc Coalesce(int[] shape, long[] aStrides, long[] bStrides)
    {
        var s = new List<int>();
        var sa = new List<long>();
        var sb = new List<long>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (s.Count > 0 && sa[^1] == aStrides[i] * shape[i] && sb[^1] == bStrides[i] * shape[i])
            {
                s[^1] *= shape[i];
                sa[^1] = aStrides[i];
                sb[^1] = bStrides[i];
            }
            else
            {
                s.Add(shape[i]);
                sa.Add(aStrides[i]);
                sb.Add(bStrides[i]);
            }
        }
        if (s.Count == 0) { s.Add(1); sa.Add(0); sb.Add(0); }
        if (s.Count > 8) throw new NotSupportedException($"broadcast over {s.Count} non-mergeable axes (at most 8)");
        var d = new BroadcastDesc { Rank = s.Count };
        for (int i = 0; i < s.Count; i++)
        {
            d.Shape[i] = s[i];
            d.AStrides[i] = sa[i];
            d.BStrides[i] = sb[i];
        }
        return d;
    }

    static long Span(int[] shape, long[] strides)
    {
        if (shape.Any(e => e == 0)) return 0;
        long last = 0;
        for (int i = 0; i < shape.Length; i++) last += (long)(shape[i] - 1) * strides[i];
        return last + 1;
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Storage a, long[] aStrides, Storage b, long[] bStrides, Storage y, int[] shape)
    {
        var sfx = FloatSuffix(a.DType, "binary " + op);
        SameDType("binary", a.DType, b, y);
        if (aStrides.Length != shape.Length || bStrides.Length != shape.Length)
            throw new ArgumentException("binary: strides and shape ranks differ");
        long n = Shape.Numel(shape);
        ulong pa = Ptr(a, 0, Span(shape, aStrides)), pb = Ptr(b, 0, Span(shape, bStrides)), py = Ptr(y, 0, n);
        if (n == 0) return;
        var d = Coalesce(shape, aStrides, bStrides);
        var args = new KernelArgs();
        args.Add((int)op); args.Add(pa); args.Add(pb); args.Add(py); args.Add(n); args.Add(d);
        Launch1D("elementwise.cu", "binary_" + sfx, n, ref args);
    }
}
