namespace RawDistill;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Tensors;

// Element-wise operations with NumPy broadcasting.
public static partial class Ops
{
    static Tensor UnaryRaw(UnaryOp op, Tensor x, double a = 0, double b = 0)
    {
        NeedFloat(op.ToString(), x);
        var y = EmptyLike(x, x.Shape);
        x.Backend.Unary(op, x.Storage, y.Storage, x.Numel, a, b);
        return y;
    }

    /// <summary>y = x·a + b. ∂/∂x = g·a.</summary>
    public static Tensor Affine(Tensor x, double a, double b) => Affine(x, a, b, record: true);

    internal static Tensor Affine(Tensor x, double a, double b, bool record)
    {
        var y = UnaryRaw(UnaryOp.Affine, x, a, b);
        return record ? Record(y, "affine", [x], g => [Affine(g, a, 0)]) : y;
    }

    public static Tensor Neg(Tensor x) => Affine(x, -1, 0);

    public static Tensor Add(Tensor x, double s) => Affine(x, 1, s);

    public static Tensor Mul(Tensor x, double s) => Affine(x, s, 0);

    /// <summary>y = eˣ. ∂/∂x = g·y.</summary>
    public static Tensor Exp(Tensor x)
    {
        var y = UnaryRaw(UnaryOp.Exp, x);
        return Record(y, "exp", [x], g => [Mul(g, y)]);
    }

    /// <summary>y = ln x. ∂/∂x = g / x.</summary>
    public static Tensor Log(Tensor x) => Record(UnaryRaw(UnaryOp.Log, x), "log", [x], g => [Div(g, x)]);

    /// <summary>y = √x. ∂/∂x = g / (2y).</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var y = UnaryRaw(UnaryOp.Sqrt, x);
        return Record(y, "sqrt", [x], g => [Div(Mul(g, 0.5), y)]);
    }

    /// <summary>y = 1/√x. ∂/∂x = −g·y³/2.</summary>
    public static Tensor Rsqrt(Tensor x)
    {
        var y = UnaryRaw(UnaryOp.Rsqrt, x);
        return Record(y, "rsqrt", [x], g => [Mul(Mul(g, Pow(y, 3)), -0.5)]);
    }

    /// <summary>y = xᵖ. ∂/∂x = g·p·xᵖ⁻¹.</summary>
    public static Tensor Pow(Tensor x, double p)
    {
        if (p == 1) return x;
        var y = UnaryRaw(UnaryOp.Pow, x, p);
        return Record(y, "pow", [x], g => [Mul(g, p == 2 ? Mul(x, 2.0) : Mul(Pow(x, p - 1), p))]);
    }

    public static Tensor Square(Tensor x) => Mul(x, x);

    /// <summary>y = |x|. ∂/∂x = g·sign(x).</summary>
    public static Tensor Abs(Tensor x) => Record(UnaryRaw(UnaryOp.Abs, x), "abs", [x], g => [Mul(g, UnaryRaw(UnaryOp.Sign, x))]);

    /// <summary>y = max(x, 0). ∂/∂x = g·[x &gt; 0] (<see cref="ReluBackward"/>).</summary>
    public static Tensor Relu(Tensor x) => Record(UnaryRaw(UnaryOp.Relu, x), "relu", [x], g => [ReluBackward(g, x)]);

    /// <summary>
    /// g·[x &gt; 0], the input gradient of relu. Fused: the 0/1 mask is a temporary, so a
    /// createGraph backward keeps one full-size tensor per relu instead of two. Its own
    /// derivatives: ∂/∂g = ·[x &gt; 0], ∂/∂x = 0 (the mask is piecewise constant).
    /// </summary>
    static Tensor ReluBackward(Tensor g, Tensor x)
    {
        static Tensor Masked(Tensor[] a)
        {
            using var mask = UnaryRaw(UnaryOp.Step, a[1]);
            return Mul(a[0], mask);
        }
        if (!GradMode.IsEnabled) return Masked([g, x]);
        // The composite's mask must outlive the call: its recorded mul reads it during the recomputed backward.
        return Autodiff.Checkpoint.Fused("relu_backward", Masked, a => Mul(a[0], UnaryRaw(UnaryOp.Step, a[1])), g, x);
    }

    /// <summary>y = 1/(1 + e⁻ˣ). ∂/∂x = g·y·(1 − y).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = UnaryRaw(UnaryOp.Sigmoid, x);
        return Record(y, "sigmoid", [x], g => [Mul(g, Mul(y, Affine(y, -1, 1)))]);
    }

    /// <summary>y = tanh x. ∂/∂x = g·(1 − y²).</summary>
    public static Tensor Tanh(Tensor x)
    {
        var y = UnaryRaw(UnaryOp.Tanh, x);
        return Record(y, "tanh", [x], g => [Mul(g, Affine(Mul(y, y), -1, 1))]);
    }

    /// <summary>y = min(max(x, lo), hi). ∂/∂x = g·[lo ≤ x ≤ hi].</summary>
    public static Tensor Clamp(Tensor x, double lo, double hi) =>
        Record(UnaryRaw(UnaryOp.Clamp, x, lo, hi), "clamp", [x], g => [Mul(g, UnaryRaw(UnaryOp.InRange, x, lo, hi))]);

    /// <summary>y = 1/x. ∂/∂x = −g·y².</summary>
    public static Tensor Reciprocal(Tensor x)
    {
        var y = UnaryRaw(UnaryOp.Reciprocal, x);
        return Record(y, "reciprocal", [x], g => [Neg(Mul(g, Mul(y, y)))]);
    }

    /// <summary>sign(x) ∈ {−1, 0, 1}; not differentiable (no gradient is recorded).</summary>
    public static Tensor Sign(Tensor x) => UnaryRaw(UnaryOp.Sign, x);

    // ---- binary ------------------------------------------------------------------------

    internal static Tensor BinaryRaw(BinaryOp op, Tensor a, Tensor b)
    {
        SameFloat(op.ToString(), a, b);
        var shape = Shape.Broadcast(a.Shape, b.Shape);
        var y = EmptyLike(a, shape);
        a.Backend.Binary(op, a.Storage, Shape.BroadcastStrides(a.Shape, shape), b.Storage, Shape.BroadcastStrides(b.Shape, shape), y.Storage, shape);
        return y;
    }

    /// <summary>y = a + b. ∂/∂a = Σ_broadcast g, ∂/∂b = Σ_broadcast g.</summary>
    public static Tensor Add(Tensor a, Tensor b) =>
        Record(BinaryRaw(BinaryOp.Add, a, b), "add", [a, b], (g, need) => [need[0] ? SumTo(g, a.Shape) : null, need[1] ? SumTo(g, b.Shape) : null]);

    /// <summary>y = a − b. ∂/∂a = Σ g, ∂/∂b = −Σ g.</summary>
    public static Tensor Sub(Tensor a, Tensor b) =>
        Record(BinaryRaw(BinaryOp.Sub, a, b), "sub", [a, b], (g, need) => [need[0] ? SumTo(g, a.Shape) : null, need[1] ? Neg(SumTo(g, b.Shape)) : null]);

    /// <summary>y = a·b. ∂/∂a = Σ g·b, ∂/∂b = Σ g·a.</summary>
    public static Tensor Mul(Tensor a, Tensor b) =>
        Record(BinaryRaw(BinaryOp.Mul, a, b), "mul", [a, b], (g, need) => [
            need[0] ? SumTo(Mul(g, b), a.Shape) : null,
            need[1] ? SumTo(Mul(g, a), b.Shape) : null]);

    /// <summary>y = a / b. ∂/∂a = Σ g / b, ∂/∂b = −Σ g·a / b².</summary>
    public static Tensor Div(Tensor a, Tensor b) =>
        Record(BinaryRaw(BinaryOp.Div, a, b), "div", [a, b], (g, need) => [
            need[0] ? SumTo(Div(g, b), a.Shape) : null,
            need[1] ? SumTo(Neg(Div(Mul(g, a), Mul(b, b))), b.Shape) : null]);

    /// <summary>y = max(a, b). The gradient goes to a where a ≥ b, else to b.</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        var y = BinaryRaw(BinaryOp.Max, a, b);
        return Record(y, "maximum", [a, b], (g, need) =>
        {
            var takeA = BinaryRaw(BinaryOp.GreaterEqual, a, b);
            return [need[0] ? SumTo(Mul(g, takeA), a.Shape) : null, need[1] ? SumTo(Mul(g, Affine(takeA, -1, 1, record: false)), b.Shape) : null];
        });
    }

    /// <summary>y = min(a, b). The gradient goes to a where a ≤ b, else to b.</summary>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        var y = BinaryRaw(BinaryOp.Min, a, b);
        return Record(y, "minimum", [a, b], (g, need) =>
        {
            var takeA = BinaryRaw(BinaryOp.GreaterEqual, b, a);
            return [need[0] ? SumTo(Mul(g, takeA), a.Shape) : null, need[1] ? SumTo(Mul(g, Affine(takeA, -1, 1, record: false)), b.Shape) : null];
        });
    }

    /// <summary>1 where a &gt; b, else 0 (not differentiable).</summary>
    public static Tensor Greater(Tensor a, Tensor b) => BinaryRaw(BinaryOp.Greater, a, b);

    /// <summary>1 where a == b, else 0 (not differentiable).</summary>
    public static Tensor Equal(Tensor a, Tensor b) => BinaryRaw(BinaryOp.Equal, a, b);

    /// <summary>
    /// y = mask ? a : b for a 0/1 mask (a constant, like those Greater returns).
    /// ∂/∂a = Σ g·mask, ∂/∂b = Σ g·(1 − mask).
    /// </summary>
    public static Tensor Where(Tensor mask, Tensor a, Tensor b)
    {
        SameFloat("where", a, b);
        SameFloat("where", mask, a);
        var shape = Shape.Broadcast(Shape.Broadcast(mask.Shape, a.Shape), b.Shape);
        // Select, never blend: a·mask + b·(1 − mask) turned an unselected ±inf or NaN
        // (log 0, 0/0, −inf masking) into NaN through 0·inf. The backend's select primitive
        // reads the three (broadcasts expanded) element by element, on the device.
        var y = Tensor.Empty(shape, a.DType, a.Backend);
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var m = Expand(mask, shape);
            var ea = Expand(a, shape);
            var eb = Expand(b, shape);
            a.Backend.Select(m.Storage, ea.Storage, eb.Storage, y.Storage, y.Numel);
        }
        var inverse = Affine(mask, -1, 1, record: false);
        return Record(y, "where", [a, b], (g, need) => [need[0] ? SumTo(Mul(g, mask), a.Shape) : null, need[1] ? SumTo(Mul(g, inverse), b.Shape) : null]);
    }
}
