namespace RawDistill.Tests.Autodiff;

using RawDistill.Autodiff;
using RawDistill.Tensors;

/// <summary>
/// First-order finite-difference checks (f64) of every differentiable op and its
/// variants, all through the one helper <see cref="GradCheck.Check"/>. The cases live in
/// <see cref="OpCases"/> so the second-order suite can reuse them.
/// </summary>
[Trait("Category", "GradCheck")]
public class OpGradientTests
{
    public static TheoryData<string> Cases => OpCases.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public void FirstOrderMatchesFiniteDifferences(string op)
    {
        var c = OpCases.All[op];
        GradCheck.Check(op, c.F, c.Inputs(), c.Wrt);
    }

    /// <summary>
    /// The same cases in f32 (the training dtype): forward values and analytic
    /// vector-Jacobian products agree with f64 to f32 accuracy. Catches rules that build
    /// constants in the wrong dtype or f32-only kernel paths that the f64 checks never run.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void F32AgreesWithF64(string op)
    {
        var c = OpCases.All[op];
        using var scope = TensorScope.Begin();
        var inputs = c.Inputs();
        var (y64, g64) = Vjp(c, inputs, DType.F64);
        var (y32, g32) = Vjp(c, inputs, DType.F32);
        Near(op + " forward", y64, y32);
        for (int i = 0; i < g64.Length; i++)
            if (g64[i] != null) Near($"{op} gradient of input {i}", g64[i]!, g32[i]!);
    }

    static (double[] y, double[]?[] grads) Vjp(OpCase c, Tensor[] inputs, DType dtype)
    {
        var xs = inputs.Select(t => Ops.Cast(Ops.Detach(t), dtype)).ToArray();
        var wrt = c.Wrt ?? Enumerable.Repeat(true, xs.Length).ToArray();
        for (int i = 0; i < xs.Length; i++)
            if (wrt[i]) xs[i].RequiresGrad = true;
        var y = c.F(xs);
        Assert.Equal(dtype, y.DType);
        var v = Ops.Cast(GradCheck.Randn(99, y.Shape), dtype);
        var diff = Enumerable.Range(0, xs.Length).Where(i => wrt[i]).ToArray();
        var g = Autograd.Grad([y], diff.Select(i => xs[i]).ToArray(), [v]);
        var grads = new double[]?[xs.Length];
        for (int k = 0; k < diff.Length; k++)
        {
            Assert.Equal(dtype, g[k].DType);
            grads[diff[k]] = g[k].ToDoubles();
        }
        return (y.ToDoubles(), grads);
    }

    /// <summary>Agreement relative to the largest magnitude (f32 has ~7 digits; the linear-algebra cases lose a few to conditioning).</summary>
    static void Near(string what, double[] expected, double[] actual)
    {
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= 1e-4 * scale))
                Assert.Fail($"{what}: element {i} is {actual[i]:G8} in f32, {expected[i]:G10} in f64");
    }
}
