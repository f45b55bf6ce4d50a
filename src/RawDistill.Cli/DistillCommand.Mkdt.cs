namespace RawDistill.Cli;

using System.Diagnostics;
using System.Globalization;
using CommandLine;
using RawDistill.Methods.Mkdt;
using RawDistill.Methods.Ssl;

/// <summary>The flags of `distill --method mkdt` (the shared ones: -m, --steps, --preset, --seed, --checkpoint-every, --out, --resume).</summary>
public sealed partial class DistillOptions
{
    [Option("experts-dir", HelpText = "MKDT: the expert store (rawdistill experts train); missing experts are trained first. Default: OUT/experts.")]
    public string? ExpertsDir { get; set; }

    [Option("num-experts", HelpText = "MKDT: K, experts to train when the store has to be made (preset cpu: 3; reference: 100).")]
    public int? NumExperts { get; set; }

    [Option("expert-train-epochs", HelpText = "MKDT: epochs per expert when they have to be trained (preset cpu: 2; reference: 20).")]
    public int? ExpertTrainEpochs { get; set; }

    [Option("syn-steps", HelpText = "MKDT: N, synthetic SGD steps per iteration.")]
    public int? SynSteps { get; set; }

    [Option("expert-epochs", HelpText = "MKDT: M, expert epochs between the start θ_t and the target θ_{t+M}.")]
    public int? ExpertEpochs { get; set; }

    [Option("max-start", HelpText = "MKDT: start epochs t are drawn from 0..max_start−1.")]
    public int? MaxStart { get; set; }

    [Option("syn-batch", HelpText = "MKDT: minibatch of the synthetic steps (256).")]
    public int? SynBatch { get; set; }

    [Option("lr-img", HelpText = "MKDT: learning rate of X (normalized space; reference 1e3 at 2 %, 1e4 at 5 %, 1e5 Tiny ImageNet).")]
    public double? LrImg { get; set; }

    [Option("lr-y", HelpText = "MKDT: learning rate of Y (reference 1; preset cpu 10).")]
    public double? LrY { get; set; }

    [Option("lr-lr", HelpText = "MKDT: learning rate of η (reference 1e-4).")]
    public double? LrLr { get; set; }

    [Option("eta-init", HelpText = "MKDT: η at the start (reference 0.1).")]
    public double? EtaInit { get; set; }

    [Option("update", HelpText = "MKDT: sgd (the gradient as it is; reference) | normalized (each of X's, Y's, η's gradients divided by its RMS, so an element moves about lr per step; then lr ~ 1e-3–1e-2).")]
    public string? Update { get; set; }

    [Option("init", HelpText = "MKDT: how X starts: high-loss (reference) | high-loss-balanced | random.")]
    public string? Init { get; set; }

    [Option("expert-sampling", HelpText = "MKDT: random (an expert drawn every iteration) | legacy (the reference code's one expert all run).")]
    public string? ExpertSampling { get; set; }
}

public static partial class DistillCommand
{
    /// <summary>`distill --method mkdt`: teacher → targets (cached) → experts (trained when missing) → trajectory matching → evaluation.</summary>
    static int RunMkdt(DistillOptions o)
    {
        var total = Stopwatch.StartNew();
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        string outDir = OutputFolder(o, "runs/mkdt");
        string ckpt = Path.Combine(outDir, MkdtRun.CheckpointFile);
        if (o.Resume != null && !File.Exists(ckpt)) throw new CliException($"--resume {o.Resume}: no {MkdtRun.CheckpointFile} there");
        using var folder = OpenRunFolder(o, outDir);
        RestoreRecordedInputs(o, outDir);
        MkdtConfig config;
        ExpertConfig expertConfig;
        string expertsDir;
        try
        {
            if (o.Resume != null)
                (config, expertsDir) = MkdtDistiller.ReadCheckpointHeader(ckpt);
            else
            {
                config = BuildMkdtConfig(o);
                expertsDir = o.ExpertsDir ?? Path.Combine(outDir, "experts");
            }
            config.Validate();
            expertConfig = ExpertConfig.Preset(o.Preset) with { Seed = o.Seed };
            if (o.NumExperts is { } k) expertConfig = expertConfig with { Experts = k };
            if (o.ExpertTrainEpochs is { } ee) expertConfig = expertConfig with { Epochs = ee };
            expertConfig.Validate();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            throw new CliException(e.Message);
        }
        var evalSettings = EvalSettingsOf(o, DistillMethod.Mkdt);
        var splits = LoadData(o.Data);
        if (config.SyntheticCount > splits.Train.Count)
            throw new CliException($"-m {config.SyntheticCount}: more synthetic images than the {splits.Train.Count} training images of {o.Data}");
        PrintPlan(o, splits, backend, evalSettings, config.SyntheticCount,
            plan => AddMkdt(plan, config, expertConfig, expertsDir, o.Resume != null ? CheckpointStep(ckpt) : 0, splits));
        string teacherPath = ResolveTeacher(o, splits, backend);
        using var teacher = Teacher.Load(teacherPath, backend);
        string hash = Sha256(teacherPath);
        RecordInputs(o, outDir, "mkdt", teacherPath, hash);
        var real = teacher.Fit(splits.Train);
        Console.Error.WriteLine($"teacher: {teacherPath} ({teacher.Config.Arch}, {teacher.FeatureDim}-d, sha256 {hash[..12]}…)");
        Console.Error.WriteLine($"mkdt: {config.ToJson()}");
        var targets = TeacherTargets.Get(teacher, hash, splits.Train, log: Console.Error.WriteLine);

        MkdtDistiller distiller;
        try
        {
            ExpertStore store;
            if (o.Resume != null) store = ExpertStore.Open(expertsDir);
            else
            {
                var clock = Stopwatch.StartNew();
                if (File.Exists(Path.Combine(expertsDir, ExpertStore.ManifestFile)))
                {
                    // An existing store keeps its own training settings; only its unfinished experts (and more, with --num-experts) are trained.
                    var existing = ExpertStore.Open(expertsDir).Manifest.Config;
                    expertConfig = existing with { Experts = Math.Max(existing.Experts, o.NumExperts ?? 0) };
                }
                store = ExpertTrainer.TrainShard(expertsDir, expertConfig, teacher, hash, splits.Train, (0, 1), backend,
                    o.Quiet ? null : Console.Error.WriteLine, targets);
                Console.Error.WriteLine($"experts: {store.Finished().Length} finished in {expertsDir} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
            if (o.Resume != null)
            {
                distiller = MkdtDistiller.Resume(ckpt, store, real, targets, backend);
                Console.Error.WriteLine($"resuming {ckpt} at iteration {distiller.StepsDone}/{config.Iterations}");
            }
            else
            {
                Directory.CreateDirectory(outDir);
                distiller = new MkdtDistiller(config, store, real, targets, hash, backend, Console.Error.WriteLine);
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            throw new CliException(e.Message);
        }

        using (distiller)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJson());
            try
            {
                using var progress = ProgressDisplay.Start("iteration", config.Iterations, distiller.StepsDone, Console.Error.WriteLine);
                MkdtRun.Run(distiller, outDir, p =>
                {
                    bool ck = p.Step % config.CheckpointEvery == 0 || p.Step == p.Steps;
                    progress.Report(p.Step, detail: string.Create(CultureInfo.InvariantCulture,
                        $"loss {p.Loss:G5} η {p.Eta:G4} (expert {p.Expert}, t {p.Start}; |∇X| {p.GradXNorm:G3} |∇Y| {p.GradYNorm:G3} ∇η {p.GradEta:G3}){(ck ? " (checkpoint)" : "")}"), keep: ck);
                });
            }
            catch (MkdtDivergedException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                Console.Error.WriteLine($"last good checkpoint: {ckpt}");
                return 3;
            }
            Console.Error.WriteLine($"distilled: {Path.Combine(outDir, MkdtRun.DistilledFile)} (η = {distiller.Eta.Item():G4}), {MkdtRun.GridFile} next to {MkdtRun.InitialGridFile}, {MkdtRun.LossPlotFile}, {MkdtRun.MetricsFile}");
            if (o.EvalSeeds <= 0) return 0;
            Evaluate(distiller.ToDistilledSet(), teacher, teacherPath, hash, splits, o.Data, evalSettings, outDir, backend, total,
                $"MKDT config: `{config.ToJson()}`; experts `{expertsDir}`.\n", targets);
        }
        return 0;
    }

    static MkdtConfig BuildMkdtConfig(DistillOptions o)
    {
        var c = MkdtConfig.Preset(o.Preset);
        if (o.M is { } m) c = c with { SyntheticCount = m };
        if (o.Steps is { } s) c = c with { Iterations = s };
        if (o.SynSteps is { } n) c = c with { SynSteps = n };
        if (o.ExpertEpochs is { } me) c = c with { ExpertEpochs = me };
        if (o.MaxStart is { } ms) c = c with { MaxStart = ms };
        if (o.SynBatch is { } b) c = c with { Batch = b };
        if (o.LrImg is { } li) c = c with { LrImg = li };
        if (o.LrY is { } ly) c = c with { LrY = ly };
        if (o.LrLr is { } ll) c = c with { LrLr = ll };
        if (o.EtaInit is { } ei) c = c with { EtaInit = ei };
        if (o.Init != null) c = c with { Init = HighLossInit.Parse(o.Init) };
        if (o.Update != null)
            c = c with
            {
                Update = o.Update.ToLowerInvariant() switch
                {
                    "sgd" => MkdtUpdate.Sgd,
                    "normalized" => MkdtUpdate.Normalized,
                    _ => throw new CliException($"--update {o.Update}: expected sgd or normalized"),
                },
            };
        if (o.ExpertSampling != null)
            c = c with
            {
                ExpertSampling = o.ExpertSampling.ToLowerInvariant() switch
                {
                    "random" => Methods.Mkdt.ExpertSampling.Random,
                    "legacy" => Methods.Mkdt.ExpertSampling.Legacy,
                    _ => throw new CliException($"--expert-sampling {o.ExpertSampling}: expected random or legacy"),
                },
            };
        if (o.CheckpointEvery is { } k) c = c with { CheckpointEvery = k };
        return c with { Seed = o.Seed };
    }
}
