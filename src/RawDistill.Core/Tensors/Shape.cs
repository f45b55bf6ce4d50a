namespace RawDistill.Tensors;

/// <summary>
/// Helpers over shapes, which are plain <c>int[]</c> in row-major order (last axis fastest).
/// </summary>
public static class Shape
{
    /// <summary>Number of elements of a shape (1 for a scalar, shape []).</summary>
    public static long Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    /// <summary>Row-major strides, in elements.</summary>
    public static long[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /// <summary>"[2, 3, 4]".</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>True when both shapes have the same rank and extents.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>NumPy broadcasting of two shapes; throws naming both shapes when incompatible.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"shapes {Format(a)} and {Format(b)} cannot be broadcast together");
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /// <summary>
    /// Strides (in elements) that read a tensor of shape <paramref name="from"/> as if it had
    /// shape <paramref name="to"/>: 0 on broadcast axes.
    /// </summary>
    public static long[] BroadcastStrides(ReadOnlySpan<int> from, ReadOnlySpan<int> to)
    {
        var strides = Strides(from);
        var r = new long[to.Length];
        int off = to.Length - from.Length;
        if (off < 0) throw new ArgumentException($"cannot broadcast {Format(from)} to {Format(to)}");
        for (int i = 0; i < to.Length; i++)
        {
            if (i < off) { r[i] = 0; continue; }
            int d = from[i - off];
            if (d == to[i]) r[i] = strides[i - off];
            else if (d == 1) r[i] = 0;
            else throw new ArgumentException($"cannot broadcast {Format(from)} to {Format(to)}");
        }
        return r;
    }

    /// <summary>Resolves one -1 entry of a reshape target against a total element count.</summary>
    public static int[] Infer(ReadOnlySpan<int> shape, long numel)
    {
        var r = shape.ToArray();
        int unknown = -1;
        long known = 1;
        for (int i = 0; i < r.Length; i++)
        {
            if (r[i] == -1)
            {
                if (unknown >= 0) throw new ArgumentException($"reshape {Format(shape)}: only one -1 is allowed");
                unknown = i;
            }
            else known *= r[i];
        }
        if (unknown >= 0)
        {
            if (known == 0 || numel % known != 0)
                throw new ArgumentException($"cannot reshape {numel} elements to {Format(shape)}");
            r[unknown] = (int)(numel / known);
        }
        if (Numel(r) != numel) throw new ArgumentException($"cannot reshape {numel} elements to {Format(shape)}");
        return r;
    }

    /// <summary>Normalizes a possibly negative axis against a rank.</summary>
    public static int Axis(int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} is out of range for rank {rank}");
        return a;
    }
}
