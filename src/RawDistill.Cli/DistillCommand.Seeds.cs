namespace RawDistill.Cli;

using System.Diagnostics;
using CommandLine;
using RawDistill.Data;
using RawDistill.Methods.Common;
using RawDistill.Methods.Eval;
using RawDistill.Methods.Ssl;

public sealed partial class DistillOptions
{
    [Option("distill-seeds", Default = 1, HelpText = "K > 1: run K distillations with seeds --seed … --seed+K−1 into OUT/seed-0 … OUT/seed-(K−1) (one teacher for all), then one joint evaluation in OUT: set i on evaluation seeds i·S … i·S+S−1 (S = --eval-seeds), intervals over all K·S paired differences.")]
    public int DistillSeeds { get; set; } = 1;

    /// <summary>A copy whose changes leave this one alone (one distillation seed of several).</summary>
    internal DistillOptions Clone() => (DistillOptions)MemberwiseClone();
}

public static partial class DistillCommand
{
    /// <summary>Folder of distillation seed <paramref name="i"/> inside a --distill-seeds run.</summary>
    internal static string SeedFolder(string outDir, int i) => Path.Combine(outDir, $"seed-{i}");

    /// <summary>
    /// `distill --distill-seeds K`: resolves one teacher (the cached teacher of --seed, or
    /// --teacher), runs K distillations (seeds --seed+i, no evaluation) into OUT/seed-i, then
    /// evaluates the K sets together (<see cref="DistilledSetEvaluation"/>, <see cref="SeedBlocks"/>)
    /// into OUT.
    /// </summary>
    static int RunSeeds(DistillOptions o, DistillMethod method)
    {
        if (o.DistillSeeds < 1) throw new CliException("--distill-seeds: expected a positive count");
        if (o.Resume != null)
            throw new CliException($"--distill-seeds with --resume: resume each {SeedFolder(o.Resume, 0)} … folder on its own (--resume DIR/seed-i), then evaluate them with `rawdistill eval --distilled DIR/seed-0/distilled.safetensors,DIR/seed-1/distilled.safetensors,…`");
        var total = Stopwatch.StartNew();
        if (o.Data.Length == 0) o.Data = DataSpec.Default;
        var evalSettings = EvalSettingsOf(o, method); // flags checked before hours of work
        string outDir = OutputFolder(o, method == DistillMethod.Mkdt ? "runs/mkdt" : "runs/krr-st");
        using var folder = OpenRunFolder(o, outDir);
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        var splits = LoadData(o.Data);
        // One teacher for every seed: the sets must live in one feature space to be one method's K draws.
        string teacherPath = ResolveTeacher(o, splits, backend);
        string hash = Sha256(teacherPath);
        RecordInputs(o, outDir, method.Name(), teacherPath, hash);
        var paths = new List<string>();
        for (int i = 0; i < o.DistillSeeds; i++)
        {
            var one = o.Clone();
            one.DistillSeeds = 1;
            one.Seed = o.Seed + (ulong)i;
            one.Out = SeedFolder(outDir, i);
            one.Teacher = teacherPath;
            one.EvalSeeds = 0;
            Console.Error.WriteLine($"distillation seed {one.Seed} ({i + 1}/{o.DistillSeeds}) → {one.Out}");
            int rc = Run(one);
            if (rc != 0) return rc;
            paths.Add(Path.Combine(one.Out, Methods.KrrSt.KrrStRun.DistilledFile));
        }
        if (o.EvalSeeds <= 0) return 0;
        var sets = paths.Select(DistilledSet.Load).ToList();
        using var teacher = Teacher.Load(teacherPath, backend);
        Evaluate(sets, teacher, teacherPath, hash, EvalDatasets.Same(splits, o.Data), evalSettings, outDir, backend, total,
            $"{o.DistillSeeds} {method.Title()} runs with distillation seeds {o.Seed} … {o.Seed + (ulong)o.DistillSeeds - 1}: {string.Join(", ", paths.Select(p => $"`{Path.GetRelativePath(outDir, p)}`"))} (each folder has its config and curves).\n",
            imageDir: "seed-0");
        return 0;
    }
}
