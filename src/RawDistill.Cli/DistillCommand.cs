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

    [Option("data", HelpText = "Dataset spec: fashion-mnist-mini (the default) | fashion-mnist[:DIR] | idx:DIR | cifar10:DIR | cifar100:DIR | safetensors:TRAIN[,TEST]. A --resume takes the run's own (run.json) and refuses another.")]
    public string Data { get; set; } = "";

    [Option("preset", Default = "cpu", HelpText = "Hyperparameter preset: cpu (sized for the embedded data on 2 cores) | cifar100 (the reference values) | tinyimagenet. Flags below override it.")]
    public string Preset { get; set; } = "cpu";

    [Option('m', "images", HelpText = "m, synthetic images. Default by --preset: cpu 100, cifar100 1000, tinyimagenet 2000 (MKDT presets: docs/mkdt.md).")]
    public int? M { get; set; }

    [Option("real-batch", HelpText = "B, real images per outer step. Default by --preset: cpu 256, cifar100 and tinyimagenet 1024.")]
    public int? RealBatch { get; set; }

    [Option("pool-size", HelpText = "M, models in the pool. Default by --preset: cpu 4, cifar100 and tinyimagenet 10.")]
    public int? PoolSize { get; set; }

    [Option("t-max", HelpText = "T_max, training steps after which a pool model is re-initialized. Default by --preset: cpu 40, cifar100 and tinyimagenet 1000.")]
    public int? TMax { get; set; }

    [Option("lr", HelpText = "η, learning rate of X_s and Y_s (AdamW, decayed linearly to 1e-3·η). Default by --preset: cpu 1e-2, cifar100 1e-4, tinyimagenet 1e-5.")]
    public double? Lr { get; set; }

    [Option("adam-eps", HelpText = "AdamW epsilon (the gradients are tiny; default 1e-8).")]
    public double? AdamEps { get; set; }

    [Option("steps", HelpText = "Outer steps. Default by --preset: cpu 200, cifar100 and tinyimagenet 160000.")]
    public int? Steps { get; set; }

    [Option("widths", HelpText = "Pool/evaluation ConvNet widths. Default by --preset: cpu 32,64,128, cifar100 128,256,512, tinyimagenet 64,128,256,512.")]
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

    [Option("baselines", HelpText = "Default random-kd,none,teacher (krr-st) or random-kd,init,none,teacher (mkdt), for the main job's ten-minute budget; rawdistill eval adds random-ce and kmeans. " + EvalSettings.BaselinesHelp)]
    public string? Baselines { get; set; }

    [Option("device", Default = "auto", HelpText = "auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("overwrite", HelpText = "Replace an earlier run in --out: its files at the top of the folder are deleted first (subfolders such as experts/ stay). Without it, a folder holding a run is refused, and the default folder moves on to runs/METHOD-2, -3, ….")]
    public bool Overwrite { get; set; }

    [Option("quiet", HelpText = "Fewer progress lines (checkpoints and summaries only).")]
    public bool Quiet { get; set; }

    static readonly UnParserSettings SkipDefaults = new() { SkipDefault = true };

    public static IEnumerable<Example> Examples =>
    [
        new Example("The main job: teacher (cached), KRR-ST on the embedded Fashion-MNIST subset, evaluation vs baselines", SkipDefaults, new DistillOptions()),
        new Example("Full Fashion-MNIST (Debian package dataset-fashion-mnist), m = 100", SkipDefaults, new DistillOptions { Data = "fashion-mnist", M = 100 }),
        new Example("The reference CIFAR-100 settings with a given teacher", SkipDefaults, new DistillOptions { Data = "cifar100:/data/cifar-100-binary", Preset = "cifar100", Teacher = "r18.safetensors", Out = "runs/c100" }),
        new Example("Reproduce the reference code's pool behaviour", SkipDefaults, new DistillOptions { PoolReset = "legacy" }),
        new Example("Continue an interrupted run", SkipDefaults, new DistillOptions { Resume = "runs/krr-st" }),
        new Example("Two distillation seeds (runs/s/seed-0, seed-1) and one joint evaluation: 2 × 3 paired seeds", SkipDefaults, new DistillOptions { Out = "runs/s", DistillSeeds = 2 }),
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
        if (o.DistillSeeds != 1) return RunSeeds(o, method);
        if (method == DistillMethod.Mkdt) return RunMkdt(o);
        var total = Stopwatch.StartNew();
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        string outDir = OutputFolder(o, "runs/krr-st");
        string ckpt = Path.Combine(outDir, KrrStRun.CheckpointFile);
        if (o.Resume != null && !File.Exists(ckpt)) throw new CliException($"--resume {o.Resume}: no {KrrStRun.CheckpointFile} there");
        using var folder = OpenRunFolder(o, outDir);
        RestoreRecordedInputs(o, outDir);

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
        // Sizes the data cannot hold are refused here, before a teacher trains for them.
        if (config.SyntheticCount > splits.Train.Count)
            throw new CliException($"-m {config.SyntheticCount}: more synthetic images than the {splits.Train.Count} training images of {o.Data}");
        if (config.RealBatch > splits.Train.Count)
            throw new CliException($"--real-batch {config.RealBatch}: larger than the {splits.Train.Count} training images of {o.Data}");
        PrintPlan(o, splits, backend, evalSettings, config.SyntheticCount, plan => AddKrrSt(plan, config, o.Resume != null ? CheckpointStep(ckpt) : 0, splits));
        string teacherPath = ResolveTeacher(o, splits, backend);
        using var teacher = Teacher.Load(teacherPath, backend);
        string hash = Sha256(teacherPath);
        RecordInputs(o, outDir, "krr-st", teacherPath, hash);
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
                if (distiller.TeacherHash != hash)
                    throw new CliException($"--teacher {teacherPath} (sha256 {hash[..12]}…) is not the teacher the checkpoint was made with (sha256 {distiller.TeacherHash[..12]}…); resume without --teacher, or with that teacher");
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
            try
            {
                using var progress = ProgressDisplay.Start("step", config.Steps, distiller.StepsDone, Console.Error.WriteLine);
                KrrStRun.Run(distiller, outDir, p =>
                {
                    // Printed after the checkpoint's rename (KrrStRun): "(checkpoint)" means it is on disk.
                    bool ck = p.Step % config.CheckpointEvery == 0 || p.Step == p.Steps;
                    progress.Report(p.Step, detail: string.Create(CultureInfo.InvariantCulture, $"loss {p.Loss:G5} lr {p.Lr:G3}{(ck ? " (checkpoint)" : "")}"), keep: ck);
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
        string baselines = o.Baselines ?? (method == DistillMethod.Mkdt ? "random-kd,init,none,teacher" : "random-kd,none,teacher");
        var e = EvalSettings.Of(o, o.EvalSeeds, protocol, epochs, o.Fractions, baselines);
        e.Validate();
        return e;
    }

    /// <summary>
    /// Evaluates the distilled set against the requested baselines
    /// (<see cref="DistilledSetEvaluation"/>), prints the table and the verdict, and says where
    /// the report is.
    /// </summary>
    internal static void Evaluate(DistilledSet set, Teacher teacher, string teacherPath, string hash,
        DataSplits splits, string dataSpec, EvalSettings settings, string outDir, IBackend backend, Stopwatch total, string extraPreamble,
        float[]? teacherTargets = null) =>
        Evaluate([set], teacher, teacherPath, hash, EvalDatasets.Same(splits, dataSpec), settings, outDir, backend, total, extraPreamble, teacherTargets);

    /// <summary>
    /// Evaluates one or several distilled sets of one method (distillation seeds) against the
    /// baselines drawn from the source of <paramref name="data"/>, on its downstream dataset
    /// (<see cref="DistilledSetEvaluation"/>); prints the table and the verdict, and says where
    /// the report is. <paramref name="imageDir"/> is the folder of the image grids relative to
    /// <paramref name="outDir"/> ("" when they are beside the report).
    /// </summary>
    internal static void Evaluate(IReadOnlyList<DistilledSet> sets, Teacher teacher, string teacherPath, string hash,
        EvalDatasets data, EvalSettings settings, string outDir, IBackend backend, Stopwatch total, string extraPreamble,
        float[]? teacherTargets = null, string imageDir = "")
    {
        if (data.Downstream.Test is not { HasLabels: true } || !data.Downstream.Train.HasLabels)
        {
            Console.Error.WriteLine($"{data.DownstreamSpec}: no labelled train/test splits; skipping the evaluation");
            return;
        }
        var set = sets[0];
        var plan = settings.Plan(set.Net.ToConvNet());
        string Img(string file) => imageDir.Length == 0 ? file : imageDir.TrimEnd('/') + "/" + file;
        string preamble = extraPreamble.TrimEnd() + $" Encoders pre-trained for evaluation use the ConvNet's {set.Net.Norm} norm.\n\n" +
            (set.Method == DistillMethod.Mkdt
                ? $"![distilled]({Img(Methods.Mkdt.MkdtRun.GridFile)}) ![initial]({Img(Methods.Mkdt.MkdtRun.InitialGridFile)}) ![loss]({Img(Methods.Mkdt.MkdtRun.LossPlotFile)})\n"
                : $"![distilled]({Img(KrrStRun.GridFile)}) ![random]({Img(KrrStRun.RandomGridFile)}) ![loss]({Img(KrrStRun.LossPlotFile)})\n");
        List<EvalResult> results;
        try
        {
            // Targets a distillation just used stay in memory; otherwise the evaluation reads the
            // rows it needs from the cache (TeacherTargetTable) instead of loading all of them.
            var targets = teacherTargets != null
                ? TeacherTargetTable.InMemory(teacherTargets, teacher.FeatureDim)
                : TeacherTargets.Open(teacher, hash, data.Source.Train, log: Console.Error.WriteLine);
            results = DistilledSetEvaluation.Run(sets, teacher, teacherPath, hash, data, plan, outDir, backend,
                Console.Error.WriteLine, preamble, targets);
        }
        catch (ArgumentException e)
        {
            throw new CliException(e.Message);
        }
        Console.WriteLine(PretrainEvaluation.Table(results));
        string headline = EvalReport.Headline(results, new SeedBlocks(sets.Count, plan.Seeds));
        if (headline.Length > 0) Console.WriteLine(headline);
        Console.WriteLine($"report: {Path.Combine(outDir, "report.md")}  (total {ProgressDisplay.Format(total.Elapsed)})");
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

    /// <summary>--resume's folder, --out, or the method's default folder (the next free "-N" one when the default holds an earlier run).</summary>
    static string OutputFolder(DistillOptions o, string defaultFolder)
    {
        if (o.Resume != null) return o.Resume;
        if (o.Out != null) return o.Out;
        string dir = RunFolder.FreeDefault(defaultFolder);
        if (dir != defaultFolder) Console.Error.WriteLine($"note: {defaultFolder} holds an earlier run; this run writes to {dir}");
        return dir;
    }

    /// <summary>
    /// For a resume, the data and teacher the run recorded (run.json) replace the defaults; a
    /// flag that contradicts them is refused with both values. A fresh run keeps the flags
    /// (the data defaulting to the embedded set).
    /// </summary>
    static void RestoreRecordedInputs(DistillOptions o, string outDir)
    {
        RunRecord? record = null;
        if (o.Resume != null)
        {
            try
            {
                record = RunRecord.Read(outDir);
            }
            catch (InvalidDataException e)
            {
                throw new CliException($"--resume {outDir}: {e.Message}");
            }
            if (record == null) Console.Error.WriteLine($"note: {outDir} has no {RunRecord.FileName} (an older run); resuming on --data {(o.Data.Length > 0 ? o.Data : DataSpec.Default)} as given");
        }
        if (record == null)
        {
            if (o.Data.Length == 0) o.Data = DataSpec.Default;
            return;
        }
        if (o.Data.Length > 0 && SameData(o.Data, record.Data) == false)
            throw new CliException($"--data {o.Data} contradicts the data of the run being resumed ({record.Data}, {Path.Combine(outDir, RunRecord.FileName)}); drop --data to resume it on its own data");
        o.Data = record.Data;
        if (o.Teacher == null && File.Exists(record.Teacher)) o.Teacher = record.Teacher;
        Console.Error.WriteLine($"resume: data {record.Data}, teacher {record.Teacher} (from {RunRecord.FileName})");
    }

    static bool? SameData(string a, string b)
    {
        try
        {
            return DataSpec.Parse(a).ToString() == DataSpec.Parse(b).ToString();
        }
        catch (ArgumentException)
        {
            return a == b;
        }
    }

    /// <summary>Writes run.json for a fresh run; for a resume, checks the teacher against the record.</summary>
    static void RecordInputs(DistillOptions o, string outDir, string method, string teacherPath, string hash)
    {
        var recorded = o.Resume != null ? RunRecord.Read(outDir) : null;
        if (recorded != null)
        {
            if (recorded.TeacherSha256 != hash)
                throw new CliException($"--teacher {teacherPath} (sha256 {hash[..12]}…) is not the run's teacher {recorded.Teacher} (sha256 {recorded.TeacherSha256[..Math.Min(12, recorded.TeacherSha256.Length)]}…); resume without --teacher, or with that teacher");
            return;
        }
        if (o.Resume == null) new RunRecord(method, DataSpec.Parse(o.Data).ToString(), Path.GetFullPath(teacherPath), hash).Write(outDir);
    }

    /// <summary>Takes the output folder for this run before any long work (<see cref="RunFolder"/>).</summary>
    static RunFolder OpenRunFolder(DistillOptions o, string outDir)
    {
        try
        {
            return RunFolder.Open(outDir, o.Resume != null ? "--resume" : "--out", resume: o.Resume != null, overwrite: o.Overwrite);
        }
        catch (RunFolderException e)
        {
            throw new CliException(e.Message);
        }
    }

    static string ResolveTeacher(DistillOptions o, DataSplits splits, IBackend backend) =>
        ResolveTeacher(o.Teacher, o.Cache, o.TeacherEpochs, o.Seed, o.Quiet, o.Data, splits, backend);

    /// <summary>The --teacher file, or the cached teacher of the data (trained, or resumed, under the entry's lock when missing: <see cref="TeacherCache"/>).</summary>
    internal static string ResolveTeacher(string? teacherFile, string? cacheDir, int? teacherEpochs, ulong seed, bool quiet, string dataSpec, DataSplits splits, IBackend backend)
    {
        if (teacherFile != null)
        {
            if (!File.Exists(teacherFile)) throw new CliException($"--teacher: no file at {teacherFile}");
            try
            {
                Safetensors.Read(teacherFile);
            }
            catch (InvalidDataException e)
            {
                throw new CliException($"--teacher {teacherFile}: not a readable teacher file ({e.Message})");
            }
            return teacherFile;
        }
        string cache = cacheDir ?? TeacherCache.DefaultFolder();
        var spec = DataSpec.Parse(dataSpec);
        string path = TeacherCache.EntryPath(cache, spec, teacherEpochs, seed);
        var options = new BarlowTwinsOptions
        {
            Epochs = TeacherEpochs(teacherEpochs, spec),
            Seed = seed,
        };
        try
        {
            using var progress = new TeacherProgress(Console.Error.WriteLine);
            return TeacherCache.GetOrTrain(path, splits.Train, spec.ToString(), options, backend, Console.Error.WriteLine, progress.Report);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--cache {cache}: {e.Message} (set --cache or RAWDISTILL_CACHE to a writable folder)");
        }
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
}
