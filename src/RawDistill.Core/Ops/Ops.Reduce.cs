namespace RawDistill;

using RawDistill.Backends;
using RawDistill.Tensors;

// Reductions over axes. Consecutive reduced axes are merged into one [outer, reduce,
// inner] pass; separated ones take one pass each, innermost first.
public static partial class Ops
{
    static int[] NormalizeAxes(int[]? axes, int rank)
    {
        if (axes == null || axes.Length == 0) return Enumerable.Range(0, rank).ToArray();
        var r = axes.Select(a => Shape.Axis(a, rank)).Distinct().OrderBy(a => a).ToArray();
        return r;
    }

    static int[] ReducedShape(int[] shape, int[] axes, bool keepDim)
    {
        var r = new List<int>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (Array.IndexOf(axes, i) >= 0) { if (keepDim) r.Add(1); }
            else r.Add(shape[i]);
        }
        return [.. r];
    }

    static Tensor ReduceRaw(ReduceOp op, Tensor x, int[] axes)
    {
        NeedFloat(op.ToString(), x);
        var shape = (int[])x.Shape.Clone();
        Tensor cur = x;
        bool owned = false;
        int i = axes.Length - 1;
        while (i >= 0)
        {
            // Merge a run of consecutive axes [j, axes[i]].
            int hi = axes[i], lo = hi;
            while (i > 0 && axes[i - 1] == lo - 1) { lo--; i--; }
            i--;
            long outer = 1, reduce = 1, inner = 1;
            for (int d = 0; d < lo; d++) outer *= shape[d];
            for (int d = lo; d <= hi; d++) reduce *= shape[d];
            for (int d = hi + 1; d < shape.Length; d++) inner *= shape[d];
            for (int d = lo; d <= hi; d++) shape[d] = 1;
            var next = EmptyLike(x, (int[])shape.Clone());
            x.Backend.Reduce(op, cur.Storage, checked((int)outer), checked((int)reduce), checked((int)inner), next.Storage);
            if (owned) cur.Dispose();
            cur = next;
            owned = true;
        }
        return owned ? cur : Clone(x);
    }

    /// <summary>Sum over axes (all when null). ∂/∂x = g broadcast back over the reduced axes.</summary>
    public static Tensor Sum(Tensor x, int[]? axes = null, bool keepDim = false)
    {
        var ax = NormalizeAxes(axes, x.Rank);
        var y = ReduceRaw(ReduceOp.Sum, x, ax);
        var keptShape = y.Shape;
        if (!keepDim) y = ReshapeOwned(y, ReducedShape(x.Shape, ax, false));
        return Record(y, "sum", [x], g => [Expand(Reshape(g, keptShape), x.Shape)]);
    }

    /// <summary>Mean over axes (all when null). ∂/∂x = g / n broadcast back.</summary>
    public static Tensor Mean(Tensor x, int[]? axes = null, bool keepDim = false)
    {
        var ax = NormalizeAxes(axes, x.Rank);
        long n = 1;
        foreach (var a in ax) n *= x.Shape[a];
        return Mul(Sum(x, ax, keepDim), 1.0 / n);
    }

    /// <summary>
    /// Maximum over axes. The gradient is shared equally among the elements that attain
    /// the maximum: ∂/∂x = g·[x = y] / #[x = y].
    /// </summary>
    public static Tensor Max(Tensor x, int[]? axes = null, bool keepDim = false)
    {
        var ax = NormalizeAxes(axes, x.Rank);
        var y = ReduceRaw(ReduceOp.Max, x, ax);
        var keptShape = y.Shape;
        if (!keepDim) y = ReshapeOwned(y, ReducedShape(x.Shape, ax, false));
        var output = y;
        return Record(y, "max", [x], g =>
        {
            using var yKept = ReshapeRaw(output, keptShape);
            var mask = BinaryRaw(BinaryOp.Equal, x, yKept);
            var count = ReduceRaw(ReduceOp.Sum, mask, ax);
            var share = BinaryRaw(BinaryOp.Div, mask, count);
            return [Mul(Expand(Reshape(g, keptShape), x.Shape), share)];
        });
    }

    /// <summary>Biased variance (divides by n) over axes: mean((x − mean x)²).</summary>
    public static Tensor Var(Tensor x, int[]? axes = null, bool keepDim = false)
    {
        var m = Mean(x, axes, keepDim: true);
        var d = Sub(x, m);
        return Mean(Mul(d, d), axes, keepDim);
    }

    /// <summary>Index of the maximum along one axis (i32; not differentiable).</summary>
    public static Tensor ArgMax(Tensor x, int axis)
    {
        int a = Shape.Axis(axis, x.Rank);
        long outer = 1, inner = 1;
        for (int d = 0; d < a; d++) outer *= x.Shape[d];
        for (int d = a + 1; d < x.Rank; d++) inner *= x.Shape[d];
        var y = Tensor.Empty(ReducedShape(x.Shape, [a], false), DType.I32, x.Backend);
        x.Backend.ArgMax(x.Storage, checked((int)outer), x.Shape[a], checked((int)inner), y.Storage);
        return y;
    }

    /// <summary>
    /// Sums a broadcast gradient back to the shape it was broadcast from.
    /// ∂/∂g = the incoming gradient expanded again.
    /// </summary>
    public static Tensor SumTo(Tensor g, int[] shape)
    {
        if (Shape.Equal(g.Shape, shape)) return g;
        int lead = g.Rank - shape.Length;
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && g.Shape[i] != 1)) axes.Add(i);
        var s = Sum(g, [.. axes], keepDim: true);
        return Reshape(s, shape);
    }

    /// <summary>Broadcasts x to a larger shape (a copy). ∂/∂x = g summed back.</summary>
    public static Tensor Expand(Tensor x, int[] shape)
    {
        if (Shape.Equal(x.Shape, shape)) return x;
        var y = EmptyLike(x, shape);
        using var zero = Tensor.Zeros([], x.DType, x.Backend);
        x.Backend.Binary(BinaryOp.Add, x.Storage, Shape.BroadcastStrides(x.Shape, shape), zero.Storage, new long[shape.Length], y.Storage, shape);
        return Record(y, "expand", [x], g => [SumTo(g, x.Shape)]);
    }
}
