namespace RawDistill.Tests.Autodiff;

using RawDistill.Autodiff;
using RawDistill.Tensors;
using Xunit.Sdk;

/// <summary>
/// The gradient checker must not pass vacuously: deliberately wrong backward rules
/// (built with the internal <c>Ops.Record</c>) are caught, at first and second order.
/// </summary>
[Trait("Category", "GradCheck")]
public class GradCheckSelfTests
{
    /// <summary>y = x², forward computed without recording, with a caller-chosen rule attached.</summary>
    static Tensor SquareWithRule(Tensor x, string name, Func<Tensor, Tensor> rule)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = Ops.Mul(x, x);
        return Ops.Record(y, name, [x], g => [rule(g)]);
    }

    /// <summary>y = x³, forward without recording, with a caller-chosen rule.</summary>
    static Tensor CubeWithRule(Tensor x, string name, Func<Tensor, Tensor> rule)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = Ops.Mul(Ops.Mul(x, x), x);
        return Ops.Record(y, name, [x], g => [rule(g)]);
    }

    static Tensor X() => GradCheck.Randn(7, [3, 4]);

    [Fact]
    public void CorrectCustomRulePasses()
    {
        GradCheck.Check("square_ok", xs => SquareWithRule(xs[0], "square_ok", g => Ops.Mul(g, Ops.Mul(xs[0], 2.0))), [X()]);
        GradCheck.GradGradCheck("square_ok", xs => SquareWithRule(xs[0], "square_ok", g => Ops.Mul(g, Ops.Mul(xs[0], 2.0))), [X()]);
    }

    [Fact]
    public void WrongFactorIsCaughtAndReported()
    {
        // d(x²)/dx = 2x, the rule says x.
        var e = Assert.Throws<XunitException>(() =>
            GradCheck.Check("bad_square", xs => SquareWithRule(xs[0], "bad_square", g => Ops.Mul(g, xs[0])), [X()]));
        Assert.Contains("bad_square", e.Message);
        Assert.Contains("input 0", e.Message);
        Assert.Contains("element", e.Message);
        Assert.Contains("analytic", e.Message);
        Assert.Contains("numeric", e.Message);
    }

    [Fact]
    public void SmallRelativeErrorIsCaught()
    {
        // 0.1 % too large: well above rtol 1e-5.
        Assert.Throws<XunitException>(() =>
            GradCheck.Check("square_0.1%", xs => SquareWithRule(xs[0], "square_0.1%", g => Ops.Mul(g, Ops.Mul(xs[0], 2.002))), [X()]));
    }

    [Fact]
    public void WrongElementOrderIsCaught()
    {
        // Right values, wrong places: the rule transposes the gradient of a square matrix.
        var x = GradCheck.Randn(8, [3, 3]);
        Assert.Throws<XunitException>(() =>
            GradCheck.Check("transposed_rule", xs => SquareWithRule(xs[0], "transposed_rule", g => Ops.Transpose(Ops.Mul(g, Ops.Mul(xs[0], 2.0)))), [x]));
    }

    [Fact]
    public void MissingGraphIsCaught()
    {
        // A forward that silently records nothing (a detached result) has analytic gradient 0.
        var e = Assert.Throws<XunitException>(() => GradCheck.Check("detached", xs => Ops.Detach(Ops.Mul(xs[0], xs[0])), [X()]));
        Assert.Contains("recorded no backward graph", e.Message);
    }

    [Fact]
    public void WrongRuleForOneOfTwoInputsIsCaught()
    {
        // y = a·b with the gradient for b wrongly equal to g (a forgotten factor a).
        static Tensor BadMul(Tensor a, Tensor b)
        {
            Tensor y;
            using (GradMode.NoGrad()) y = Ops.Mul(a, b);
            return Ops.Record(y, "bad_mul", [a, b], (g, need) => [need[0] ? Ops.Mul(g, b) : null, need[1] ? g : null]);
        }
        var e = Assert.Throws<XunitException>(() => GradCheck.Check("bad_mul", xs => BadMul(xs[0], xs[1]), [X(), GradCheck.Randn(9, [3, 4])]));
        Assert.Contains("input 1", e.Message);
        Assert.DoesNotContain("input 0", e.Message);
    }

    [Fact]
    public void VacuousCheckIsRejected()
    {
        // f does not depend on x: analytic and numeric are both 0, which proves nothing.
        var e = Assert.Throws<XunitException>(() => GradCheck.Check("zero", xs => Ops.Mul(xs[0], 0.0), [X()]));
        Assert.Contains("vacuous", e.Message);
        GradCheck.Check("zero", xs => Ops.Mul(xs[0], 0.0), [X()], allowZero: true);
    }

    [Fact]
    public void SecondOrderCatchesANonDifferentiableRule()
    {
        // d(x³)/dx = 3x², computed right but without recording (as a raw kernel would be):
        // first order passes, the Hessian-vector product comes out 0 and must fail.
        static Tensor Rule(Tensor g, Tensor x)
        {
            using (GradMode.NoGrad()) return Ops.Mul(g, Ops.Mul(Ops.Mul(x, x), 3.0));
        }
        GradCheck.Check("cube_unrecorded", xs => CubeWithRule(xs[0], "cube_unrecorded", g => Rule(g, xs[0])), [X()]);
        Assert.Throws<XunitException>(() =>
            GradCheck.GradGradCheck("cube_unrecorded", xs => CubeWithRule(xs[0], "cube_unrecorded", g => Rule(g, xs[0])), [X()]));
    }

    [Fact]
    public void SecondOrderCatchesARuleWithTheWrongDerivative()
    {
        // 3·detach(x)·x has the right value 3x² but derivative 3x instead of 6x.
        GradCheck.Check("cube_half_detached", xs => CubeWithRule(xs[0], "cube_half_detached",
            g => Ops.Mul(g, Ops.Mul(Ops.Mul(Ops.Detach(xs[0]), xs[0]), 3.0))), [X()]);
        Assert.Throws<XunitException>(() => GradCheck.GradGradCheck("cube_half_detached", xs => CubeWithRule(xs[0], "cube_half_detached",
            g => Ops.Mul(g, Ops.Mul(Ops.Mul(Ops.Detach(xs[0]), xs[0]), 3.0))), [X()]));
        GradCheck.GradGradCheck("cube_ok", xs => CubeWithRule(xs[0], "cube_ok", g => Ops.Mul(g, Ops.Mul(Ops.Mul(xs[0], xs[0]), 3.0))), [X()]);
    }
}
