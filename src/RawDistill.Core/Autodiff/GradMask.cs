namespace RawDistill.Autodiff;

/// <summary>
/// Which inputs of a recorded operation need a gradient in the current backward call.
/// <see cref="Autograd"/> computes it from the tensors the caller asked for, so a rule
/// skips the work for the others: the KRR-ST outer step wants gradients of the synthetic
/// images only, and its pool model's conv weights (which require gradients for their own
/// training) get no weight-gradient convolution.
/// </summary>
public readonly struct GradMask
{
    readonly bool[]? _need;

    internal GradMask(bool[] need) => _need = need;

    /// <summary>A mask where every input that requires gradients is needed (for rules called by hand).</summary>
    public static GradMask FromRequiresGrad(Tensors.Tensor[] inputs) => new(Array.ConvertAll(inputs, x => x.RequiresGrad));

    /// <summary>True when input <paramref name="i"/> needs its gradient computed.</summary>
    public bool this[int i] => _need != null && _need[i];

    /// <summary>True when at least one input needs a gradient.</summary>
    public bool Any => _need != null && Array.IndexOf(_need, true) >= 0;

    /// <inheritdoc/>
    public override string ToString() => _need == null ? "[]" : "[" + string.Join(", ", _need.Select(b => b ? "1" : "0")) + "]";
}
