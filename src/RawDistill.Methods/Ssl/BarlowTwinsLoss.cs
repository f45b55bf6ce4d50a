namespace RawDistill.Methods.Ssl;

using RawDistill.Tensors;

/// <summary>
/// The Barlow Twins objective (Zbontar et al. 2021; design page evaluation.md):
/// standardize each projector dimension over the batch for both views (batch norm
/// without affine, biased variance, ε = 1e-5, as the reference's BatchNorm1d does),
/// C = z̃₁ᵀ z̃₂ / n, and
/// <code>L = Σ_i (1 − C_ii)² + λ_off · Σ_{i≠j} C_ij²</code>
/// </summary>
public static class BarlowTwinsLoss
{
    /// <summary>The paper's off-diagonal weight for a 8192-wide projector.</summary>
    public const double DefaultLambdaOff = 5e-3;

    /// <summary>L for the two views' projections z1, z2 [n, d].</summary>
    public static Tensor Compute(Tensor z1, Tensor z2, double lambdaOff = DefaultLambdaOff)
    {
        if (z1.Rank != 2 || !Shape.Equal(z1.Shape, z2.Shape))
            throw new ArgumentException($"barlow twins: both views must be [n, d] of one shape, got {z1.Describe()} and {z2.Describe()}");
        int n = z1.Shape[0], d = z1.Shape[1];
        var a = Ops.BatchNorm(z1, null, null, null, null, training: true);
        var b = Ops.BatchNorm(z2, null, null, null, null, training: true);
        var c = Ops.Mul(Ops.MatMul(a, b, transA: true), 1.0 / n);
        var eye = Ops.Eye(d, c); // owned by the caller's scope: the backward pass still reads it
        var diagonal = Ops.Sum(Ops.Mul(c, eye), [1]);
        var onDiagonal = Ops.Sum(Ops.Square(Ops.Add(diagonal, -1.0)));
        var offMask = Ops.Affine(eye, -1, 1);
        var offDiagonal = Ops.Sum(Ops.Square(Ops.Mul(c, offMask)));
        return Ops.Add(onDiagonal, Ops.Mul(offDiagonal, lambdaOff));
    }
}
