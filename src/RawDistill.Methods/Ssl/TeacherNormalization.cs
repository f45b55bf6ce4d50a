namespace RawDistill.Methods.Ssl;

using System.Globalization;
using RawDistill.Data;

/// <summary>
/// The input normalization of a teacher trained elsewhere: a named preset, or explicit
/// numbers. A teacher sees (x − mean) / std with x in [0, 1]; features of a teacher fed other
/// statistics than it was trained with are quietly worse, so an import names them explicitly.
/// </summary>
public static class TeacherNormalization
{
    /// <summary>The preset names <see cref="Parse"/> accepts.</summary>
    public const string Presets = "cifar10 | cifar100 | svhn | tinyimagenet | imagenet";

    // cifar10/cifar100/svhn/tinyimagenet: the statistics of KRR-ST's code (db-Lee/selfsup_dd,
    // data/augmentation.py, 32 px; tinyimagenet at 64 px), which its released Barlow Twins teachers
    // were trained and evaluated with. imagenet: torchvision's transforms.Normalize constants, used
    // by solo-learn's and facebookresearch/barlowtwins' ImageNet models.
    static readonly Dictionary<string, NormalizationStats> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cifar10"] = new([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
        ["cifar100"] = new([0.5071, 0.4866, 0.4409], [0.2673, 0.2564, 0.2762]),
        ["svhn"] = new([0.4377, 0.4438, 0.4728], [0.1980, 0.2010, 0.1970]),
        ["tinyimagenet"] = new([0.4802, 0.4481, 0.3975], [0.2770, 0.2691, 0.2821]),
        ["imagenet"] = new([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    };

    /// <summary>True when <paramref name="spec"/> names a preset.</summary>
    public static bool IsPreset(string spec) => Known.ContainsKey(spec.Trim());

    /// <summary>
    /// A preset name (<see cref="Presets"/>), or explicit statistics <c>MEAN,MEAN,MEAN/STD,STD,STD</c>
    /// (one number per channel, in [0, 1] pixel units; e.g. <c>0.5,0.5,0.5/0.25,0.25,0.25</c>).
    /// </summary>
    /// <exception cref="ArgumentException">Neither a preset nor well-formed statistics.</exception>
    public static NormalizationStats Parse(string spec)
    {
        spec = spec.Trim();
        if (Known.TryGetValue(spec, out var preset)) return preset;
        var parts = spec.Split('/');
        if (parts.Length == 2 && TryNumbers(parts[0], out var mean) && TryNumbers(parts[1], out var std)
            && mean.Length == std.Length && std.All(s => s > 0))
            return new NormalizationStats(mean, std);
        throw new ArgumentException($"expected a preset ({Presets}) or per-channel statistics MEAN,MEAN,MEAN/STD,STD,STD (positive stds), got '{spec}'");
    }

    static bool TryNumbers(string s, out double[] values)
    {
        var items = s.Split(',', StringSplitOptions.TrimEntries);
        values = new double[items.Length];
        for (int i = 0; i < items.Length; i++)
            if (!double.TryParse(items[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i])) return false;
        return items.Length > 0;
    }
}
