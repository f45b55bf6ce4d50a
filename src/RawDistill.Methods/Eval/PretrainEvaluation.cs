namespace RawDistill.Methods.Eval;

using System.Globalization;
using System.Text;
using System.Text.Json;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Nn.Models;

/// <summary>What a row of the comparison is for: the report's headline, room and gap use it.</summary>
public enum EvalRole
{
    /// <summary>A distilled set: the rows the report judges.</summary>
    Candidate,

    /// <summary>The bar a candidate must clear (random-kd: a random real subset with teacher targets).</summary>
    Reference,

    /// <summary>Any other baseline (k-means, high-loss, random-ce, full data).</summary>
    Baseline,

    /// <summary>No pre-training: the randomly initialized encoder.</summary>
    Floor,

    /// <summary>The teacher's own encoder: the ceiling.</summary>
    Ceiling,
}

/// <summary>
/// A pre-training set of the comparison: for a seed, (X pixels m×C×H×W, Y m×d), or null for
/// "no pre-training" (the randomly initialized encoder).
/// </summary>
/// <param name="Name">Row name in the report (distilled, random subset, k-means, no pre-training).</param>
/// <param name="Make">The set for a seed (a random subset differs per seed; a distilled set does not).</param>
/// <param name="Options">Pre-training options of this set when they differ from the run's (the full-data
/// baseline trains fewer epochs over many more images).</param>
public sealed record EvalSetSource(string Name, Func<ulong, (float[] X, float[] Y)?> Make, PretrainOptions? Options = null)
{
    /// <summary>What the row is for (default: a baseline).</summary>
    public EvalRole Role { get; init; } = EvalRole.Baseline;

    /// <summary>
    /// Pre-training options per seed, when they differ by seed (several MKDT sets, each at its
    /// own learned η); overrides <see cref="EvalSetSource.Options"/>.
    /// </summary>
    public Func<ulong, PretrainOptions>? OptionsFor { get; init; }

    /// <summary>One or two lines for the report saying what the row is and why it is there.</summary>
    public string Description { get; init; } = "";

    /// <summary>
    /// When set, the row pre-trains by cross-entropy on class labels (random-ce) instead of
    /// MSE on targets: the images and labels for a seed; <see cref="Make"/> is not called.
    /// </summary>
    public Func<ulong, (float[] X, int[] Labels)>? Labelled { get; init; }

    /// <summary>The cross-entropy recipe of a <see cref="Labelled"/> row.</summary>
    public ClassificationPretrainOptions? LabelledOptions { get; init; }

    /// <summary>
    /// When set, the row is this fixed encoder (the teacher, the ceiling) with its own input
    /// normalization: nothing is pre-trained, only probed; the caller owns and disposes it.
    /// </summary>
    public (ImageModel Encoder, NormalizationStats Normalization)? Fixed { get; init; }
}

/// <summary>One cell of the results: downstream accuracy of an encoder pre-trained on a set.</summary>
/// <param name="Set">Set name.</param>
/// <param name="Arch">Encoder architecture.</param>
/// <param name="Fraction">Fraction of the training labels used downstream.</param>
/// <param name="Seed">Seed (pre-training initialization and order, label subset).</param>
/// <param name="Accuracy">Test accuracy in [0, 1] (for the fit protocols: R², or the MSE).</param>
/// <param name="Protocol">Downstream protocol: <see cref="PretrainEvaluation.LinearProbeProtocol"/>, <see cref="PretrainEvaluation.FineTuneProtocol"/>,
/// <see cref="PretrainEvaluation.FitR2Protocol"/> or <see cref="PretrainEvaluation.FitMseProtocol"/>.</param>
/// <param name="Role">What the row is for.</param>
public sealed record EvalResult(string Set, string Arch, double Fraction, ulong Seed, double Accuracy, string Protocol = PretrainEvaluation.LinearProbeProtocol,
    EvalRole Role = EvalRole.Baseline)
{
    /// <summary>Whether the value is an accuracy (shown in %) rather than a representation-fit figure.</summary>
    public bool IsAccuracy => PretrainEvaluation.IsAccuracyProtocol(Protocol);
}

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

    /// <summary>Protocol name of the representation-fit R² cells (<see cref="RepresentationFit"/>, test split).</summary>
    public const string FitR2Protocol = "teacher-fit R²";

    /// <summary>Protocol name of the representation-fit MSE cells.</summary>
    public const string FitMseProtocol = "teacher-fit MSE";

    /// <summary>Whether cells of the protocol are accuracies.</summary>
    public static bool IsAccuracyProtocol(string protocol) => protocol is LinearProbeProtocol or MkdtProbeProtocol || IsFineTune(protocol);

    /// <summary>Whether cells of the protocol are fine-tuning accuracies (at the reference's steps or labelled short: <see cref="FineTuneOptions.ProtocolName"/>).</summary>
    public static bool IsFineTune(string protocol) => protocol == FineTuneProtocol || protocol.StartsWith(FineTuneProtocol + " ", StringComparison.Ordinal);

    /// <summary>Column order of the protocols.</summary>
    static int ProtocolOrder(string protocol) => protocol switch { LinearProbeProtocol => 0, MkdtProbeProtocol => 1, FitR2Protocol => 3, FitMseProtocol => 4, _ => IsFineTune(protocol) ? 2 : 5 };

    /// <summary>
    /// Runs every (set, seed, fraction) cell: linear probe at <paramref name="fractions"/>, and
    /// fine-tuning at <paramref name="fineTuneFractions"/> when <paramref name="fineTune"/> is given;
    /// with <paramref name="testTargets"/> (the teacher's features of the test split), also the
    /// representation fit of every MSE-pre-trained network. Only the labelled training images of
    /// the seed's fractions and the test split are embedded, in f32. A fixed-encoder row (the
    /// ceiling) is probed once per seed, not per architecture, under the architecture "teacher".
    /// </summary>
    public static List<EvalResult> Run(IReadOnlyList<EvalSetSource> sets, IReadOnlyList<EvalArchitecture> archs, NormalizationStats normalization,
        ImageDataset train, ImageDataset test, IReadOnlyList<double> fractions, IReadOnlyList<ulong> seeds, PretrainOptions options,
        LinearProbeOptions? probe = null, IBackend? backend = null, Action<string>? log = null,
        FineTuneOptions? fineTune = null, IReadOnlyList<double>? fineTuneFractions = null, float[]? testTargets = null,
        IReadOnlyList<(string Protocol, LinearProbeOptions Options)>? probes = null)
    {
        probes ??= [(LinearProbeProtocol, probe ?? new LinearProbeOptions())];
        if (!train.HasLabels || !test.HasLabels) throw new ArgumentException("evaluation needs labelled train and test splits");
        if (archs.Count == 0) throw new ArgumentException("evaluation needs at least one architecture");
        int classes = Math.Max(train.ClassCount, test.ClassCount);
        var results = new List<EvalResult>();
        var testLabels = test.Labels.ToArray();
        var trainLabels = train.Labels.ToArray();
        // Feature buffers reused by every cell (they only grow): a fresh set per cell was
        // ~300 MB of large-object-heap garbage on the full Fashion-MNIST, which the GC let pile up.
        float[] ftrainBuf = [], ftestBuf = [], probeBuf = [];
        static float[] Grow(float[] buffer, int length) => buffer.Length < length ? new float[length] : buffer;
        // Progress: a kept line per cell on the one display, with an ETA over all cells (the teacher row runs once per seed).
        int totalCells = seeds.Count * (archs.Count * sets.Count(x => x.Fixed == null) + sets.Count(x => x.Fixed != null)), doneCells = 0;
        using var progress = Common.ProgressDisplay.Start("evaluation cell", totalCells, 0, log);
        for (int a = 0; a < archs.Count; a++)
        {
            var arch = archs[a];
            foreach (var seed in seeds)
            {
                // The labelled images of every fraction at this seed: only these are embedded.
                var subsets = fractions.Select(f => LabelledSubset(train.Count, f, seed)).ToList();
                var union = subsets.SelectMany(i => i).Distinct().Order().ToArray();
                var position = new int[train.Count];
                for (int i = 0; i < union.Length; i++) position[union[i]] = i;
                var labelled = union.Length == train.Count ? train : train.Subset(union);
                foreach (var set in sets)
                {
                    if (set.Fixed != null && a > 0) continue;
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var cells = new List<string>();
                    string archName = set.Fixed != null ? "teacher" : arch.Name;
                    void Add(EvalResult r, string cell)
                    {
                        results.Add(r);
                        cells.Add(cell);
                    }
                    // Features of the labelled and the test images, into the reused buffers.
                    int trainValues = 0, testValues = 0;
                    void Embed(ImageModel model, NormalizationStats norm)
                    {
                        trainValues = labelled.Count * model.FeatureDim;
                        testValues = test.Count * model.FeatureDim;
                        ftrainBuf = Grow(ftrainBuf, trainValues);
                        ftestBuf = Grow(ftestBuf, testValues);
                        FeatureExtractor.Extract(model, labelled, norm, ftrainBuf.AsSpan(0, trainValues));
                        FeatureExtractor.Extract(model, test, norm, ftestBuf.AsSpan(0, testValues));
                    }
                    if (set.Fixed is { } fixedEncoder)
                        Embed(fixedEncoder.Encoder, fixedEncoder.Normalization);
                    else
                    {
                        (float[] X, float[] Y)? data = null;
                        ImageModel encoder;
                        if (set.Labelled != null)
                        {
                            var (x, labels) = set.Labelled(seed);
                            // The source's classes can outnumber the downstream task's (transfer); the head is dropped after pre-training.
                            encoder = Pretrainer.RunClassification(arch, x, labels, Math.Max(classes, labels.Max() + 1), normalization,
                                set.LabelledOptions ?? new ClassificationPretrainOptions(options.Epochs), seed, backend);
                        }
                        else
                        {
                            data = set.Make(seed);
                            encoder = data is { } xy
                                ? Pretrainer.Run(arch, xy.X, xy.Y, normalization, set.OptionsFor?.Invoke(seed) ?? set.Options ?? options, seed, backend)
                                : arch.Build(0, new Random.Generator(seed).Fork(1));
                        }
                        using (encoder)
                        {
                            if (data == null && set.Labelled == null && backend != null) encoder.To(backend);
                            Embed(encoder, normalization);
                            if (testTargets != null && data is { } pre && pre.Y.Length > 0)
                            {
                                var fit = RepresentationFit.Measure(encoder, test, normalization, testTargets);
                                Add(new EvalResult(set.Name, archName, 1, seed, fit.R2, FitR2Protocol, set.Role), string.Create(CultureInfo.InvariantCulture, $"fit R² {fit.R2:F3}"));
                                results.Add(new EvalResult(set.Name, archName, 1, seed, fit.Mse, FitMseProtocol, set.Role));
                            }
                            if (fineTune != null)
                                foreach (var f in fineTuneFractions ?? fractions)
                                {
                                    var ftIdx = LabelledSubset(train.Count, f, seed);
                                    double acc = FineTuner.Run(encoder, arch, train, ftIdx, test, normalization, classes, fineTune, seed);
                                    Add(new EvalResult(set.Name, archName, f, seed, acc, fineTune.ProtocolName(ftIdx.Length), set.Role), $"fine-tune {Pct(f)} {acc * 100:F2}%");
                                }
                        }
                    }
                    var ftrain = ftrainBuf.AsSpan(0, trainValues);
                    var ftest = ftestBuf.AsSpan(0, testValues);
                    int d = trainValues / labelled.Count;
                    foreach (var (probeName, probeOptions) in probes)
                        for (int k = 0; k < fractions.Count; k++)
                        {
                            var idx = subsets[k];
                            probeBuf = Grow(probeBuf, idx.Length * d);
                            var xs = probeBuf.AsSpan(0, idx.Length * d);
                            var ys = new int[idx.Length];
                            for (int i = 0; i < idx.Length; i++)
                            {
                                ftrain.Slice(position[idx[i]] * d, d).CopyTo(xs.Slice(i * d, d));
                                ys[i] = trainLabels[idx[i]];
                            }
                            var (acc, _) = LinearProbe.FitAndScore(xs, ys, ftest, testLabels, classes, probeOptions, backend);
                            Add(new EvalResult(set.Name, archName, fractions[k], seed, acc, probeName, set.Role),
                                $"{(probeName == LinearProbeProtocol ? "probe" : probeName)} {Pct(fractions[k])} {acc * 100:F2}%");
                        }
                    doneCells++;
                    progress.Report(doneCells, detail: $"{archName} seed {seed} {set.Name}: {string.Join(", ", cells)} ({clock.Elapsed.TotalSeconds:F0} s)", keep: true);
                }
            }
        }
        return results;
    }

    /// <summary>The labelled training images of a fraction: all of them at 1, else a class-agnostic random subset for the seed.</summary>
    static int[] LabelledSubset(int n, double fraction, ulong seed) =>
        fraction >= 1 ? Enumerable.Range(0, n).ToArray() : Subsample.Fraction(n, fraction, seed);

    internal static string Pct(double f) => (f * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    /// <summary>Mean and sample standard deviation (0 for one value).</summary>
    public static (double Mean, double Std) MeanStd(IReadOnlyList<double> v)
    {
        double mean = v.Average();
        double var = v.Count > 1 ? v.Sum(a => (a - mean) * (a - mean)) / (v.Count - 1) : 0;
        return (mean, Math.Sqrt(var));
    }

    /// <summary>
    /// The Markdown table: one row per set, one column per (protocol, label fraction) — linear
    /// probe first, then fine-tuning, then the representation fit — accuracy % (R², MSE for the
    /// fit) mean ± std over seeds. The teacher's row (the ceiling) has its own architecture.
    /// </summary>
    public static string Table(IReadOnlyList<EvalResult> results)
    {
        var columns = results.Select(r => (r.Protocol, r.Fraction)).Distinct()
            .OrderBy(c => ProtocolOrder(c.Protocol)).ThenBy(c => c.Fraction).ToList();
        bool onlyProbe = columns.All(c => c.Protocol == LinearProbeProtocol);
        var rows = results.Select(r => (r.Arch, r.Set)).Distinct().ToList();
        bool severalArchs = rows.Select(r => r.Arch).Where(a => a != "teacher").Distinct().Count() > 1;
        int seeds = results.Select(r => r.Seed).Distinct().Count();
        static string Header((string Protocol, double Fraction) c, bool onlyProbe) =>
            IsAccuracyProtocol(c.Protocol) ? (onlyProbe ? "" : c.Protocol + ", ") + Pct(c.Fraction) + " labels" : c.Protocol + " (test)";
        var sb = new StringBuilder();
        sb.Append(severalArchs ? "| architecture | pre-training set | " : "| pre-training set | ")
            .AppendJoin(" | ", columns.Select(c => Header(c, onlyProbe))).Append(" |\n");
        sb.Append(severalArchs ? "|---|---|" : "|---|").AppendJoin("", columns.Select(_ => "---:|")).Append('\n');
        foreach (var (a, s) in rows)
        {
            sb.Append("| ");
            if (severalArchs) sb.Append(a).Append(" | ");
            sb.Append(s).Append(" | ");
            sb.AppendJoin(" | ", columns.Select(c =>
            {
                var v = results.Where(r => r.Arch == a && r.Set == s && r.Protocol == c.Protocol && r.Fraction == c.Fraction).Select(r => r.Accuracy).ToList();
                if (v.Count == 0) return "–";
                var (mean, std) = MeanStd(v);
                if (v.Count == 1)
                    return c.Protocol switch
                    {
                        FitR2Protocol => string.Create(CultureInfo.InvariantCulture, $"{mean:F3} (n = 1)"),
                        FitMseProtocol => string.Create(CultureInfo.InvariantCulture, $"{mean:G3} (n = 1)"),
                        _ => string.Create(CultureInfo.InvariantCulture, $"{mean * 100:F2} (n = 1)"),
                    };
                return c.Protocol switch
                {
                    FitR2Protocol => string.Create(CultureInfo.InvariantCulture, $"{mean:F3} ± {std:F3}"),
                    FitMseProtocol => string.Create(CultureInfo.InvariantCulture, $"{mean:G3} ± {std:G2}"),
                    _ => string.Create(CultureInfo.InvariantCulture, $"{mean * 100:F2} ± {std * 100:F2}"),
                };
            }));
            sb.Append(" |\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"\n{(onlyProbe ? "Linear-probe test" : "Test")} accuracy (%), mean ± std over {seeds} seed(s)");
        if (columns.Any(c => !IsAccuracyProtocol(c.Protocol)))
            sb.Append("; teacher fit: how well the pre-trained head reproduces the teacher's features on the test split (R², MSE)");
        sb.Append(".\n");
        return sb.ToString();
    }

    /// <summary>
    /// Writes <c>report.md</c> (a heading, the verdict headline, <paramref name="preamble"/>, the
    /// table, the room each set closes, the paired differences), <c>results.csv</c> and
    /// <c>results.json</c>; returns the report path. <paramref name="blocks"/> says how the seeds
    /// split between several distilled sets (<see cref="SeedBlocks"/>), when there are several.
    /// </summary>
    public static string WriteReport(string dir, IReadOnlyList<EvalResult> results, string title, string preamble = "",
        IReadOnlyList<(string Row, string Description)>? rows = null, SeedBlocks? blocks = null)
    {
        Directory.CreateDirectory(dir);
        var md = new StringBuilder();
        md.Append("# ").Append(title).Append("\n\n");
        string headline = EvalReport.Headline(results, blocks);
        if (headline.Length > 0) md.Append(headline.TrimEnd()).Append("\n\n");
        if (preamble.Length > 0) md.Append(preamble.TrimEnd()).Append("\n\n");
        md.Append(Table(results));
        if (rows is { Count: > 0 })
        {
            md.Append("\n**The rows** (the protocol and how to read this report: `docs/evaluation.md` in the RawDistill source tree):\n\n");
            foreach (var (row, description) in rows) md.Append("- *").Append(row).Append("*: ").Append(description).Append('\n');
        }
        string room = EvalReport.RoomTable(results);
        if (room.Length > 0) md.Append("\n## Room closed\n\n").Append(room);
        string paired = EvalReport.PairedTable(results, blocks);
        if (paired.Length > 0) md.Append("\n## Paired differences\n\n").Append(paired);
        string report = Path.Combine(dir, "report.md");
        Write(report, md.ToString());
        var csv = new StringBuilder("set,role,arch,protocol,fraction,seed,value\n");
        foreach (var r in results) csv.Append(CultureInfo.InvariantCulture, $"{Csv(r.Set)},{r.Role},{Csv(r.Arch)},{Csv(r.Protocol)},{r.Fraction:R},{r.Seed},{r.Accuracy:R}\n");
        Write(Path.Combine(dir, "results.csv"), csv.ToString());
        var summary = results.GroupBy(r => (r.Set, r.Arch, r.Protocol, r.Fraction)).Select(g =>
        {
            var (mean, std) = MeanStd(g.Select(r => r.Accuracy).ToList());
            return new { set = g.Key.Set, arch = g.Key.Arch, protocol = g.Key.Protocol, fraction = g.Key.Fraction, seeds = g.Count(), mean, std };
        }).ToList();
        var json = JsonSerializer.Serialize(new
        {
            // Which distilled set (distillation seed) each evaluation seed of a candidate row used.
            sampling = blocks == null ? null : new { distillation_seeds = blocks.Sets, evaluation_seeds_per_set = blocks.PerSet, n = blocks.Count },
            cells = results.Select(r => new { set = r.Set, role = r.Role.ToString(), arch = r.Arch, protocol = r.Protocol, fraction = r.Fraction, seed = r.Seed, value = r.Accuracy }),
            summary,
            paired = EvalReport.Comparisons(results).Select(c => new
            {
                candidate = c.Candidate, baseline = c.Baseline, arch = c.Arch, protocol = c.Protocol, fraction = c.Fraction,
                differences = c.Interval.Differences, mean = c.Interval.Mean, lower = Finite(c.Interval.Lower), upper = Finite(c.Interval.Upper),
                verdict = c.Interval.Verdict.ToString().ToLowerInvariant(),
            }),
        }, new JsonSerializerOptions { WriteIndented = true });
        Write(Path.Combine(dir, "results.json"), json);
        return report;
    }

    static double? Finite(double v) => double.IsFinite(v) ? v : null;

    /// <summary>A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break (set names do).</summary>
    static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\n\r") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    static void Write(string path, string text)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
