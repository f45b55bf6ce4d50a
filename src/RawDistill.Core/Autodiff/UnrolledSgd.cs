namespace RawDistill.Autodiff;

using RawDistill.Tensors;

/// <summary>
/// N steps of plain SGD on a flat parameter vector, differentiable with respect to the
/// start θ₀, the step size η and the data the inner loss reads (MKDT's inner loop):
/// <code>
/// θₖ₊₁ = θₖ − η·gₖ,   gₖ = ∇_θ Lₖ(θₖ; D)
/// </code>
/// Each step is a rematerialized <see cref="Checkpoint"/> segment with inputs (θₖ, η, D),
/// so the graph holds only θ₀..θ_N. The backward sweep over the steps is the adjoint
/// recursion (aₖ₊₁ = ∂J/∂θₖ₊₁; Hₖ the Hessian of Lₖ at θₖ):
/// <code>
/// ∂J/∂θₖ = aₖ₊₁ − η·Hₖ·aₖ₊₁
/// ∂J/∂D += −η·(∂gₖ/∂D)ᵀ·aₖ₊₁
/// ∂J/∂η += −⟨gₖ, aₖ₊₁⟩
/// </code>
/// which is exactly what differentiating the recomputed step k (its inner gradient taken
/// with createGraph) against aₖ₊₁ gives, one step's graph at a time. Hessian-vector and
/// mixed second-derivative products only; never a full Hessian.
/// </summary>
public static class UnrolledSgd
{
    /// <summary>
    /// θ_N after <paramref name="steps"/> SGD steps from <paramref name="theta0"/>.
    /// </summary>
    /// <param name="theta0">Start parameters, 1-D (a model's flat vector).</param>
    /// <param name="eta">Step size, a scalar tensor (may require gradients).</param>
    /// <param name="steps">Number of steps N.</param>
    /// <param name="stepLoss">(θ, data, k) → the scalar inner loss of step k. It must read only its
    /// arguments (during the reverse sweep they are recomputation aliases, not the caller's
    /// tensors) and pick the same minibatch every time it is called for the same k.</param>
    /// <param name="data">The tensors the loss reads whose gradients the caller may want (X, Y).</param>
    /// <param name="rematerialize">False records the whole unroll as one graph (the simple
    /// route; memory grows with N): for tests and comparisons.</param>
    public static Tensor Run(Tensor theta0, Tensor eta, int steps, Func<Tensor, Tensor[], int, Tensor> stepLoss, Tensor[] data, bool rematerialize = true)
    {
        if (theta0.Rank != 1) throw new ArgumentException($"unrolled SGD: θ₀ must be a flat vector, got {theta0.Describe()}");
        if (eta.Numel != 1) throw new ArgumentException($"unrolled SGD: η must be a scalar, got {eta.Describe()}");
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var theta = theta0;
        for (int k = 0; k < steps; k++)
        {
            int step = k;
            Tensor Segment(Tensor[] a) => Step(a[0], a[1], a[2..], step, stepLoss);
            Tensor[] inputs = [theta, eta, .. data];
            theta = rematerialize ? Checkpoint.Run("sgd_step", Segment, inputs) : Segment(inputs);
        }
        return theta;
    }

    /// <summary>θ − η·∇_θ L(θ), recorded when anything it reads requires gradients.</summary>
    static Tensor Step(Tensor theta, Tensor eta, Tensor[] data, int k, Func<Tensor, Tensor[], int, Tensor> stepLoss)
    {
        bool differentiable = GradMode.IsEnabled && (theta.RequiresGrad || eta.RequiresGrad || data.Any(d => d.RequiresGrad));
        // The inner gradient needs θ as something to differentiate against: a leaf alias when
        // θ itself takes no gradient (the first step's start, or a forward pass without tape).
        var th = theta;
        if (!theta.RequiresGrad)
        {
            th = Ops.Detach(theta);
            th.RequiresGrad = true;
        }
        Tensor g;
        using (GradMode.Set(true))
        {
            var loss = stepLoss(th, data, k);
            g = Autograd.Grad([loss], [th], createGraph: differentiable)[0];
        }
        using (GradMode.Set(differentiable))
        {
            var start = ReferenceEquals(th, theta) ? theta : (differentiable ? theta : th);
            return Ops.Sub(start, Ops.Mul(g, eta.Rank == 0 ? eta : Ops.Reshape(eta, [])));
        }
    }
}
