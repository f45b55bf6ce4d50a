namespace RawDistill.Methods.Eval;

using System.Diagnostics;
using System.Globalization;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Methods.Common;
using RawDistill.Methods.Ssl;
using RawDistill.Tensors;

/// <summary>
/// What to evaluate a distilled set against and how (design page evaluation.md), already
/// parsed: the CLI's `distill` and `eval` build it from their flags.
/// </summary>
/// <param name="Seeds">Evaluation seeds 0..Seeds−1.</param>
/// <param name="Protocol">How each set pre-trains a fresh encoder.</param>
/// <param name="Baselines">Baseline names of <see cref="DistilledSetEvaluation.KnownBaselines"/>, in report order.</param>
/// <param name="FullDataEpochs">Pre-training epochs of the full-data baseline.</param>
/// <param name="Fractions">Label fractions of the linear probe.</param>
/// <param name="FineTune">Fine-tuning, or null.</param>
/// <param name="FineTuneFractions">Label fractions of the fine-tuning.</param>
/// <param name="Archs">Architectures to pre-train and evaluate.</param>
/// <param name="Probes">The linear probes, by protocol name (ours, MKDT's reference probe, or both); null = ours.</param>
/// <param name="MkdtProtocol">The MKDT protocol: a set with a learned η is pre-trained at η (the reference) and, as a second row, at the baselines' rate.</param>
public sealed record EvaluationPlan(int Seeds, PretrainOptions Protocol, IReadOnlyList<string> Baselines, int FullDataEpochs,
    IReadOnlyList<double> Fractions, FineTuneOptions? FineTune, IReadOnlyList<double> FineTuneFractions, IReadOnlyList<EvalArchitecture> Archs,
    IReadOnlyList<(string Protocol, LinearProbeOptions Options)>? Probes = null, bool MkdtProtocol = false);

/// <summary>
/// Evaluates a distilled set of any method against baselines at the same budget m (design
/// page evaluation.md): builds the baseline sets (random-kd, random-ce, k-means, full data,
/// no pre-training, the teacher's own encoder), runs every cell
/// (<see cref="PretrainEvaluation.Run"/>) and writes the report with its verdict.
/// </summary>
public static class DistilledSetEvaluation
{
    /// <summary>
    /// Baseline names, in report order: random-kd (random real subset, teacher targets, MSE —
    /// the bar), random-ce (the same kind of subset with class labels and cross-entropy — the
    /// KRR-ST paper's "Random"), kmeans, full (all real images, teacher targets), none (no
    /// pre-training, the floor), teacher (the teacher's own encoder probed, the ceiling), init (the
    /// images the set started from with teacher targets: MKDT's high-loss subset, KRR-ST's random
    /// draw — the paired control that isolates what distillation changed).
    /// </summary>
    public static readonly string[] KnownBaselines = ["random-kd", "random-ce", "init", "kmeans", "full", "none", "teacher"];

    /// <summary>Baseline names accepted for compatibility: random = random-kd, highloss = init.</summary>
    public static string Canonical(string name) => name.ToLowerInvariant() switch { "random" => "random-kd", "highloss" => "init", var n => n };

    /// <summary>
    /// Runs the evaluation of one <paramref name="set"/> on one dataset (source of the baselines
    /// and downstream task alike): <see cref="Run(IReadOnlyList{DistilledSet}, Teacher, string, string, EvalDatasets, EvaluationPlan, string, IBackend, Action{string}, string, TeacherTargetTable)"/>.
    /// </summary>
    public static List<EvalResult> Run(DistilledSet set, Teacher teacher, string teacherPath, string teacherHash,
        DataSplits splits, string dataSpec, EvaluationPlan plan, string outDir, IBackend backend, Action<string> log, string preamble,
        TeacherTargetTable? trainTargets = null) =>
        Run([set], teacher, teacherPath, teacherHash, EvalDatasets.Same(splits, dataSpec), plan, outDir, backend, log, preamble, trainTargets);

    /// <summary>
    /// Runs the evaluation of <paramref name="distilled"/> — one set, or K sets of the same
    /// method and config from distillation seeds 0..K−1 (x_syn pixels m×C×H×W in [0, 1], y_syn
    /// m×d teacher-space targets) — and writes report.md, results.csv and results.json to
    /// <paramref name="outDir"/>; returns the results. Set i is evaluated on its own block of
    /// <see cref="EvaluationPlan.Seeds"/> evaluation seeds (<see cref="SeedBlocks"/>); the
    /// baselines are drawn from the source dataset of <paramref name="data"/> and every row is
    /// probed and fine-tuned on its downstream dataset, both converted to the set's input shape
    /// (<see cref="EvalDatasets.Fit"/>). <paramref name="preamble"/> goes into the report (method
    /// config, image links); <paramref name="trainTargets"/> are the teacher's features of the
    /// source's training split when the caller has them (the <c>TeacherTargets</c> cache), else
    /// computed here.
    /// </summary>
    public static List<EvalResult> Run(IReadOnlyList<DistilledSet> distilled, Teacher teacher, string teacherPath, string teacherHash,
        EvalDatasets data, EvaluationPlan plan, string outDir, IBackend backend, Action<string> log, string preamble,
        TeacherTargetTable? trainTargets = null)
    {
        if (distilled.Count == 0) throw new ArgumentException("no distilled set to evaluate");
        if (data.Downstream.Test is not { HasLabels: true } downTest || !data.Downstream.Train.HasLabels)
            throw new ArgumentException($"{data.DownstreamSpec}: no labelled train/test splits to evaluate on");
        var first = distilled[0];
        for (int i = 1; i < distilled.Count; i++)
        {
            var s = distilled[i];
            if (s.Method != first.Method || s.X.Length != first.X.Length || s.Y.Length != first.Y.Length || s.Net.ToJson() != first.Net.ToJson())
                throw new ArgumentException($"distilled set {i + 1} ({s.Method.Title()}, {s.X.Length} pixels, {s.Y.Length} targets, net {s.Net.ToJson()}) is not of the method and shape of set 1 " +
                    $"({first.Method.Title()}, {first.X.Length} pixels, {first.Y.Length} targets, net {first.Net.ToJson()}); a list of sets is one method and config at several distillation seeds");
            if (s.TeacherHash.Length > 0 && first.TeacherHash.Length > 0 && s.TeacherHash != first.TeacherHash)
                throw new ArgumentException($"distilled set {i + 1} was distilled with another teacher (sha256 {s.TeacherHash[..Math.Min(12, s.TeacherHash.Length)]}…) than set 1 ({first.TeacherHash[..Math.Min(12, first.TeacherHash.Length)]}…)");
        }
        string method = first.Method.Title();
        int channels = first.Net.Channels, size = first.Net.Size;
        if (teacher.Config.Channels != channels || teacher.Config.Size != size)
            throw new ArgumentException($"the distilled set's images are {channels}×{size}×{size} but the teacher takes {teacher.Config.Channels}×{teacher.Config.Size}×{teacher.Config.Size}");
        var real = EvalDatasets.Fit(data.Source.Train, channels, size);
        var downTrain = EvalDatasets.Fit(data.Downstream.Train, channels, size);
        var testFit = EvalDatasets.Fit(downTest, channels, size);
        int d = teacher.FeatureDim, m = first.X.Length / real.ImageSize;
        if (m == 0 || m * real.ImageSize != first.X.Length || first.Y.Length != m * d)
            throw new ArgumentException($"the distilled set ({first.X.Length} pixels, {first.Y.Length} targets) does not fit {real.Channels}×{real.Height}×{real.Width} images and the teacher's {d}-d targets");
        if (m > real.Count) throw new ArgumentException($"the distilled set has {m} images, more than the {real.Count} real images of {data.SourceSpec} the baselines are drawn from");
        var blocks = new SeedBlocks(distilled.Count, plan.Seeds);
        DistilledSet SetAt(ulong seed) => distilled[blocks.SetOf(seed)];
        var clock = Stopwatch.StartNew();
        var targets = trainTargets ?? TeacherTargetTable.InMemory(teacher.Embed(real), d);
        if (targets.Count != real.Count || targets.Dim != d) throw new ArgumentException($"teacher targets: {targets.Count} × {targets.Dim} for {real.Count} images of {d} dims");
        var testTargets = teacher.Embed(testFit);
        log(trainTargets == null
            ? $"teacher targets: {real.Count} source training and {testFit.Count} downstream test images embedded ({clock.Elapsed.TotalSeconds:F0} s)"
            : $"teacher targets: {testFit.Count} downstream test images embedded ({clock.Elapsed.TotalSeconds:F0} s)");
        var protocol = plan.Protocol;
        var sets = new List<EvalSetSource>();
        var notes = new List<string>();
        string several = distilled.Count > 1 ? $"; {distilled.Count} sets from distillation seeds 0..{distilled.Count - 1}, set i on evaluation seeds i·{plan.Seeds} … i·{plan.Seeds}+{plan.Seeds - 1}" : "";
        if (plan.MkdtProtocol && distilled.All(s => s.Eta != null))
        {
            // The MKDT reference pre-trains an MKDT set at its learned η; the baselines have none and use the protocol's rate.
            // Both rows, so the comparison at equal learning rates is in the table too.
            string etas = string.Join(", ", distilled.Select(s => s.Eta!.Value.ToString("G4", CultureInfo.InvariantCulture)));
            string etaName = distilled.Count == 1 ? $"lr η = {first.Eta!.Value:G3}" : "lr η learned per set";
            sets.Add(new($"{method} distilled ({etaName})", seed => (SetAt(seed).X, SetAt(seed).Y))
            {
                Role = EvalRole.Candidate,
                OptionsFor = seed => protocol with { Lr = SetAt(seed).Eta!.Value },
                Description = $"the set under test ({m} images and learned targets) pre-trained at its learned step size η = {etas}, as the MKDT reference does{several}.",
            });
            sets.Add(new($"{method} distilled (lr {protocol.Lr:G3})", seed => (SetAt(seed).X, SetAt(seed).Y))
            {
                Role = EvalRole.Candidate,
                Description = $"the same set pre-trained at the baselines' learning rate {protocol.Lr:G3}: the comparison at equal rates.",
            });
            notes.Add($"the MKDT protocol pre-trains the distilled set at its learned η = {etas} (the reference) and at {protocol.Lr:G3} like the baselines");
        }
        else
        {
            sets.Add(new($"{method} distilled", seed => (SetAt(seed).X, SetAt(seed).Y))
            {
                Role = EvalRole.Candidate,
                Description = $"the set under test: {m} images and their learned targets from {method}{several}.",
            });
        }
        int[]? labels = real.HasLabels ? real.Labels.ToArray() : null;
        foreach (var b in plan.Baselines.Select(Canonical))
        {
            switch (b)
            {
                case "random-kd":
                    sets.Add(new("random-kd (random subset, teacher targets)", seed => Gather(real, targets, Subsample.Random(real.Count, m, seed + 1000), backend)) 
                    {
                        Role = EvalRole.Reference,
                        Description = "m random real images with the teacher's features as targets (MSE), a new draw per seed: the bar a distilled set must clear; the verdict is against it.",
                    });
                    notes.Add("random-kd and random-ce draw a different random subset per seed");
                    break;
                case "random-ce":
                    if (labels == null) throw new ArgumentException($"random-ce needs class labels, and the source {data.SourceSpec} has none; drop it from the baselines");
                    var ce = new ClassificationPretrainOptions(protocol.Epochs, Batch: protocol.Batch);
                    sets.Add(new("random-ce (random subset, class labels)", _ => null)
                    {
                        Labelled = seed =>
                        {
                            var idx = Subsample.Random(real.Count, m, seed + 1000);
                            return (Images(real, idx, backend), idx.Select(i => labels[i]).ToArray());
                        },
                        LabelledOptions = ce,
                        Description = "the same random images with their class labels, trained by cross-entropy (the KRR-ST paper's \"Random\"): a weaker bar that uses labels the other rows never see.",
                    });
                    notes.Add($"random-ce pre-trains {ce} on the same subsets as random-kd");
                    break;
                case "init":
                    if (distilled.All(s => s.InitialIndices.Length == m && s.InitialIndices.All(i => (uint)i < (uint)real.Count)))
                    {
                        string what = first.Init.Length > 0 ? first.Init : "initial";
                        sets.Add(new($"init: {what} subset (teacher targets)", seed => Gather(real, targets, SetAt(seed).InitialIndices, backend))
                        {
                            Description = $"the {m} real images the set started from ({what}), with teacher targets: the paired control — the difference to the distilled set is what distillation changed" +
                                (distilled.Count > 1 ? "; each evaluation seed takes the starting images of the set evaluated there." : "."),
                        });
                    }
                    else notes.Add("no init baseline: the set does not record the real images it started from");
                    break;
                case "kmeans":
                    var kclock = Stopwatch.StartNew();
                    var centers = KMeansSubset.Select(targets.All(), real.Count, d, m, seed: 0, backend: backend);
                    log($"k-means: {m} centroids of {real.Count} teacher features ({kclock.Elapsed.TotalSeconds:F0} s)");
                    sets.Add(new("k-means subset (teacher targets)", _ => Gather(real, targets, centers, backend))
                    {
                        Description = "the real image nearest to each of m k-means centroids of the teacher's features, with teacher targets: a smarter real subset.",
                    });
                    notes.Add("the k-means subset is the nearest real image to each of m centroids of the teacher features (k-means++ seed 0, Lloyd)");
                    break;
                case "full":
                    var all = Enumerable.Range(0, real.Count).ToArray();
                    var fullOptions = protocol with { Epochs = plan.FullDataEpochs };
                    sets.Add(new($"full data (teacher targets, {plan.FullDataEpochs} epochs)", _ => Gather(real, targets, all, backend), fullOptions)
                    {
                        Description = $"every real image with teacher targets: what knowledge distillation on all {real.Count} images reaches in {plan.FullDataEpochs} epochs.",
                    });
                    notes.Add($"the full-data baseline pre-trains {fullOptions} on all {real.Count} images");
                    break;
                case "none":
                    sets.Add(new("no pre-training", _ => null)
                    {
                        Role = EvalRole.Floor,
                        Description = "the randomly initialized encoder, probed as it is: the floor; the room a set can close starts here.",
                    });
                    break;
                case "teacher":
                    sets.Add(new("teacher (its own encoder)", _ => null)
                    {
                        Role = EvalRole.Ceiling,
                        Fixed = (teacher.Encoder, teacher.Normalization),
                        Description = "the teacher's encoder itself on the same label subsets: the ceiling; its architecture is the teacher's.",
                    });
                    break;
                default:
                    throw new ArgumentException($"unknown baseline '{b}'; expected one of {string.Join(", ", KnownBaselines)}");
            }
        }
        var seeds = blocks.Seeds;
        log($"evaluation: {sets.Count} sets × {seeds.Count} seeds ({blocks.SampleSize}) × {string.Join(",", plan.Archs.Select(a => a.Name))}, pre-training {protocol}, linear probe at " +
            string.Join(",", plan.Fractions.Select(PretrainEvaluation.Pct)) + (plan.FineTune != null ? $", {plan.FineTune} at {string.Join(",", plan.FineTuneFractions.Select(PretrainEvaluation.Pct))}" : ""));
        var results = PretrainEvaluation.Run(sets, plan.Archs, teacher.Normalization, downTrain, testFit, plan.Fractions, seeds, protocol,
            backend: backend, log: log, fineTune: plan.FineTune, fineTuneFractions: plan.FineTuneFractions, testTargets: testTargets, probes: plan.Probes);
        var probes = plan.Probes ?? [(PretrainEvaluation.LinearProbeProtocol, new LinearProbeOptions())];
        string text =
            data.Describe(channels, size) + $" m = {m}, teacher `{teacherPath}` (sha256 {teacherHash}).\n" +
            $"Seeds: {blocks.Describe()}.\n" +
            preamble.TrimEnd() + "\n" +
            $"Pre-training: {protocol} on {string.Join(", ", plan.Archs.Select(a => a.Name))} with a new {d}-d MSE head; " +
            string.Join("; ", probes.Select(p => p.Protocol == PretrainEvaluation.MkdtProbeProtocol
                ? "MKDT's probe: raw features, L-BFGS 20 steps, history 100, no line search, + 1e-3‖W‖²"
                : "linear probe: L-BFGS multinomial logistic regression on standardized features, L2 1e-3")) +
            ", class-agnostic random label subsets shared by every row of a seed" +
            (plan.FineTune != null ? $"; {plan.FineTune}" : "") + "; the teacher fit is measured on the downstream test split" +
            (notes.Count > 0 ? "; " + string.Join("; ", notes.Distinct()) : "") + ".";
        PretrainEvaluation.WriteReport(outDir, results, $"{method} evaluation", text, sets.Select(s => (s.Name, s.Description)).ToList(), blocks);
        return results;
    }

    /// <summary>The real images at <paramref name="idx"/> (pixel space [0, 1]) with their teacher targets.</summary>
    public static (float[] X, float[] Y) Gather(ImageDataset real, TeacherTargetTable targets, int[] idx, IBackend backend) =>
        (Images(real, idx, backend), targets.Rows(idx));

    /// <summary>The real images at <paramref name="idx"/>, pixel space [0, 1] (random-ce needs no targets).</summary>
    static float[] Images(ImageDataset real, int[] idx, IBackend backend)
    {
        using var scope = TensorScope.Begin();
        return real.Batch(idx, backend).ToArray<float>();
    }
}
