namespace RawDistill.Methods.Mkdt;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// MKDT's matching loss (mkdt.md, stage 3), from a start θ*, a target θ_T, the synthetic set
/// (X normalized, Y) and the learned step size η:
/// <code>
/// θ₀ ← θ*
/// θₖ₊₁ ← θₖ − η ∇_θ mean((f_θₖ(X_bₖ) − Y_bₖ)²)      k = 0..N−1, bₖ minibatches of a fresh permutation of X
/// L ← ‖θ_N − θ_T‖² / ‖θ* − θ_T‖²                  the denominator is a constant
/// </code>
/// The unroll is <see cref="UnrolledSgd"/> (each step a rematerialized segment keeping only
/// θₖ), so the backward pass to X, Y and η holds one step's graph at a time; its reverse sweep
/// is the adjoint recursion written there (Hessian-vector and mixed second-derivative
/// products only). <c>rematerialize: false</c> records the full tape instead (tests).
/// </summary>
/// <param name="student">The student network, used functionally (its own parameters are never read).</param>
public sealed class TrajectoryMatcher(ConvNet student)
{
    /// <summary>The student.</summary>
    public ConvNet Student { get; } = student;

    /// <summary>L, differentiable in whichever of X, Y, η require gradients.</summary>
    /// <param name="thetaStart">θ*, 1-D.</param>
    /// <param name="thetaTarget">θ_T, 1-D.</param>
    /// <param name="x">X, m×C×H×W, already normalized.</param>
    /// <param name="y">Y, m×d.</param>
    /// <param name="eta">η, a scalar tensor.</param>
    /// <param name="batches">N index tensors (1-D i32) into the rows of X and Y.</param>
    /// <param name="rematerialize">False: record the whole unroll as one graph.</param>
    public Tensor Loss(Tensor thetaStart, Tensor thetaTarget, Tensor x, Tensor y, Tensor eta, IReadOnlyList<Tensor> batches, bool rematerialize = true)
    {
        if (thetaStart.Rank != 1 || !Shape.Equal(thetaStart.Shape, thetaTarget.Shape))
            throw new ArgumentException($"trajectory matching: θ* {thetaStart.Describe()} and θ_T {thetaTarget.Describe()} must be equal 1-D vectors");
        if (x.Shape[0] != y.Shape[0]) throw new ArgumentException($"trajectory matching: X has {x.Shape[0]} rows, Y {y.Shape[0]}");
        var thetaN = UnrolledSgd.Run(thetaStart, eta, batches.Count, StepLoss, [x, y], rematerialize);
        Tensor denominator;
        using (GradMode.NoGrad()) denominator = Ops.Sum(Ops.Square(Ops.Sub(thetaStart, thetaTarget)));
        return Ops.Div(Ops.Sum(Ops.Square(Ops.Sub(thetaN, thetaTarget))), denominator);

        Tensor StepLoss(Tensor theta, Tensor[] d, int k) =>
            Ops.Mse(Student.Forward(Ops.IndexSelect(d[0], batches[k]), Student.UnflattenParameters(theta)), Ops.IndexSelect(d[1], batches[k]));
    }

    /// <summary>
    /// N minibatches of min(batch, m) row indices: consecutive slices of a permutation of the m
    /// rows, a fresh permutation whenever the current one has too few rows left (as MKDT draws them).
    /// </summary>
    public static Tensor[] Batches(int m, int batch, int steps, Generator rng, IBackend? backend = null)
    {
        int b = Math.Min(batch, m);
        var result = new Tensor[steps];
        var perm = rng.Permutation(m);
        int pos = 0;
        for (int k = 0; k < steps; k++)
        {
            if (pos + b > m)
            {
                perm = rng.Permutation(m);
                pos = 0;
            }
            result[k] = Tensor.From<int>(perm.AsSpan(pos, b), [b], backend);
            pos += b;
        }
        return result;
    }
}
