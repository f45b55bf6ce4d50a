namespace RawDistill.Methods.Eval;

using System.Globalization;

/// <summary>What a paired interval says of set A against set B.</summary>
public enum Verdict
{
    /// <summary>The whole interval of A − B lies above 0.</summary>
    Beats,

    /// <summary>The interval contains 0 (or there are too few pairs for one).</summary>
    Ties,

    /// <summary>The whole interval of A − B lies below 0.</summary>
    Loses,
}

/// <summary>
/// A − B over seeds that pair the two cells (same label subset, same encoder initialization),
/// with a two-sided Student-t confidence interval of the mean difference (design page
/// evaluation.md, "Room and noise"). The verdict comes from the interval, not from
/// overlapping means: with seed spreads of 0.5–0.8 points, two means a point apart can still
/// be a tie, and two means 0.3 apart a clear win when every seed moves the same way.
/// </summary>
/// <param name="Differences">A − B per seed, in seed order.</param>
/// <param name="Mean">Mean difference.</param>
/// <param name="Lower">Lower end of the interval (−∞ with fewer than 2 pairs).</param>
/// <param name="Upper">Upper end of the interval (+∞ with fewer than 2 pairs).</param>
/// <param name="Confidence">Confidence level of the interval (0.95).</param>
public sealed record PairedInterval(IReadOnlyList<double> Differences, double Mean, double Lower, double Upper, double Confidence)
{
    /// <summary>Beats when the interval lies above 0, loses when below, else ties.</summary>
    public Verdict Verdict => Lower > 0 ? Verdict.Beats : Upper < 0 ? Verdict.Loses : Verdict.Ties;

    /// <summary>"beats", "ties", "loses".</summary>
    public string VerdictWord => Verdict switch { Verdict.Beats => "beats", Verdict.Loses => "loses to", _ => "ties" };

    /// <summary>Pairs the two lists by position (the caller orders both by seed) and builds the interval.</summary>
    public static PairedInterval Of(IReadOnlyList<double> a, IReadOnlyList<double> b, double confidence = 0.95)
    {
        if (a.Count != b.Count) throw new ArgumentException($"paired interval: {a.Count} values against {b.Count}; the cells must pair seed by seed");
        if (a.Count == 0) throw new ArgumentException("paired interval: no pairs");
        if (confidence != 0.95) throw new ArgumentOutOfRangeException(nameof(confidence), "only the 95% interval is tabulated");
        var diff = a.Zip(b, (x, y) => x - y).ToArray();
        double mean = diff.Average();
        int n = diff.Length;
        if (n < 2) return new PairedInterval(diff, mean, double.NegativeInfinity, double.PositiveInfinity, confidence);
        double sd = Math.Sqrt(diff.Sum(d => (d - mean) * (d - mean)) / (n - 1));
        double half = StudentT975(n - 1) * sd / Math.Sqrt(n);
        return new PairedInterval(diff, mean, mean - half, mean + half, confidence);
    }

    /// <summary>"+0.83 [+0.21, +1.45]" in the unit of the values times <paramref name="scale"/>.</summary>
    public string Format(double scale = 1, string digits = "F2")
    {
        string S(double v) => double.IsInfinity(v) ? (v > 0 ? "+∞" : "−∞") : (v >= 0 ? "+" : "−") + Math.Abs(v * scale).ToString(digits, CultureInfo.InvariantCulture);
        return $"{S(Mean)} [{S(Lower)}, {S(Upper)}]";
    }

    // t_{0.975, ν} for ν = 1..30 (two-sided 95%), from the standard tables.
    static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    /// <summary>
    /// The 97.5% quantile of Student's t with <paramref name="nu"/> degrees of freedom: the
    /// table up to 30, beyond it the Cornish–Fisher expansion around z = 1.959964 (error
    /// below 1e-4 there).
    /// </summary>
    public static double StudentT975(int nu)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nu, 1);
        if (nu <= T975.Length) return T975[nu - 1];
        const double z = 1.959963985;
        double z3 = z * z * z, z5 = z3 * z * z;
        return z + (z3 + z) / (4.0 * nu) + (5 * z5 + 16 * z3 + 3 * z) / (96.0 * nu * nu);
    }
}
