namespace RawDistill.Cli;

using System.Diagnostics;
using System.Text.Json;
using CommandLine;
using CommandLine.Text;
using RawDistill.IO;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Ssl;
using RawDistill.Nn.Models;

[Verb("eval", HelpText = "Evaluate a distilled set: pre-train fresh encoders on it and on baselines (random/k-means real subsets, full data, no pre-training), then linear-probe (and optionally fine-tune) them.")]
public sealed class EvalOptions : EvaluationFlags
{
    [Option("distilled", Required = true, HelpText = "A distilled.safetensors written by `rawdistill distill`.")]
    public string Distilled { get; set; } = "";

    [Option("teacher", Required = true, HelpText = "The teacher file the set was distilled with (targets of the random-subset baseline).")]
    public string Teacher { get; set; } = "";

    [Option("data", Default = RawDistill.Data.DataSpec.Default, HelpText = "Downstream dataset spec (labelled train and test splits), resized to the encoder's input.")]
    public string Data { get; set; } = RawDistill.Data.DataSpec.Default;

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
    ];
}

/// <summary>`rawdistill eval`.</summary>
public static class EvalCommand
{
    public static int Run(EvalOptions o)
    {
        var total = Stopwatch.StartNew();
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        if (!File.Exists(o.Distilled)) throw new CliException($"--distilled: no file at {o.Distilled}");
        if (!File.Exists(o.Teacher)) throw new CliException($"--teacher: no file at {o.Teacher}");
        DistilledSet set;
        try
        {
            set = DistilledSet.Load(o.Distilled);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(e.Message);
        }
        using var teacher = Teacher.Load(o.Teacher, backend);
        string hash = DistillCommand.Sha256(o.Teacher);
        string mismatch = set.TeacherHash.Length > 0 && set.TeacherHash != hash
            ? $"warning: the set was distilled with teacher sha256 {set.TeacherHash[..Math.Min(12, set.TeacherHash.Length)]}…, not this one ({hash[..12]}…); its targets live in another teacher's feature space"
            : "";
        if (mismatch.Length > 0) Console.Error.WriteLine(mismatch);
        var settings = new EvalSettings(o.Seeds, o.Protocol, o.Epochs, o.Fractions, o.Baselines, o.FullDataEpochs, o.FineTuneEpochs, o.FineTuneFractions, o.Archs, o.Probe);
        settings.Validate(); // flags first: a typo costs nothing
        // The report goes beside the set in eval/ (eval-2, … when that holds an earlier report), never over distill's own report.
        string outDir = o.Out ?? RunFolder.FreeDefault(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(o.Distilled))!, "eval"));
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
        var splits = DistillCommand.LoadData(o.Data);
        if (splits.Test is { HasLabels: true } && splits.Train.HasLabels)
        {
            var plan = new WorkPlan();
            DistillCommand.AddEvaluation(plan, settings, set.Count, splits);
            DistillCommand.Print(plan, backend);
        }
        DistillCommand.Evaluate(set, teacher, o.Teacher, hash, splits, o.Data, settings,
            outDir, backend, total, $"Distilled set `{o.Distilled}` ({set.Method.Title()}, config `{set.ConfigJson}`).\n" +
            (mismatch.Length > 0 ? $"**{mismatch}**\n" : ""));
        return 0;
    }
}
