namespace RawDistill.Methods.Common;

/// <summary>The distillation methods of the product (the <c>method</c> of a distilled set).</summary>
public enum DistillMethod
{
    /// <summary>Kernel ridge regression on self-supervised targets (krr-st.md).</summary>
    KrrSt,

    /// <summary>Matching knowledge-distillation trajectories (mkdt.md).</summary>
    Mkdt,
}

/// <summary>Names of <see cref="DistillMethod"/> as flags and files spell them.</summary>
public static class DistillMethods
{
    /// <summary>The accepted names, for help texts and errors.</summary>
    public const string Names = "krr-st | mkdt";

    /// <summary>krr-st or mkdt.</summary>
    public static string Name(this DistillMethod m) => m switch
    {
        DistillMethod.KrrSt => "krr-st",
        DistillMethod.Mkdt => "mkdt",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    /// <summary>KRR-ST or MKDT, for reports.</summary>
    public static string Title(this DistillMethod m) => m == DistillMethod.KrrSt ? "KRR-ST" : "MKDT";

    /// <summary>Parses a name (case-insensitive; krrst and krr_st are accepted too).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static DistillMethod Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "krr-st" or "krrst" or "krr_st" => DistillMethod.KrrSt,
        "mkdt" => DistillMethod.Mkdt,
        _ => throw new ArgumentException($"unknown method '{name}'; expected {Names}"),
    };
}
