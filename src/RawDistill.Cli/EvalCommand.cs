namespace RawDistill.Cli;

using System.Diagnostics;
using System.Text.Json;
using CommandLine;
using CommandLine.Text;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Methods.Eval;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Ssl;
using RawDistill.Nn.Models;

[Verb("eval", HelpText = "Evaluate a distilled set: pre-train fresh encoders on it and on baselines (random/k-means real subsets, full data, no pre-training), then linear-probe (and optionally fine-tune) them.")]
public sealed class EvalOptions : EvaluationFlags
{
    [Option("distilled", Required = true, HelpText = "A distilled.safetensors written by `rawdistill distill`, or a comma-separated list of sets of one method and config (distillation seeds): set i is evaluated on its own evaluation seeds i·S … i·S+S−1 and the intervals pool all K·S paired differences.")]
    public string Distilled { get; set; } = "";

    [Option("teacher", Required = true, HelpText = "The teacher file the set was distilled with (targets of the random-subset baseline).")]
    public string Teacher { get; set; } = "";

    [Option("data", HelpText = "Downstream dataset spec (labelled train and test splits) of the probe and fine-tuning, converted to the set's input (bilinear resize; gray repeated to 3 channels, RGB to luma). Default: the source.")]
    public string? Data { get; set; }

    [Option("source", HelpText = "Dataset the baselines are drawn from (random-kd, random-ce, init, kmeans, full). Default: the data recorded in run.json beside the (first) distilled set — the teacher's and the distillation's dataset — else --data, else the embedded fashion-mnist-mini.")]
    public string? Source { get; set; }

    [Option("seeds", Default = 3, HelpText = "Seeds 0..N-1.")]
    public int Seeds { get; set; } = 3;

    [Option("epochs", Default = 100, HelpText = "Pre-training epochs of the KRR-ST protocol (100 as in the main job's evaluation; the paper uses 1000).")]
    public int Epochs { get; set; } = 100;

    [Option("protocol", Default = "krr-st", HelpText = "krr-st (SGD 0.1, wd 1e-3, --epochs) | mkdt (20 epochs, wd 1e-4).")]
    public string Protocol { get; set; } = "krr-st";

    [Option("fractions", Default = "0.01,0.05,0.1,1", HelpText = "Label fractions of the linear probe.")]
    public string Fractions { get; set; } = "0.01,0.05,0.1,1";

    [Option("baselines", Default = "random-kd,random-ce,kmeans,none,teacher", HelpText = EvalSettings.BaselinesHelp)]
    public string Baselines { get; set; } = "random-kd,random-ce,kmeans,none,teacher";

    [Option("out", HelpText = "Folder for report.md, results.csv, results.json (default: eval/ beside the distilled set, eval-2/ … when that holds an earlier report).")]
    public string? Out { get; set; }

    [Option("overwrite", HelpText = "Replace an earlier report in --out (without it, a folder holding one is refused).")]
    public bool Overwrite { get; set; }

    [Option("device", Default = "auto", HelpText = "auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("quiet", HelpText = "No progress display: the results of each cell and the summary only.")]
    public bool Quiet { get; set; }

    static readonly UnParserSettings SkipDefaults = new() { SkipDefault = true };

    public static IEnumerable<Example> Examples =>
    [
        new Example("Evaluate the main job's set with the cached teacher", SkipDefaults, new EvalOptions { Distilled = "runs/krr-st/distilled.safetensors", Teacher = "teacher.safetensors" }),
        new Example("Transfer to the full Fashion-MNIST, 1000 pre-training epochs", SkipDefaults, new EvalOptions { Distilled = "runs/krr-st/distilled.safetensors", Teacher = "teacher.safetensors", Data = "fashion-mnist", Epochs = 1000 }),
        new Example("Two distillation seeds × 3 evaluation seeds, fine-tuning with the reference recipe", SkipDefaults, new EvalOptions { Distilled = "runs/s/seed-0/distilled.safetensors,runs/s/seed-1/distilled.safetensors", Teacher = "teacher.safetensors", FineTune = true }),
        new Example("Baselines from the source, probe on CIFAR-10 (resized, gray repeated)", SkipDefaults, new EvalOptions { Distilled = "runs/krr-st/distilled.safetensors", Teacher = "teacher.safetensors", Source = "fashion-mnist", Data = "cifar10:data/cifar-10-batches-bin" }),
    ];
}

/// <summary>`rawdistill eval`.</summary>
public static class EvalCommand
{
    /// <summary>
    /// The source dataset of the baselines and where that choice came from: --source, else the
    /// data the run beside the set recorded (run.json: what the teacher and the distillation
    /// saw), else --data, else the embedded default.
    /// </summary>
    static (string Spec, string From) SourceOf(EvalOptions o, string setDir)
    {
        if (o.Source != null) return (o.Source, "--source");
        RunRecord? record = null;
        try
        {
            record = RunRecord.Read(setDir);
        }
        catch (InvalidDataException e)
        {
            Console.Error.WriteLine($"warning: {e.Message}; the source of the baselines is --data");
        }
        if (record != null) return (record.Data, $"the distillation's data, {Path.Combine(setDir, RunRecord.FileName)}");
        return o.Data != null ? (o.Data, "--data; no run.json beside the set") : (RawDistill.Data.DataSpec.Default, "the default; no run.json beside the set and no --data");
    }

    /// <summary>Whether two data specs name the same data (as DataSpec prints them).</summary>
    static bool SameData(string a, string b)
    {
        try
        {
            return RawDistill.Data.DataSpec.Parse(a).ToString() == RawDistill.Data.DataSpec.Parse(b).ToString();
        }
        catch (ArgumentException)
        {
            return a == b;
        }
    }

    public static int Run(EvalOptions o)
    {
        var total = Stopwatch.StartNew();
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        var paths = o.Distilled.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (paths.Length == 0) throw new CliException("--distilled: expected a distilled set or a comma-separated list of them");
        if (!File.Exists(o.Teacher)) throw new CliException($"--teacher: no file at {o.Teacher}");
        var sets = new List<DistilledSet>();
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new CliException($"--distilled: no file at {path}");
            try
            {
                sets.Add(DistilledSet.Load(path));
            }
            catch (InvalidDataException e)
            {
                throw new CliException(e.Message);
            }
        }
        using var teacher = Teacher.Load(o.Teacher, backend);
        string hash = DistillCommand.Sha256(o.Teacher);
        var mismatches = sets.Select((set, i) => set.TeacherHash.Length > 0 && set.TeacherHash != hash
            ? $"warning: {paths[i]} was distilled with teacher sha256 {set.TeacherHash[..Math.Min(12, set.TeacherHash.Length)]}…, not this one ({hash[..12]}…); its targets live in another teacher's feature space"
            : "").Where(m => m.Length > 0).ToList();
        foreach (var m in mismatches) Console.Error.WriteLine(m);
        var settings = EvalSettings.Of(o, o.Seeds, o.Protocol, o.Epochs, o.Fractions, o.Baselines);
        settings.Validate(); // flags first: a typo costs nothing
        // The report goes beside the (first) set in eval/ (eval-2, … when that holds an earlier report), never over distill's own report.
        string setDir = Path.GetDirectoryName(Path.GetFullPath(paths[0]))!;
        string outDir = o.Out ?? RunFolder.FreeDefault(Path.Combine(setDir, "eval"));
        var (sourceSpec, sourceFrom) = SourceOf(o, setDir);
        RunFolder folder;
        try
        {
            folder = RunFolder.Open(outDir, "--out", resume: false, overwrite: o.Overwrite);
        }
        catch (RunFolderException e)
        {
            throw new CliException(e.Message);
        }
        using var _ = folder;
        string downSpec = o.Data ?? sourceSpec;
        var source = DistillCommand.LoadData(sourceSpec);
        var data = SameData(sourceSpec, downSpec) ? EvalDatasets.Same(source, sourceSpec) : new EvalDatasets(source, sourceSpec, DistillCommand.LoadData(downSpec), downSpec);
        if (data.Downstream.Test is { HasLabels: true } && data.Downstream.Train.HasLabels)
        {
            // Set i runs on its own block of seeds: the plan counts every block.
            var plan = new WorkPlan();
            DistillCommand.AddEvaluation(plan, settings with { Seeds = settings.Seeds * sets.Count }, sets[0].Count, data.Downstream);
            DistillCommand.Print(plan, backend);
        }
        string described = sets.Count == 1
            ? $"Distilled set `{paths[0]}` ({sets[0].Method.Title()}, config `{sets[0].ConfigJson}`).\n"
            : $"Distilled sets ({sets.Count}, one per distillation seed): {string.Join(", ", paths.Select((p, i) => $"`{p}` (set {i + 1})"))}; {sets[0].Method.Title()}, config of set 1 `{sets[0].ConfigJson}`.\n";
        DistillCommand.Evaluate(sets, teacher, o.Teacher, hash, data, settings, outDir, backend, total,
            described + $"Source of the baselines: `{sourceSpec}` ({sourceFrom}).\n" + string.Concat(mismatches.Select(m => $"**{m}**\n")),
            imageDir: Path.GetRelativePath(Path.GetFullPath(outDir), setDir).Replace('\\', '/'));
        return 0;
    }
}
