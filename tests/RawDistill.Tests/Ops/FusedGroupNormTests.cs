namespace RawDistill.Tests.OpsForward;

using RawDistill.Autodiff;
using RawDistill.Tensors;
using static RawDistill.Tests.Autodiff.GradCheck;

/// <summary>
/// Group norm as a backend primitive against its composite form (the previous
/// implementation, and the form its second-order rules differentiate): forward and every
/// gradient agree in f64, and gradients of every order match finite differences (the memory a
/// recorded forward keeps: BackwardMemoryTests).
/// </summary>
public sealed class FusedGroupNormTests
{
    public static TheoryData<int[], int, bool> Geometries => new()
    {
        { [2, 6, 4, 5], 2, true },
        { [3, 4, 3, 3], 4, true },   // instance norm
        { [2, 6, 7], 1, false },     // layer norm over channels and a 1-D space, no affine
        { [5, 8], 4, true },         // no spatial axes
        { [1, 3, 2, 2], 3, false },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void PrimitiveEqualsCompositeForwardAndGradients(int[] shape, int groups, bool affine)
    {
        using var scope = TensorScope.Begin();
        int c = shape[1];
        var x = Randn(1, shape);
        var gamma = affine ? Uniform(2, [c], 0.5, 1.5) : null;
        var beta = affine ? Randn(3, [c]) : null;
        var v = Randn(4, shape);
        var leaves = new[] { x, gamma, beta }.Where(t => t != null).Cast<Tensor>().ToArray();
        foreach (var t in leaves) t.RequiresGrad = true;
        var fused = Ops.GroupNorm(x, groups, gamma, beta);
        var composite = Ops.GroupNormComposite(x, groups, gamma, beta);
        AssertClose(composite.ToArray<double>(), fused.ToArray<double>(), 1e-12, "y");
        var gf = Autograd.Grad([fused], leaves, [v]);
        var gc = Autograd.Grad([composite], leaves, [v]);
        for (int i = 0; i < leaves.Length; i++) AssertClose(gc[i].ToArray<double>(), gf[i].ToArray<double>(), 1e-10, $"gradient {i}");
    }

    [Fact]
    public void SecondOrderWithoutAffineAndOnRank3MatchesFiniteDifferences()
    {
        GradGradCheck("group_norm_no_affine", xs => Ops.GroupNorm(xs[0], 2, null, null), [Randn(10, [2, 4, 5])]);
        GradGradCheck("group_norm_gamma_only", xs => Ops.GroupNorm(xs[0], 1, xs[1], null), [Randn(11, [3, 2, 2, 2]), Uniform(12, [2], 0.5, 1.5)]);
    }

    [Fact]
    public void ThirdOrderThroughTheFusedBackwardMatchesFiniteDifferences()
    {
        // F(x) = ⟨u, ∂/∂x ⟨w, ∂⟨v, GN(x)⟩/∂x⟩⟩ needs the fused backward's own rule under createGraph.
        var v = Randn(20, [2, 3, 2, 2]);
        var w = Randn(21, [2, 3, 2, 2]);
        GradGradCheck("group_norm third order", xs =>
        {
            var x = xs[0];
            if (!x.RequiresGrad)
            {
                // The checker's first call (for the output shape) passes plain constants.
                x = Ops.Detach(x);
                x.RequiresGrad = true;
            }
            var g = Autograd.Grad([Ops.GroupNorm(x, 3, xs[1], null)], [x], [v], createGraph: true)[0];
            return Ops.Sum(Ops.Mul(g, w));
        }, [Randn(22, [2, 3, 2, 2]), Uniform(23, [3], 0.5, 1.5)]);
    }

    static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-300, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * scale, $"{what}[{i}]: primitive {actual[i]:R}, composite {expected[i]:R}");
    }
}
