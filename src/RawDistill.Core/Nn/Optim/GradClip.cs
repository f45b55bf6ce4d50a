namespace RawDistill.Nn.Optim;

using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>Gradient clipping (PyTorch's <c>clip_grad_norm_</c>).</summary>
public static class GradClip
{
    /// <summary>
    /// Scales every gradient in place by min(1, maxNorm / (‖g‖₂ + 1e-6)), where ‖g‖₂ is the
    /// norm of all gradients together; returns that total norm (before clipping).
    /// Tensors without a gradient are skipped.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        double total = Math.Sqrt(grads.Sum(SquaredNorm));
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1)
            foreach (var g in grads) g.Backend.Unary(UnaryOp.Affine, g.Storage, g.Storage, g.Numel, coef, 0);
        return total;
    }

    /// <summary>Σ x² of one tensor, accumulated in double on the host side.</summary>
    internal static double SquaredNorm(Tensor t)
    {
        using var scope = TensorScope.Begin();
        using var _ = Autodiff.GradMode.NoGrad();
        var d = Ops.Detach(t);
        return Ops.Sum(Ops.Mul(d, d)).Item();
    }
}
