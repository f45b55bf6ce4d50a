namespace RawDistill;

using RawDistill.Backends;
using RawDistill.Tensors;

// Pooling. Average pooling and its backward are adjoint linear maps, so each is the
// other's rule; max pooling routes gradients through the recorded argmax positions.
public static partial class Ops
{
    static Pool2dGeometry PoolGeometry(string op, Tensor x, int kernel, int stride, int padding)
    {
        if (x.Rank != 4) throw new ArgumentException($"{op}: expected [N, C, H, W], got {x.Describe()}");
        var g = new Pool2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], kernel, kernel, stride, stride, padding, padding);
        g.Validate();
        return g;
    }

    /// <summary>Average pooling (padding counts as zeros). ∂/∂x = avg_pool_backward(g).</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0)
    {
        NeedFloat("avg_pool2d", x);
        var geo = PoolGeometry("avg_pool2d", x, kernel, stride ?? kernel, padding);
        return AvgPool2d(x, geo);
    }

    static Tensor AvgPool2d(Tensor x, Pool2dGeometry geo)
    {
        var y = EmptyLike(x, geo.OutputShape);
        x.Backend.AvgPool2dForward(geo, x.Storage, y.Storage);
        return Record(y, "avg_pool2d", [x], g => [AvgPool2dBackward(g, geo)]);
    }

    /// <summary>The adjoint of average pooling. ∂/∂g = avg_pool(incoming gradient).</summary>
    static Tensor AvgPool2dBackward(Tensor g, Pool2dGeometry geo)
    {
        var dx = EmptyLike(g, geo.InputShape);
        g.Backend.AvgPool2dBackward(geo, g.Storage, dx.Storage);
        return Record(dx, "avg_pool2d_backward", [g], gg => [AvgPool2d(gg, geo)]);
    }

    /// <summary>Max pooling. ∂/∂x = g scattered to each window's argmax.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int? stride = null, int padding = 0)
    {
        NeedFloat("max_pool2d", x);
        var geo = PoolGeometry("max_pool2d", x, kernel, stride ?? kernel, padding);
        var y = EmptyLike(x, geo.OutputShape);
        var indices = Tensor.Empty(geo.OutputShape, DType.I32, x.Backend);
        x.Backend.MaxPool2dForward(geo, x.Storage, y.Storage, indices.Storage);
        return Record(y, "max_pool2d", [x], g => [ScatterAddFlat(g, indices, geo.InputShape)]);
    }

    /// <summary>Mean over the spatial axes: [N, C, H, W] → [N, C].</summary>
    public static Tensor GlobalAvgPool2d(Tensor x) => Mean(x, [2, 3]);
}
