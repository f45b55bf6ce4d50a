namespace RawDistill;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// Differentiable tensor operations. Each file of this partial class holds one family
/// (element-wise, reductions, shape, matmul, conv, pool, norm, losses, linalg); every op
/// runs its forward on the tensors' backend and records a backward rule — written with
/// these same ops, so gradients can be differentiated again. Each rule's comment states
/// its equation, with g = ∂L/∂y.
/// </summary>
public static partial class Ops
{
    /// <summary>
    /// Attaches a backward rule to y when recording is on and any input needs gradients. The
    /// rule gets the mask of the inputs this backward call needs and computes only those.
    /// </summary>
    internal static Tensor Record(Tensor y, string op, Tensor[] inputs, Func<Tensor, GradMask, Tensor?[]> backward, SliceOf? slice = null)
    {
        OpCounter.Hit(op);
        if (!GradMode.IsEnabled) return y;
        foreach (var x in inputs)
        {
            if (x.RequiresGrad)
            {
                y.GradFn = new GradNode(op, inputs, backward, slice);
                return y;
            }
        }
        return y;
    }

    /// <summary>A single-input rule: it runs only when its input's gradient is needed, so it needs no mask.</summary>
    internal static Tensor Record(Tensor y, string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (inputs.Length != 1) throw new ArgumentException($"{op}: a rule over {inputs.Length} inputs must take the gradient mask");
        return Record(y, op, inputs, (g, _) => backward(g));
    }

    internal static void SameBackend(string op, Tensor a, Tensor b)
    {
        if (a.Backend != b.Backend) throw new ArgumentException($"{op}: {a.Describe()} and {b.Describe()} are on different backends");
    }

    internal static void SameFloat(string op, Tensor a, Tensor b)
    {
        SameBackend(op, a, b);
        if (a.DType != b.DType) throw new ArgumentException($"{op}: dtypes differ ({a.Describe()}, {b.Describe()}); cast one first");
        if (!a.DType.IsFloat()) throw new ArgumentException($"{op}: needs floating-point tensors, got {a.Describe()}");
    }

    internal static void NeedFloat(string op, Tensor a)
    {
        if (!a.DType.IsFloat()) throw new ArgumentException($"{op}: needs a floating-point tensor, got {a.Describe()}");
    }

    /// <summary>A new empty tensor like x (same backend and dtype) with the given shape.</summary>
    internal static Tensor EmptyLike(Tensor x, int[] shape) => Tensor.Empty(shape, x.DType, x.Backend);

    /// <summary>The same values, cut from the graph (shares memory).</summary>
    public static Tensor Detach(Tensor x)
    {
        x.Storage.AddRef();
        return new Tensor(x.Storage, x.Shape);
    }

    /// <summary>
    /// The same values and memory as x, recorded as an identity (∂/∂x = g): a tensor that
    /// is differentiable like x but distinct from it, so a gradient can be asked for with
    /// respect to this use of x alone.
    /// </summary>
    internal static Tensor Alias(Tensor x)
    {
        x.Storage.AddRef();
        return Record(new Tensor(x.Storage, x.Shape), "alias", [x], g => [g]);
    }

    /// <summary>A copy with its own memory; gradients flow through it unchanged.</summary>
    public static Tensor Clone(Tensor x)
    {
        var y = EmptyLike(x, x.Shape);
        x.Backend.CopyBlocks(x.Storage, 0, 0, y.Storage, 0, 0, 1, x.Numel);
        return Record(y, "clone", [x], g => [g]);
    }

    /// <summary>Converts to another dtype. ∂/∂x: cast g back.</summary>
    public static Tensor Cast(Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x;
        var y = Tensor.Empty(x.Shape, dtype, x.Backend);
        x.Backend.Cast(x.Storage, y.Storage, x.Numel);
        if (!x.DType.IsFloat() || !dtype.IsFloat()) return y;
        return Record(y, "cast", [x], g => [Cast(g, x.DType)]);
    }

    public static Tensor Zeros(Tensor like) => Tensor.Zeros(like.Shape, like.DType, like.Backend);

    public static Tensor ZerosLike(Tensor like, int[] shape) => Tensor.Zeros(shape, like.DType, like.Backend);

    public static Tensor OnesLike(Tensor like) => Tensor.Ones(like.Shape, like.DType, like.Backend);
}
