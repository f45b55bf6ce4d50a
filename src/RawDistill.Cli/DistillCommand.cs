namespace RawDistill.Cli;

using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CommandLine;
using CommandLine.Text;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Eval;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Ssl;
using RawDistill.Nn.Models;
using RawDistill.Tensors;

[Verb("distill", HelpText = "Distill a dataset into a small synthetic set with KRR-ST, then evaluate it against baselines (the main job).")]
public sealed partial class DistillOptions : EvaluationFlags
{
    [Option("method", Default = "krr-st", HelpText = "Distillation method: krr-st (the main job's default) | mkdt (expert trajectories + trajectory matching; trains missing experts first).")]
    public string Method { get; set; } = "krr-st";

    [Option("data", Default = DataSpec.Default, HelpText = "Dataset spec: fashion-mnist-mini | fashion-mnist[:DIR] | idx:DIR | cifar10:DIR | cifar100:DIR | safetensors:TRAIN[,TEST].")]
    public string Data { get; set; } = DataSpec.Default;

    [Option("preset", Default = "cpu", HelpText = "Hyperparameter preset: cpu (sized for the embedded data on 2 cores) | cifar100 (the reference values) | tinyimagenet. Flags below override it.")]
    public string Preset { get; set; } = "cpu";

    [Option('m', "images", HelpText = "m, synthetic images.")]
    public int? M { get; set; }

    [Option("real-batch", HelpText = "B, real images per outer step.")]
    public int? RealBatch { get; set; }

    [Option("pool-size", HelpText = "M, models in the pool.")]
    public int? PoolSize { get; set; }

    [Option("t-max", HelpText = "T_max, training steps after which a pool model is re-initialized.")]
    public int? TMax { get; set; }

    [Option("lr", HelpText = "η, learning rate of X_s and Y_s (AdamW, decayed linearly to 1e-3·η).")]
    public double? Lr { get; set; }

    [Option("adam-eps", HelpText = "AdamW epsilon (the gradients are tiny; default 1e-8).")]
    public double? AdamEps { get; set; }

    [Option("steps", HelpText = "Outer steps.")]
    public int? Steps { get; set; }

    [Option("widths", HelpText = "Pool/evaluation ConvNet widths, e.g. 128,256,512.")]
    public string? Widths { get; set; }

    [Option("norm", HelpText = "ConvNet normalization: batch | instance | none.")]
    public string? Norm { get; set; }

    [Option("augment", HelpText = "Random crop (pad 4) + flip of the real batch (teacher targets are then recomputed every step).")]
    public bool Augment { get; set; }

    [Option("ridge", HelpText = "Ridge λ as a multiple of tr(K_ss) (default 1e-6).")]
    public double? Ridge { get; set; }

    [Option("pool-reset", HelpText = "reset (default: a re-initialized model's counter goes back to 0) | legacy (the reference code's behaviour).")]
    public string? PoolReset { get; set; }

    [Option("raw-synthetic", HelpText = "Reference compatibility: feed X_s unnormalized while real images are normalized.")]
    public bool RawSynthetic { get; set; }

    [Option("checkpoint-every", HelpText = "Checkpoint interval in outer steps.")]
    public int? CheckpointEvery { get; set; }

    [Option("teacher", HelpText = "Teacher file (rawdistill teacher train). Default: the cached teacher for --data and --seed, trained on first use.")]
    public string? Teacher { get; set; }

    [Option("teacher-epochs", HelpText = "Epochs when the teacher has to be trained (default: the teacher command's default).")]
    public int? TeacherEpochs { get; set; }

    [Option("cache", HelpText = "Folder of cached teachers (default $RAWDISTILL_CACHE or ~/.cache/rawdistill).")]
    public string? Cache { get; set; }

    [Option("out", HelpText = "Output folder (default runs/krr-st or runs/mkdt).")]
    public string? Out { get; set; }

    [Option("resume", HelpText = "Continue the run whose output folder is DIR (from its checkpoint.safetensors), bit-exactly.")]
    public string? Resume { get; set; }

    [Option("seed", Default = 0UL, HelpText = "Seed of the distillation (initial subset, pool, batches) and of the teacher training.")]
    public ulong Seed { get; set; }

    [Option("eval-seeds", Default = 3, HelpText = "Evaluation seeds (0..N-1); 0 skips the evaluation.")]
    public int EvalSeeds { get; set; } = 3;

    [Option("eval-epochs", HelpText = "Pre-training epochs of the evaluation (KRR-ST protocol; default 1000 for the cifar100 preset, 100 for cpu).")]
    public int? EvalEpochs { get; set; }

    [Option("eval-protocol", HelpText = "Pre-training protocol: krr-st (SGD 0.1, wd 1e-3, E epochs; default for --method krr-st) | mkdt (20 epochs, wd 1e-4, lr = the learned η for MKDT sets; default for --method mkdt).")]
    public string? EvalProtocol { get; set; }

    [Option("fractions", Default = "0.01,0.1", HelpText = "Label fractions of the linear probe (rawdistill eval adds 5% and 100% by default).")]
    public string Fractions { get; set; } = "0.01,0.1";

    [Option("baselines", HelpText = "Default random,none (krr-st) or random,highloss,none (mkdt). Baselines at the same budget m: random (real subset, teacher targets) | highloss (the high-loss images an MKDT set started from, teacher targets) | kmeans (nearest real image to each of m centroids in teacher feature space) | full (all real images, teacher targets: the ceiling) | none (random init: the floor). The main job keeps to random,none for its ten-minute budget; rawdistill eval adds kmeans.")]
    public string? Baselines { get; set; }

    [Option("device", Default = "auto", HelpText = "auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("quiet", HelpText = "Fewer progress lines (checkpoints and summaries only).")]
    public bool Quiet { get; set; }

    static readonly UnParserSettings SkipDefaults = new() { SkipDefault = true };

    [Usage(ApplicationAlias = "rawdistill")]
    public static IEnumerable<Example> Examples =>
    [
        new Example("The main job: teacher (cached), KRR-ST on the embedded Fashion-MNIST subset, evaluation vs baselines", SkipDefaults, new DistillOptions()),
        new Example("Full Fashion-MNIST (Debian package dataset-fashion-mnist), m = 100", SkipDefaults, new DistillOptions { Data = "fashion-mnist", M = 100 }),
        new Example("The reference CIFAR-100 settings with a given teacher", SkipDefaults, new DistillOptions { Data = "cifar100:/data/cifar-100-binary", Preset = "cifar100", Teacher = "r18.safetensors", Out = "runs/c100" }),
        new Example("Reproduce the reference code's pool behaviour", SkipDefaults, new DistillOptions { PoolReset = "legacy" }),
        new Example("Continue an interrupted run", SkipDefaults, new DistillOptions { Resume = "runs/krr-st" }),
    ];
}

/// <summary>`rawdistill distill`: teacher (cached) → KRR-ST → linear-probe evaluation vs baselines → report.</summary>
public static partial class DistillCommand
{
    public static int Run(DistillOptions o)
    {
        DistillMethod method;
        try
        {
            method = DistillMethods.Parse(o.Method);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--method: {e.Message}");
        }
        // A resumed run continues with the method that wrote its checkpoint, whatever --method says.
        string resumeCkpt = o.Resume == null ? "" : Path.Combine(o.Resume, KrrStRun.CheckpointFile);
        if (File.Exists(resumeCkpt))
        {
            try
            {
                if (Safetensors.Read(resumeCkpt).Metadata.TryGetValue("format", out var ckFormat))
                    method = ckFormat == Methods.Mkdt.MkdtDistiller.CheckpointFormat ? DistillMethod.Mkdt : DistillMethod.KrrSt;
            }
            catch (InvalidDataException e)
            {
                throw new CliException($"--resume {o.Resume}: {e.Message}");
            }
        }
        if (method == DistillMethod.Mkdt) return RunMkdt(o);
        var total = Stopwatch.StartNew();
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        string outDir = o.Resume ?? o.Out ?? "runs/krr-st";
        string ckpt = Path.Combine(outDir, KrrStRun.CheckpointFile);
        if (o.Resume != null && !File.Exists(ckpt)) throw new CliException($"--resume {o.Resume}: no {KrrStRun.CheckpointFile} there");

        KrrStConfig config;
        try
        {
            config = o.Resume != null ? KrrStDistiller.ReadCheckpointConfig(ckpt) : BuildConfig(o);
            config.Validate();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FormatException)
        {
            throw new CliException(e.Message);
        }

        var evalSettings = EvalSettingsOf(o, DistillMethod.KrrSt); // flags checked before hours of work, not after
        var splits = LoadData(o.Data);
        string teacherPath = ResolveTeacher(o, splits, backend);
        using var teacher = Teacher.Load(teacherPath, backend);
        string hash = Sha256(teacherPath);
        var real = teacher.Fit(splits.Train);
        Console.Error.WriteLine($"teacher: {teacherPath} ({teacher.Config.Arch}, {teacher.FeatureDim}-d, sha256 {hash[..12]}…)");
        Console.Error.WriteLine($"krr-st: {config.ToJson()}");

        var targets = config.Augment ? null : TeacherTargets.Get(teacher, hash, splits.Train, log: Console.Error.WriteLine);
        Func<Tensor, Tensor> g = x => teacher.Encoder.Embed(x);
        KrrStDistiller distiller;
        try
        {
            if (o.Resume != null)
            {
                distiller = KrrStDistiller.Resume(ckpt, real, g, teacher.FeatureDim, backend, teacherTargets: targets);
                if (distiller.TeacherHash != hash) Console.Error.WriteLine($"warning: the checkpoint was made with teacher sha256 {distiller.TeacherHash[..12]}…, not this one");
                Console.Error.WriteLine($"resuming {ckpt} at step {distiller.StepsDone}/{config.Steps}");
            }
            else
            {
                Directory.CreateDirectory(outDir);
                var clock = Stopwatch.StartNew();
                distiller = new KrrStDistiller(config, real, teacher.Normalization, g, teacher.FeatureDim, hash, backend,
                    (i, t) => { if (!o.Quiet) Console.Error.WriteLine($"pool model {i + 1}/{config.PoolSize}: trained {t} steps ({clock.Elapsed.TotalSeconds:F0} s)"); },
                    teacherTargets: targets);
            }
        }
        catch (ArgumentException e)
        {
            throw new CliException(e.Message);
        }

        using (distiller)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJson());
            var lastPrint = Stopwatch.StartNew();
            try
            {
                KrrStRun.Run(distiller, outDir, p =>
                {
                    bool ck = p.Step % config.CheckpointEvery == 0 || p.Step == p.Steps;
                    if (!(ck || (!o.Quiet && (lastPrint.Elapsed.TotalSeconds >= 5 || p.Step == 1)))) return;
                    lastPrint.Restart();
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"step {p.Step}/{p.Steps} loss {p.Loss:G5} lr {p.Lr:G3} {p.Seconds / p.Step:F2} s/step ETA {Format(p.Eta)}{(ck ? " (checkpoint)" : "")}"));
                });
            }
            catch (KrrStDivergedException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                Console.Error.WriteLine($"last good checkpoint: {ckpt}");
                return 3;
            }
            Console.Error.WriteLine($"distilled: {Path.Combine(outDir, KrrStRun.DistilledFile)}, {KrrStRun.GridFile} next to {KrrStRun.RandomGridFile}, {KrrStRun.LossPlotFile}, {KrrStRun.MetricsFile}");

            if (o.EvalSeeds <= 0) return 0;
            if (splits.Test is not { HasLabels: true } || !splits.Train.HasLabels)
            {
                Console.Error.WriteLine($"{o.Data}: no labelled train/test splits; skipping the evaluation");
                return 0;
            }
            Evaluate(distiller.ToDistilledSet(), teacher, teacherPath, hash, splits, o.Data, evalSettings, outDir, backend, total,
                $"KRR-ST config: `{config.ToJson()}`.\n", targets);
        }
        return 0;
    }

    /// <summary>The evaluation flags of `distill`; the pre-training epochs default by preset (100 for cpu, else the protocol's 1000).</summary>
    static EvalSettings EvalSettingsOf(DistillOptions o, DistillMethod method)
    {
        int epochs = o.EvalEpochs ?? (o.Preset.Equals("cpu", StringComparison.OrdinalIgnoreCase) ? 100 : 1000);
        string protocol = o.EvalProtocol ?? (method == DistillMethod.Mkdt ? "mkdt" : "krr-st");
        string baselines = o.Baselines ?? (method == DistillMethod.Mkdt ? "random,highloss,none" : "random,none");
        var e = new EvalSettings(o.EvalSeeds, protocol, epochs, o.Fractions, baselines, o.FullDataEpochs, o.FineTuneEpochs, o.FineTuneFractions, o.Archs, o.Probe);
        e.Validate();
        return e;
    }

    /// <summary>
    /// Pre-trains fresh encoders on the distilled set and on the requested baselines at the
    /// same budget m (random real subset, k-means subset, full data — all with teacher
    /// targets — and no pre-training); linear probe at each fraction, optionally fine-tuning;
    /// writes the report.
    /// </summary>
    internal static void Evaluate(DistilledSet set, Teacher teacher, string teacherPath, string hash,
        DataSplits splits, string dataSpec, EvalSettings settings, string outDir, IBackend backend, Stopwatch total, string extraPreamble,
        float[]? teacherTargets = null)
    {
        float[] xs = set.X, ys = set.Y;
        var net = set.Net.ToConvNet();
        string norm = set.Net.Norm;
        if (splits.Test is not { HasLabels: true } || !splits.Train.HasLabels)
        {
            Console.Error.WriteLine($"{dataSpec}: no labelled train/test splits; skipping the evaluation");
            return;
        }
        settings.Validate();
        var real = teacher.Fit(splits.Train);
        int d = teacher.FeatureDim, m = xs.Length / real.ImageSize;
        if (m * real.ImageSize != xs.Length || ys.Length != m * d)
            throw new CliException($"the distilled set ({xs.Length} pixels, {ys.Length} targets) does not fit {real.Channels}×{real.Height}×{real.Width} images and the teacher's {d}-d targets");
        if (m > real.Count) throw new CliException($"the distilled set has {m} images, more than the {real.Count} real images the baselines are drawn from");
        var targets = teacherTargets ?? TeacherTargets.Get(teacher, hash, splits.Train, log: Console.Error.WriteLine);
        var protocol = settings.Pretrain();
        var notes = new List<string>();
        var sets = new List<EvalSetSource>();
        bool mkdtProtocol = settings.Protocol.Equals("mkdt", StringComparison.OrdinalIgnoreCase);
        if (mkdtProtocol && set.Eta is { } eta)
        {
            // The reference pre-trains an MKDT set at its learned η; the baselines have none and use 0.1.
            // Both rows, so the comparison at equal learning rates is in the table too.
            sets.Add(new($"{set.Method.Title()} distilled (lr η = {eta:G3})", _ => (xs, ys), PretrainOptions.Mkdt(eta)));
            sets.Add(new($"{set.Method.Title()} distilled (lr 0.1)", _ => (xs, ys)));
            notes.Add($"the MKDT protocol pre-trains the distilled set at its learned η = {eta:G4} (the reference) and at 0.1 like the baselines");
        }
        else sets.Add(new($"{set.Method.Title()} distilled", _ => (xs, ys)));
        foreach (var b in settings.BaselineList())
        {
            switch (b)
            {
                case "random":
                    sets.Add(new("random real subset (teacher targets)", seed => Gather(real, targets, Subsample.Random(real.Count, m, seed + 1000), d, backend)));
                    notes.Add("the random subset differs per seed");
                    break;
                case "highloss":
                    if (set.Init.StartsWith("high-loss", StringComparison.Ordinal) && set.InitialIndices.Length == m)
                    {
                        var hl = set.InitialIndices;
                        sets.Add(new($"{set.Init} subset (teacher targets)", _ => Gather(real, targets, hl, d, backend)));
                        notes.Add($"the {set.Init} subset is the m real images MKDT started from (experts' epoch-1 MSE), with teacher targets");
                    }
                    else notes.Add("no high-loss baseline: the set did not start from a high-loss subset");
                    break;
                case "kmeans":
                    var clock = Stopwatch.StartNew();
                    var centers = KMeansSubset.Select(targets, real.Count, d, m, seed: 0, backend: backend);
                    Console.Error.WriteLine($"k-means: {m} centroids of {real.Count} teacher features ({clock.Elapsed.TotalSeconds:F0} s)");
                    sets.Add(new("k-means subset (teacher targets)", _ => Gather(real, targets, centers, d, backend)));
                    notes.Add("the k-means subset is the nearest real image to each of m centroids of the teacher features (k-means++ seed 0, Lloyd)");
                    break;
                case "full":
                    var all = Enumerable.Range(0, real.Count).ToArray();
                    var fullOptions = protocol with { Epochs = settings.FullDataEpochs };
                    sets.Add(new($"full data (teacher targets, {settings.FullDataEpochs} epochs)", _ => Gather(real, targets, all, d, backend), fullOptions));
                    notes.Add($"the full-data baseline pre-trains {fullOptions} on all {real.Count} images");
                    break;
                case "none":
                    sets.Add(new("no pre-training", _ => null));
                    break;
            }
        }
        var fractions = ParseFractions(settings.Fractions);
        var fineTune = settings.FineTune();
        var fineTuneFractions = ParseFractions(settings.FineTuneFractions, "--finetune-fractions");
        var seeds = Enumerable.Range(0, settings.Seeds).Select(s => (ulong)s).ToList();
        Console.Error.WriteLine($"evaluation: {sets.Count} sets × {seeds.Count} seeds × {settings.Archs}, pre-training {protocol}, linear probe at {settings.Fractions}" +
            (fineTune != null ? $", {fineTune} at {settings.FineTuneFractions}" : ""));
        var archs = settings.Architectures(net);
        var results = PretrainEvaluation.Run(sets, archs, teacher.Normalization, real, teacher.Fit(splits.Test), fractions, seeds, protocol,
            backend: backend, log: Console.Error.WriteLine, fineTune: fineTune, fineTuneFractions: fineTuneFractions, probes: settings.Probes());
        string preamble =
            $"Data `{dataSpec}` ({real.Count} training images, {splits.Test.Count} test images), m = {m}, teacher `{teacherPath}` (sha256 {hash}).\n" +
            extraPreamble +
            $"Pre-training: {protocol} on {string.Join(", ", archs.Select(a => a.Name))} (ConvNet with {norm} norm) with a new {d}-d MSE head; " +
            string.Join("; ", settings.Probes().Select(p => p.Protocol == PretrainEvaluation.MkdtProbeProtocol
                ? "MKDT's probe: raw features, L-BFGS 20 steps, history 100, no line search, + 1e-3‖W‖²"
                : "linear probe: L-BFGS multinomial logistic regression on standardized features, L2 1e-3")) + ", class-agnostic random label subsets" +
            (fineTune != null ? $"; {fineTune}" : "") + (notes.Count > 0 ? "; " + string.Join("; ", notes) : "") + ".\n\n" +
            (set.Method == DistillMethod.Mkdt
                ? $"![distilled]({Methods.Mkdt.MkdtRun.GridFile}) ![initial]({Methods.Mkdt.MkdtRun.InitialGridFile}) ![loss]({Methods.Mkdt.MkdtRun.LossPlotFile})\n\n"
                : $"![distilled]({KrrStRun.GridFile}) ![random]({KrrStRun.RandomGridFile}) ![loss]({KrrStRun.LossPlotFile})\n\n") +
            $"Total wall time of the command: {Format(total.Elapsed)}.";
        string report = PretrainEvaluation.WriteReport(outDir, results, $"{set.Method.Title()} evaluation", preamble);
        Console.WriteLine(PretrainEvaluation.Table(results));
        Console.WriteLine($"report: {report}  (total {Format(total.Elapsed)})");
    }

    /// <summary>The real images at <paramref name="idx"/> (pixel space) with their teacher targets.</summary>
    static (float[] X, float[] Y) Gather(ImageDataset real, float[] targets, int[] idx, int d, IBackend backend)
    {
        using var scope = TensorScope.Begin();
        var x = real.Batch(idx, backend).ToArray<float>();
        var y = new float[idx.Length * d];
        for (int i = 0; i < idx.Length; i++) targets.AsSpan(idx[i] * d, d).CopyTo(y.AsSpan(i * d, d));
        return (x, y);
    }

    static KrrStConfig BuildConfig(DistillOptions o)
    {
        var c = KrrStConfig.Preset(o.Preset);
        if (o.M is { } m) c = c with { SyntheticCount = m };
        if (o.RealBatch is { } b) c = c with { RealBatch = b };
        if (o.PoolSize is { } ps) c = c with { PoolSize = ps };
        if (o.TMax is { } t) c = c with { MaxSteps = t };
        if (o.Lr is { } lr) c = c with { Lr = lr };
        if (o.AdamEps is { } eps) c = c with { AdamEps = eps };
        if (o.Steps is { } s) c = c with { Steps = s };
        if (o.Widths != null) c = c with { Widths = ParseInts(o.Widths, "--widths") };
        if (o.Norm != null) c = c with { Norm = o.Norm.ToLowerInvariant() };
        if (o.Augment) c = c with { Augment = true };
        if (o.Ridge is { } r) c = c with { RidgeScale = r };
        if (o.PoolReset != null)
            c = c with
            {
                PoolReset = o.PoolReset.ToLowerInvariant() switch
                {
                    "reset" => PoolResetMode.Reset,
                    "legacy" => PoolResetMode.Legacy,
                    _ => throw new CliException($"--pool-reset {o.PoolReset}: expected reset or legacy"),
                },
            };
        if (o.RawSynthetic) c = c with { RawSynthetic = true };
        if (o.CheckpointEvery is { } k) c = c with { CheckpointEvery = k };
        return c with { Seed = o.Seed };
    }

    static string ResolveTeacher(DistillOptions o, DataSplits splits, IBackend backend) =>
        ResolveTeacher(o.Teacher, o.Cache, o.TeacherEpochs, o.Seed, o.Quiet, o.Data, splits, backend);

    /// <summary>The teacher file: the given one, or the cached teacher for the data and seed (trained on first use).</summary>
    internal static string ResolveTeacher(string? teacherFile, string? cacheDir, int? teacherEpochs, ulong seed, bool quiet, string dataSpec, DataSplits splits, IBackend backend)
    {
        if (teacherFile != null)
        {
            if (!File.Exists(teacherFile)) throw new CliException($"--teacher: no file at {teacherFile}");
            return teacherFile;
        }
        string cache = cacheDir ?? Environment.GetEnvironmentVariable("RAWDISTILL_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "rawdistill");
        Directory.CreateDirectory(cache);
        var spec = DataSpec.Parse(dataSpec);
        string key = new string(spec.ToString().Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray());
        string path = Path.Combine(cache, $"teacher-{key}-convnet-e{teacherEpochs?.ToString(CultureInfo.InvariantCulture) ?? "default"}-seed{seed}.safetensors");
        if (File.Exists(path))
        {
            Console.Error.WriteLine($"teacher: reusing the cached {path}");
            return path;
        }
        var data = splits.Train;
        var encoder = EncoderConfig.Default("convnet", data.Channels, data.Height);
        data = data.WithChannels(encoder.Channels).Resize(encoder.Size, encoder.Size);
        var options = new BarlowTwinsOptions
        {
            Epochs = teacherEpochs ?? (spec.Format == DataFormat.FashionMnistMini ? 10 : 100),
            Seed = seed,
        };
        Console.Error.WriteLine($"teacher: none cached for {spec}; training Barlow Twins ({options.Epochs} epochs) → {path}");
        using var trainer = new BarlowTwinsTrainer(encoder, options, data.ComputeNormalization(), data.Count, spec.ToString(), backend);
        var lastPrint = Stopwatch.StartNew();
        trainer.Train(data, path + ".ckpt", p =>
        {
            bool last = p.Step == p.StepsPerEpoch;
            if (!last && (quiet || lastPrint.Elapsed.TotalSeconds < 10)) return;
            lastPrint.Restart();
            Console.Error.WriteLine($"teacher epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F3} ETA {Format(p.Eta)}");
        });
        trainer.SaveTeacher(path);
        return path;
    }

    internal static DataSplits LoadData(string spec)
    {
        try
        {
            var splits = DataSpec.Parse(spec).Load();
            Console.Error.WriteLine($"data: {splits.Train}{(splits.Test != null ? $"; test {splits.Test.Count} images" : "")}");
            return splits;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliException(e.Message);
        }
    }

    internal static int[] ParseInts(string s, string flag)
    {
        try
        {
            var w = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (w.Length == 0 || w.Any(v => v <= 0)) throw new FormatException();
            return w;
        }
        catch (FormatException)
        {
            throw new CliException($"{flag}: expected comma-separated positive integers such as 32,64,128, got '{s}'");
        }
    }

    internal static double[] ParseFractions(string s, string flag = "--fractions")
    {
        try
        {
            var f = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (f.Length == 0 || f.Any(v => !(v > 0 && v <= 1))) throw new FormatException();
            return f;
        }
        catch (FormatException)
        {
            throw new CliException($"{flag}: expected comma-separated fractions in (0, 1] such as 0.01,0.1,1, got '{s}'");
        }
    }

    /// <summary>SHA-256 of a file, lowercase hex.</summary>
    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    internal static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:D2}s" : $"{t.TotalSeconds:F1}s";
}
