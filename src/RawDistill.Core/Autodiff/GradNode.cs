namespace RawDistill.Autodiff;

using RawDistill.Tensors;

/// <summary>
/// The backward rule of one recorded operation: given ∂L/∂y for its output y and a
/// <see cref="GradMask"/> of the inputs this call needs, returns ∂L/∂xᵢ for each input xᵢ
/// (null where it is not needed or takes no gradient). Rules are written with the same
/// differentiable tensor operations as forward code, so when the backward pass itself is
/// recorded (createGraph) it can be differentiated again.
/// </summary>
public sealed class GradNode
{
    internal GradNode(string op, Tensor[] inputs, Func<Tensor, GradMask, Tensor?[]> backward, SliceOf? slice = null)
    {
        Op = op;
        Inputs = inputs;
        Backward = backward;
        Slice = slice;
    }

    /// <summary>Name of the operation ("conv2d", "mul", ...).</summary>
    public string Op { get; }

    /// <summary>The inputs the rule returns gradients for, in order.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>The rule: output gradient and needed inputs → input gradients.</summary>
    public Func<Tensor, GradMask, Tensor?[]> Backward { get; }

    /// <summary>
    /// Set when the operation takes a contiguous block of its single input along one axis.
    /// The backward sweep then collects the pieces of the input's gradient and joins them
    /// once, instead of padding each piece to the input's full size (a flat parameter
    /// vector unflattened into ten tensors used to get ten full-length zero gradients).
    /// </summary>
    internal SliceOf? Slice { get; }

    /// <inheritdoc/>
    public override string ToString() => Op;
}

/// <summary>y = x[..., Start:Start+Length, ...] along <paramref name="Axis"/> of an input of extent <paramref name="Full"/> there.</summary>
internal sealed record SliceOf(int Axis, int Start, int Length, int Full);
