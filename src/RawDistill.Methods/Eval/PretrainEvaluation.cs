namespace RawDistill.Methods.Eval;

using System.Globalization;
using System.Text;
using System.Text.Json;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Nn.Models;

/// <summary>
/// A pre-training set of the comparison: for a seed, (X pixels m×C×H×W, Y m×d), or null for
/// "no pre-training" (the randomly initialized encoder).
/// </summary>
/// <param name="Name">Row name in the report (distilled, random subset, k-means, no pre-training).</param>
/// <param name="Make">The set for a seed (a random subset differs per seed; a distilled set does not).</param>
public sealed record EvalSetSource(string Name, Func<ulong, (float[] X, float[] Y)?> Make);

/// <summary>One cell of the results: accuracy of a linear probe on an encoder pre-trained on a set.</summary>
/// <param name="Set">Set name.</param>
/// <param name="Arch">Encoder architecture.</param>
/// <param name="Fraction">Fraction of the training labels the probe was fitted on.</param>
/// <param name="Seed">Seed (pre-training initialization and order, label subset).</param>
/// <param name="Accuracy">Test accuracy in [0, 1].</param>
public sealed record EvalResult(string Set, string Arch, double Fraction, ulong Seed, double Accuracy);

/// <summary>
/// The evaluation protocol (design page evaluation.md), linear-probe part: for each set and
/// seed, pre-train a fresh encoder (<see cref="Pretrainer"/>), extract frozen features of the
/// labelled training split and the test split, fit <see cref="LinearProbe"/> on class-agnostic
/// random label fractions and score on the whole test split. Means ± std over seeds go to
/// <c>report.md</c>; every cell to <c>results.csv</c> and <c>results.json</c>.
/// </summary>
public static class PretrainEvaluation
{
    /// <summary>Runs every (set, seed, fraction) cell.</summary>
    public static List<EvalResult> Run(IReadOnlyList<EvalSetSource> sets, ConvNetConfig net, NormalizationStats normalization,
        ImageDataset train, ImageDataset test, IReadOnlyList<double> fractions, IReadOnlyList<ulong> seeds, PretrainOptions options,
        LinearProbeOptions? probe = null, IBackend? backend = null, Action<string>? log = null)
    {
        if (!train.HasLabels || !test.HasLabels) throw new ArgumentException("evaluation needs labelled train and test splits");
        int classes = Math.Max(train.ClassCount, test.ClassCount);
        string arch = "convnet-" + string.Join('-', net.Widths);
        var results = new List<EvalResult>();
        var testLabels = test.Labels.ToArray();
        var trainLabels = train.Labels.ToArray();
        foreach (var seed in seeds)
        {
            foreach (var set in sets)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var data = set.Make(seed);
                ConvNet encoder = data is { } xy
                    ? Pretrainer.Run(net, xy.X, xy.Y, normalization, options, seed, backend)
                    : new ConvNet(net with { Outputs = 0 }, new Random.Generator(seed).Fork(1));
                float[] ftrain, ftest;
                using (encoder)
                {
                    if (data == null && backend != null) encoder.To(backend);
                    ftrain = FeatureExtractor.Extract(encoder, train, normalization);
                    ftest = FeatureExtractor.Extract(encoder, test, normalization);
                }
                int d = ftrain.Length / train.Count;
                var cells = new List<string>();
                foreach (var f in fractions)
                {
                    var idx = f >= 1 ? Enumerable.Range(0, train.Count).ToArray() : Subsample.Fraction(train.Count, f, seed);
                    var xs = new float[idx.Length * d];
                    var ys = new int[idx.Length];
                    for (int i = 0; i < idx.Length; i++)
                    {
                        ftrain.AsSpan(idx[i] * d, d).CopyTo(xs.AsSpan(i * d, d));
                        ys[i] = trainLabels[idx[i]];
                    }
                    var (acc, _) = LinearProbe.FitAndScore(xs, ys, ftest, testLabels, classes, probe, backend);
                    results.Add(new EvalResult(set.Name, arch, f, seed, acc));
                    cells.Add($"{Pct(f)} labels {acc * 100:F2}%");
                }
                log?.Invoke($"eval seed {seed} {set.Name}: {string.Join(", ", cells)} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        }
        return results;
    }

    static string Pct(double f) => (f * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    /// <summary>Mean and sample standard deviation (0 for one value).</summary>
    public static (double Mean, double Std) MeanStd(IReadOnlyList<double> v)
    {
        double mean = v.Average();
        double var = v.Count > 1 ? v.Sum(a => (a - mean) * (a - mean)) / (v.Count - 1) : 0;
        return (mean, Math.Sqrt(var));
    }

    /// <summary>The Markdown table: one row per set, one column per label fraction, accuracy % mean ± std over seeds.</summary>
    public static string Table(IReadOnlyList<EvalResult> results)
    {
        var fractions = results.Select(r => r.Fraction).Distinct().OrderBy(f => f).ToList();
        var sets = results.Select(r => r.Set).Distinct().ToList();
        int seeds = results.Select(r => r.Seed).Distinct().Count();
        var sb = new StringBuilder();
        sb.Append("| pre-training set | ").AppendJoin(" | ", fractions.Select(f => Pct(f) + " labels")).Append(" |\n");
        sb.Append("|---|").AppendJoin("", fractions.Select(_ => "---:|")).Append('\n');
        foreach (var s in sets)
        {
            sb.Append("| ").Append(s).Append(" | ");
            sb.AppendJoin(" | ", fractions.Select(f =>
            {
                var (mean, std) = MeanStd(results.Where(r => r.Set == s && r.Fraction == f).Select(r => r.Accuracy * 100).ToList());
                return string.Create(CultureInfo.InvariantCulture, $"{mean:F2} ± {std:F2}");
            }));
            sb.Append(" |\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"\nLinear-probe test accuracy (%), mean ± std over {seeds} seed(s).\n");
        return sb.ToString();
    }

    /// <summary>Writes <c>report.md</c> (a heading, <paramref name="preamble"/>, the table), <c>results.csv</c> and <c>results.json</c>; returns the report path.</summary>
    public static string WriteReport(string dir, IReadOnlyList<EvalResult> results, string title, string preamble = "")
    {
        Directory.CreateDirectory(dir);
        var md = new StringBuilder();
        md.Append("# ").Append(title).Append("\n\n");
        if (preamble.Length > 0) md.Append(preamble.TrimEnd()).Append("\n\n");
        md.Append(Table(results));
        string report = Path.Combine(dir, "report.md");
        Write(report, md.ToString());
        var csv = new StringBuilder("set,arch,fraction,seed,accuracy\n");
        foreach (var r in results) csv.Append(CultureInfo.InvariantCulture, $"{r.Set},{r.Arch},{r.Fraction:R},{r.Seed},{r.Accuracy:R}\n");
        Write(Path.Combine(dir, "results.csv"), csv.ToString());
        var summary = results.GroupBy(r => (r.Set, r.Arch, r.Fraction)).Select(g =>
        {
            var (mean, std) = MeanStd(g.Select(r => r.Accuracy).ToList());
            return new { set = g.Key.Set, arch = g.Key.Arch, fraction = g.Key.Fraction, seeds = g.Count(), mean, std };
        }).ToList();
        var json = JsonSerializer.Serialize(new
        {
            cells = results.Select(r => new { set = r.Set, arch = r.Arch, fraction = r.Fraction, seed = r.Seed, accuracy = r.Accuracy }),
            summary,
        }, new JsonSerializerOptions { WriteIndented = true });
        Write(Path.Combine(dir, "results.json"), json);
        return report;
    }

    static void Write(string path, string text)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
