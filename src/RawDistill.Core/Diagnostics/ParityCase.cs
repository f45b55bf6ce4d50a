namespace RawDistill.Diagnostics;

using RawDistill.Tensors;

/// <summary>
/// One backend parity check: an operation (or a small chain) run on a reference and on a
/// target backend from identical inputs; its output and the gradients of ⟨output, G⟩
/// with respect to every input (for a fixed random G) must agree.
/// </summary>
/// <param name="Name">Shown in the selftest table and test names.</param>
/// <param name="InputShapes">Shapes of the inputs, drawn from a seeded normal distribution.</param>
/// <param name="Forward">The computation, from the inputs (already on the backend being tested).</param>
/// <param name="Inputs">How inputs are drawn: normal, or positive (for log, sqrt, ...).</param>
/// <param name="Differentiable">False for checks of forward values only.</param>
public sealed record ParityCase(
    string Name,
    int[][] InputShapes,
    Func<Tensor[], Tensor> Forward,
    ParityInputs Inputs = ParityInputs.Normal,
    bool Differentiable = true)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>How a <see cref="ParityCase"/>'s inputs are drawn.</summary>
public enum ParityInputs
{
    /// <summary>Standard normal.</summary>
    Normal,
    /// <summary>Uniform on [0.5, 2): for ops defined on positive numbers.</summary>
    Positive,
    /// <summary>The first input is a symmetric positive-definite matrix M·Mᵀ/n + I; the rest normal.</summary>
    SpdFirst,
}

/// <summary>What one parity check found: the worst disagreement over the output and every gradient.</summary>
public sealed record ParityResult(string Name, string Worst, double MaxAbsError, double MaxRelError, bool Passed, string? Error = null);
