namespace RawDistill.Autodiff;

using RawDistill.Tensors;

/// <summary>
/// The backward rule of one recorded operation: given ∂L/∂y for its output y, returns
/// ∂L/∂xᵢ for each input xᵢ (null where an input takes no gradient). Rules are written
/// with the same differentiable tensor operations as forward code, so when the backward
/// pass itself is recorded (createGraph) it can be differentiated again.
/// </summary>
public sealed class GradNode
{
    internal GradNode(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        Op = op;
        Inputs = inputs;
        Backward = backward;
    }

    /// <summary>Name of the operation ("conv2d", "mul", ...).</summary>
    public string Op { get; }

    /// <summary>The inputs the rule returns gradients for, in order.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>The rule: output gradient → input gradients.</summary>
    public Func<Tensor, Tensor?[]> Backward { get; }

    /// <inheritdoc/>
    public override string ToString() => Op;
}
