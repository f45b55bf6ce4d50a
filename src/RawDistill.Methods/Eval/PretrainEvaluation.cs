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
/// <param name="Options">Pre-training options of this set when they differ from the run's (the full-data
/// baseline trains fewer epochs over many more images).</param>
public sealed record EvalSetSource(string Name, Func<ulong, (float[] X, float[] Y)?> Make, PretrainOptions? Options = null);

/// <summary>One cell of the results: downstream accuracy of an encoder pre-trained on a set.</summary>
/// <param name="Set">Set name.</param>
/// <param name="Arch">Encoder architecture.</param>
/// <param name="Fraction">Fraction of the training labels used downstream.</param>
/// <param name="Seed">Seed (pre-training initialization and order, label subset).</param>
/// <param name="Accuracy">Test accuracy in [0, 1].</param>
/// <param name="Protocol">Downstream protocol: <see cref="PretrainEvaluation.LinearProbeProtocol"/> or <see cref="PretrainEvaluation.FineTuneProtocol"/>.</param>
public sealed record EvalResult(string Set, string Arch, double Fraction, ulong Seed, double Accuracy, string Protocol = PretrainEvaluation.LinearProbeProtocol);

/// <summary>
/// The evaluation protocol (design page evaluation.md): for each set and seed, pre-train a
/// fresh encoder (<see cref="Pretrainer"/>), then (1) extract frozen features of the labelled
/// training split and the test split, fit <see cref="LinearProbe"/> on class-agnostic random
/// label fractions and score on the whole test split; (2) optionally fine-tune the whole
/// network with a new head on label fractions (<see cref="FineTuner"/>). Means ± std over
/// seeds go to <c>report.md</c>; every cell to <c>results.csv</c> and <c>results.json</c>.
/// </summary>
public static class PretrainEvaluation
{
    /// <summary>Protocol name of linear-probe cells.</summary>
    public const string LinearProbeProtocol = "linear probe";

    /// <summary>Protocol name of the MKDT reference probe's cells (<see cref="LinearProbeOptions.Mkdt"/>).</summary>
    public const string MkdtProbeProtocol = "linear probe (mkdt)";

    /// <summary>Protocol name of fine-tuning cells.</summary>
    public const string FineTuneProtocol = "fine-tune";

    /// <summary>
    /// Runs every (set, seed, fraction) cell: linear probe at <paramref name="fractions"/>, and
    /// fine-tuning at <paramref name="fineTuneFractions"/> when <paramref name="fineTune"/> is given.
    /// </summary>
    public static List<EvalResult> Run(IReadOnlyList<EvalSetSource> sets, IReadOnlyList<EvalArchitecture> archs, NormalizationStats normalization,
        ImageDataset train, ImageDataset test, IReadOnlyList<double> fractions, IReadOnlyList<ulong> seeds, PretrainOptions options,
        LinearProbeOptions? probe = null, IBackend? backend = null, Action<string>? log = null,
        FineTuneOptions? fineTune = null, IReadOnlyList<double>? fineTuneFractions = null, IReadOnlyList<(string Protocol, LinearProbeOptions Options)>? probes = null)
    {
        probes ??= [(LinearProbeProtocol, probe ?? new LinearProbeOptions())];
        if (!train.HasLabels || !test.HasLabels) throw new ArgumentException("evaluation needs labelled train and test splits");
        if (archs.Count == 0) throw new ArgumentException("evaluation needs at least one architecture");
        int classes = Math.Max(train.ClassCount, test.ClassCount);
        var results = new List<EvalResult>();
        var testLabels = test.Labels.ToArray();
        var trainLabels = train.Labels.ToArray();
        foreach (var arch in archs)
        foreach (var seed in seeds)
        {
            foreach (var set in sets)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var data = set.Make(seed);
                var encoder = data is { } xy
                    ? Pretrainer.Run(arch, xy.X, xy.Y, normalization, set.Options ?? options, seed, backend)
                    : arch.Build(0, new Random.Generator(seed).Fork(1));
                float[] ftrain, ftest;
                var cells = new List<string>();
                using (encoder)
                {
                    if (data == null && backend != null) encoder.To(backend);
                    ftrain = FeatureExtractor.Extract(encoder, train, normalization);
                    ftest = FeatureExtractor.Extract(encoder, test, normalization);
                    if (fineTune != null)
                        foreach (var f in fineTuneFractions ?? fractions)
                        {
                            double acc = FineTuner.Run(encoder, arch, train, LabelledSubset(train.Count, f, seed), test, normalization, classes, fineTune, seed);
                            results.Add(new EvalResult(set.Name, arch.Name, f, seed, acc, FineTuneProtocol));
                            cells.Add($"fine-tune {Pct(f)} {acc * 100:F2}%");
                        }
                }
                int d = ftrain.Length / train.Count;
                foreach (var (probeName, probeOptions) in probes)
                {
                    foreach (var f in fractions)
                    {
                        var idx = LabelledSubset(train.Count, f, seed);
                        var xs = new float[idx.Length * d];
                        var ys = new int[idx.Length];
                        for (int i = 0; i < idx.Length; i++)
                        {
                            ftrain.AsSpan(idx[i] * d, d).CopyTo(xs.AsSpan(i * d, d));
                            ys[i] = trainLabels[idx[i]];
                        }
                        var (acc, _) = LinearProbe.FitAndScore(xs, ys, ftest, testLabels, classes, probeOptions, backend);
                        results.Add(new EvalResult(set.Name, arch.Name, f, seed, acc, probeName));
                        cells.Add($"{(probeName == LinearProbeProtocol ? "probe" : probeName)} {Pct(f)} {acc * 100:F2}%");
                    }
                }
                log?.Invoke($"eval {arch.Name} seed {seed} {set.Name}: {string.Join(", ", cells)} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        }
        return results;
    }

    /// <summary>The labelled training images of a fraction: all of them at 1, else a class-agnostic random subset for the seed.</summary>
    static int[] LabelledSubset(int n, double fraction, ulong seed) =>
        fraction >= 1 ? Enumerable.Range(0, n).ToArray() : Subsample.Fraction(n, fraction, seed);

    static string Pct(double f) => (f * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    /// <summary>Mean and sample standard deviation (0 for one value).</summary>
    public static (double Mean, double Std) MeanStd(IReadOnlyList<double> v)
    {
        double mean = v.Average();
        double var = v.Count > 1 ? v.Sum(a => (a - mean) * (a - mean)) / (v.Count - 1) : 0;
        return (mean, Math.Sqrt(var));
    }

    /// <summary>
    /// The Markdown table: one row per set, one column per (protocol, label fraction) — linear
    /// probe first, then fine-tuning — accuracy % mean ± std over seeds.
    /// </summary>
    public static string Table(IReadOnlyList<EvalResult> results)
    {
        var columns = results.Select(r => (r.Protocol, r.Fraction)).Distinct()
            .OrderBy(c => c.Protocol == LinearProbeProtocol ? 0 : c.Protocol == MkdtProbeProtocol ? 1 : 2).ThenBy(c => c.Fraction).ToList();
        bool onlyProbe = columns.All(c => c.Protocol == LinearProbeProtocol);
        var rows = results.Select(r => (r.Arch, r.Set)).Distinct().ToList();
        bool severalArchs = rows.Select(r => r.Arch).Distinct().Count() > 1;
        int seeds = results.Select(r => r.Seed).Distinct().Count();
        var sb = new StringBuilder();
        sb.Append(severalArchs ? "| architecture | pre-training set | " : "| pre-training set | ")
            .AppendJoin(" | ", columns.Select(c => (onlyProbe ? "" : c.Protocol + ", ") + Pct(c.Fraction) + " labels")).Append(" |\n");
        sb.Append(severalArchs ? "|---|---|" : "|---|").AppendJoin("", columns.Select(_ => "---:|")).Append('\n');
        foreach (var (a, s) in rows)
        {
            sb.Append("| ");
            if (severalArchs) sb.Append(a).Append(" | ");
            sb.Append(s).Append(" | ");
            sb.AppendJoin(" | ", columns.Select(c =>
            {
                var v = results.Where(r => r.Arch == a && r.Set == s && r.Protocol == c.Protocol && r.Fraction == c.Fraction).Select(r => r.Accuracy * 100).ToList();
                if (v.Count == 0) return "–";
                var (mean, std) = MeanStd(v);
                return string.Create(CultureInfo.InvariantCulture, $"{mean:F2} ± {std:F2}");
            }));
            sb.Append(" |\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"\n{(onlyProbe ? "Linear-probe test" : "Test")} accuracy (%), mean ± std over {seeds} seed(s).\n");
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
        var csv = new StringBuilder("set,arch,protocol,fraction,seed,accuracy\n");
        foreach (var r in results) csv.Append(CultureInfo.InvariantCulture, $"{r.Set},{r.Arch},{r.Protocol},{r.Fraction:R},{r.Seed},{r.Accuracy:R}\n");
        Write(Path.Combine(dir, "results.csv"), csv.ToString());
        var summary = results.GroupBy(r => (r.Set, r.Arch, r.Protocol, r.Fraction)).Select(g =>
        {
            var (mean, std) = MeanStd(g.Select(r => r.Accuracy).ToList());
            return new { set = g.Key.Set, arch = g.Key.Arch, protocol = g.Key.Protocol, fraction = g.Key.Fraction, seeds = g.Count(), mean, std };
        }).ToList();
        var json = JsonSerializer.Serialize(new
        {
            cells = results.Select(r => new { set = r.Set, arch = r.Arch, protocol = r.Protocol, fraction = r.Fraction, seed = r.Seed, accuracy = r.Accuracy }),
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
