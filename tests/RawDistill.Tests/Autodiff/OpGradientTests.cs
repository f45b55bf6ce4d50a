namespace RawDistill.Tests.Autodiff;

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
}
