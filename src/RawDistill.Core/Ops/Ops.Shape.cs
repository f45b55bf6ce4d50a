namespace RawDistill;

using RawDistill.Autodiff;
using RawDistill.Tensors;

// Layout operations: reshape (a view), permute/transpose, slice, concat, row gather.
public static partial class Ops
{
    static Tensor ReshapeRaw(Tensor x, int[] shape)
    {
        var s = Shape.Infer(shape, x.Numel);
        x.Storage.AddRef();
        return new Tensor(x.Storage, s);
    }

    /// <summary>
    /// A reshaped view of a fresh result that nothing else references, taking over its
    /// reference: disposing the view then returns the memory. (A plain ReshapeRaw would
    /// leave the fresh tensor holding a reference that only a scope or the GC drops.)
    /// </summary>
    static Tensor ReshapeOwned(Tensor fresh, int[] shape)
    {
        var y = ReshapeRaw(fresh, shape);
        fresh.Dispose();
        return y;
    }

    /// <summary>Same elements, new shape (shares memory). ∂/∂x = g reshaped back.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var s = Shape.Infer(shape, x.Numel);
        if (Shape.Equal(s, x.Shape)) return x;
        return Record(ReshapeRaw(x, s), "reshape", [x], g => [Reshape(g, x.Shape)]);
    }

    /// <summary>Flattens all axes from <paramref name="startAxis"/> on into one.</summary>
    public static Tensor Flatten(Tensor x, int startAxis = 1)
    {
        var shape = x.Shape[..startAxis].Append(-1).ToArray();
        return Reshape(x, shape);
    }

    /// <summary>Reorders axes (materializes). ∂/∂x = g permuted by the inverse permutation.</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        if (perm.Length != x.Rank || perm.Distinct().Count() != x.Rank || perm.Any(p => p < 0 || p >= x.Rank))
            throw new ArgumentException($"permute: {Shape.Format(perm)} is not a permutation of the axes of {x.Describe()}");
        if (perm.Select((p, i) => p == i).All(b => b)) return x;
        var shape = perm.Select(p => x.Shape[p]).ToArray();
        var y = Tensor.Empty(shape, x.DType, x.Backend);
        x.Backend.Permute(x.Storage, x.Shape, perm, y.Storage);
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return x.DType.IsFloat() ? Record(y, "permute", [x], g => [Permute(g, inverse)]) : y;
    }

    /// <summary>Swaps two axes (the last two by default).</summary>
    public static Tensor Transpose(Tensor x, int a = -2, int b = -1)
    {
        a = Shape.Axis(a, x.Rank);
        b = Shape.Axis(b, x.Rank);
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(x, perm);
    }

    /// <summary>x[..., start:start+length, ...] along one axis (a copy). ∂/∂x = g placed back into zeros.</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int length)
    {
        axis = Shape.Axis(axis, x.Rank);
        if (start < 0 || length < 0 || start + length > x.Shape[axis])
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + length}) of axis {axis} of {x.Describe()}");
        var shape = (int[])x.Shape.Clone();
        shape[axis] = length;
        var y = Tensor.Empty(shape, x.DType, x.Backend);
        var (outer, inner) = OuterInner(x.Shape, axis);
        x.Backend.CopyBlocks(x.Storage, start * inner, x.Shape[axis] * inner, y.Storage, 0, length * inner, outer, length * inner);
        if (!x.DType.IsFloat()) return y;
        int full = x.Shape[axis];
        return Record(y, "slice", [x], (g, _) => [SliceBackward(g, axis, start, full)], new SliceOf(axis, start, length, full));
    }

    /// <summary>Zeros of the full size with g written at [start, start+len) of the axis. ∂/∂g = slice of the incoming gradient.</summary>
    internal static Tensor SliceBackward(Tensor g, int axis, int start, int full)
    {
        var shape = (int[])g.Shape.Clone();
        int length = shape[axis];
        shape[axis] = full;
        var y = Tensor.Zeros(shape, g.DType, g.Backend);
        var (outer, inner) = OuterInner(shape, axis);
        g.Backend.CopyBlocks(g.Storage, 0, length * inner, y.Storage, start * inner, full * inner, outer, length * inner);
        return Record(y, "slice_backward", [g], gg => [Slice(gg, axis, start, length)]);
    }

    /// <summary>Joins tensors along an axis. ∂/∂xᵢ = the matching slice of g.</summary>
    public static Tensor Concat(Tensor[] xs, int axis)
    {
        if (xs.Length == 0) throw new ArgumentException("concat of no tensors");
        axis = Shape.Axis(axis, xs[0].Rank);
        var shape = (int[])xs[0].Shape.Clone();
        shape[axis] = 0;
        foreach (var x in xs)
        {
            SameBackend("concat", xs[0], x);
            if (x.DType != xs[0].DType || x.Rank != shape.Length || Enumerable.Range(0, x.Rank).Any(d => d != axis && x.Shape[d] != xs[0].Shape[d]))
                throw new ArgumentException($"concat: {x.Describe()} does not match {xs[0].Describe()} outside axis {axis}");
            shape[axis] += x.Shape[axis];
        }
        var y = Tensor.Empty(shape, xs[0].DType, xs[0].Backend);
        var (outer, inner) = OuterInner(shape, axis);
        int offset = 0;
        var starts = new int[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            int len = xs[i].Shape[axis];
            starts[i] = offset;
            y.Backend.CopyBlocks(xs[i].Storage, 0, len * inner, y.Storage, offset * inner, shape[axis] * inner, outer, len * inner);
            offset += len;
        }
        if (!y.DType.IsFloat()) return y;
        return Record(y, "concat", xs, (g, need) => xs.Select((x, i) => need[i] ? Slice(g, axis, starts[i], x.Shape[axis]) : null).ToArray());
    }

    /// <summary>Stacks same-shaped tensors along a new leading axis.</summary>
    public static Tensor Stack(Tensor[] xs) => Concat(xs.Select(x => Reshape(x, [1, .. x.Shape])).ToArray(), 0);

    /// <summary>Rows x[indices[i]] of the first axis (index_select). ∂/∂x = g scatter-added back.</summary>
    public static Tensor IndexSelect(Tensor x, Tensor indices)
    {
        if (indices.DType != DType.I32 || indices.Rank != 1) throw new ArgumentException($"index_select: indices must be a 1-D i32 tensor, got {indices.Describe()}");
        var shape = (int[])x.Shape.Clone();
        shape[0] = (int)indices.Numel;
        int rowLength = checked((int)(x.Numel / Math.Max(1, x.Shape[0])));
        var y = Tensor.Empty(shape, x.DType, x.Backend);
        x.Backend.GatherRows(x.Storage, rowLength, indices.Storage, shape[0], y.Storage);
        if (!x.DType.IsFloat()) return y;
        int rows = x.Shape[0];
        return Record(y, "index_select", [x], g => [IndexAdd(g, indices, rows)]);
    }

    /// <summary>y = zeros with y[indices[i]] += g[i] over the first axis. ∂/∂g = index_select of the incoming gradient.</summary>
    public static Tensor IndexAdd(Tensor g, Tensor indices, int rows)
    {
        var shape = (int[])g.Shape.Clone();
        shape[0] = rows;
        int rowLength = checked((int)(g.Numel / Math.Max(1, g.Shape[0])));
        var y = Tensor.Zeros(shape, g.DType, g.Backend);
        g.Backend.ScatterAddRows(g.Storage, rowLength, indices.Storage, g.Shape[0], y.Storage);
        return Record(y, "index_add", [g], gg => [IndexSelect(gg, indices)]);
    }

    /// <summary>y[i] = x.flat[indices[i]] (shape of indices). ∂/∂x = g scatter-added into zeros.</summary>
    public static Tensor GatherFlat(Tensor x, Tensor indices)
    {
        var y = Tensor.Empty(indices.Shape, x.DType, x.Backend);
        x.Backend.GatherFlat(x.Storage, indices.Storage, indices.Numel, y.Storage);
        var xShape = x.Shape;
        return Record(y, "gather", [x], g => [ScatterAddFlat(g, indices, xShape)]);
    }

    /// <summary>y = zeros(shape) with y.flat[indices[i]] += g[i]. ∂/∂g = gather of the incoming gradient.</summary>
    public static Tensor ScatterAddFlat(Tensor g, Tensor indices, int[] shape)
    {
        var y = Tensor.Zeros(shape, g.DType, g.Backend);
        g.Backend.ScatterAddFlat(g.Storage, indices.Storage, g.Numel, y.Storage);
        return Record(y, "scatter_add", [g], gg => [GatherFlat(gg, indices)]);
    }

    static (long outer, long inner) OuterInner(int[] shape, int axis)
    {
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, inner);
    }
}
