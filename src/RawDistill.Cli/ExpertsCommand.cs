namespace RawDistill.Cli;

using System.Globalization;
using CommandLine;
using CommandLine.Text;
using RawDistill.Methods.Mkdt;
using RawDistill.Methods.Ssl;

[Verb("experts", HelpText = "MKDT stage 1: train expert trajectories (students regressing onto the teacher's representations, θ saved every epoch), or show a store's status.")]
public sealed class ExpertsOptions
{
    [Value(0, MetaName = "action", Required = true, HelpText = "train | status")]
    public string Action { get; set; } = "";

    [Option("out", Default = "runs/experts", HelpText = "The expert store (folder shared by every shard).")]
    public string Out { get; set; } = "runs/experts";

    [Option("data", Default = RawDistill.Data.DataSpec.Default, HelpText = "Dataset spec (the training split is used).")]
    public string Data { get; set; } = RawDistill.Data.DataSpec.Default;

    [Option("teacher", HelpText = "Teacher file. Default: the cached teacher for --data and --seed (as `distill` uses), trained on first use.")]
    public string? Teacher { get; set; }

    [Option("teacher-epochs", HelpText = "Epochs when the teacher has to be trained.")]
    public int? TeacherEpochs { get; set; }

    [Option("cache", HelpText = "Folder of cached teachers (default $RAWDISTILL_CACHE or ~/.cache/rawdistill).")]
    public string? Cache { get; set; }

    [Option("preset", Default = "cpu", HelpText = "cpu (3 experts × 2 epochs, ConvNet-32×3) | cifar10 | cifar100 | tinyimagenet (the reference: 100 × 20, ConvNet-128, depth 4 at 64 px).")]
    public string Preset { get; set; } = "cpu";

    [Option("experts", HelpText = "K, experts in the store.")]
    public int? Experts { get; set; }

    [Option("epochs", HelpText = "Epochs per expert.")]
    public int? Epochs { get; set; }

    [Option("lr", HelpText = "SGD learning rate (0.1).")]
    public double? Lr { get; set; }

    [Option("batch", HelpText = "Minibatch size (256).")]
    public int? Batch { get; set; }

    [Option("widths", HelpText = "Student ConvNet widths, e.g. 128,128,128.")]
    public string? Widths { get; set; }

    [Option("norm", HelpText = "Student normalization: instance (reference) | batch | none.")]
    public string? Norm { get; set; }

    [Option("shard", Default = "0/1", HelpText = "i/n: train only experts k ≡ i (mod n); run n of these (e.g. a Slurm job array: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT) into one shared --out.")]
    public string Shard { get; set; } = "0/1";

    [Option("seed", Default = 0UL, HelpText = "Seed of the experts (and of the cached teacher).")]
    public ulong Seed { get; set; }

    [Option("device", Default = "auto", HelpText = "auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("quiet", HelpText = "Fewer lines.")]
    public bool Quiet { get; set; }

    static readonly UnParserSettings SkipDefaults = new() { SkipDefault = true };

    public static IEnumerable<Example> Examples =>
    [
        new Example("Train the CPU preset's experts for the embedded data", SkipDefaults, new ExpertsOptions { Action = "train" }),
        new Example("One of 8 shards of the reference experts (a Slurm array task)", SkipDefaults,
            new ExpertsOptions { Action = "train", Data = "cifar10:/data/cifar-10-batches-bin", Teacher = "r18.safetensors", Preset = "cifar10", Out = "/shared/experts", Shard = "3/8" }),
        new Example("Which experts are finished", SkipDefaults, new ExpertsOptions { Action = "status", Out = "/shared/experts" }),
    ];
}

/// <summary>`rawdistill experts train|status`.</summary>
public static class ExpertsCommand
{
    public static int Run(ExpertsOptions o)
    {
        switch (o.Action.ToLowerInvariant())
        {
            case "status":
                return Status(o.Out);
            case "train":
                break;
            default:
                throw new CliException($"experts {o.Action}: expected train or status");
        }
        ExpertConfig config;
        (int, int) shard;
        try
        {
            config = BuildConfig(o);
            config.Validate();
            shard = ExpertTrainer.ParseShard(o.Shard);
        }
        catch (ArgumentException e)
        {
            throw new CliException(e.Message);
        }
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        var splits = DistillCommand.LoadData(o.Data);
        var plan = new WorkPlan();
        DistillCommand.AddTeacher(plan, o.Teacher, o.Cache, o.TeacherEpochs, o.Seed, o.Data, splits);
        int expertEpochs = DistillCommand.ExpertEpochsToTrain(o.Out, config) / Math.Max(1, shard.Item2);
        if (expertEpochs > 0)
            plan.Add($"train {expertEpochs} expert epochs{(shard.Item2 > 1 ? $" (shard {o.Shard})" : "")}",
                CostModel.ExpertSeconds(1, expertEpochs, splits.Train.Count, splits.Train.Height, splits.Train.Width));
        DistillCommand.Print(plan, backend);
        string teacherPath = DistillCommand.ResolveTeacher(o.Teacher, o.Cache, o.TeacherEpochs, o.Seed, o.Quiet, o.Data, splits, backend);
        using var teacher = Teacher.Load(teacherPath, backend);
        string hash = DistillCommand.Sha256(teacherPath);
        Console.Error.WriteLine($"experts: {config.ToJson()} shard {o.Shard} → {o.Out}");
        try
        {
            var store = ExpertTrainer.TrainShard(o.Out, config, teacher, hash, splits.Train, shard, backend, Console.Error.WriteLine);
            Console.Error.WriteLine($"experts: {store.Finished().Length}/{config.Experts} finished in {o.Out}");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new CliException(e.Message);
        }
        return 0;
    }

    static int Status(string dir)
    {
        ExpertStore store;
        try
        {
            store = ExpertStore.Open(dir);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(e.Message);
        }
        var m = store.Manifest;
        Console.WriteLine($"{dir}: {m.Config.Experts} experts × {m.Config.Epochs} epochs, student {m.Net.ToJson()}, |θ| = {m.ParameterCount}, teacher {m.TeacherHash[..Math.Min(12, m.TeacherHash.Length)]}…, {m.Dataset} ({m.Images} images)");
        int finished = 0;
        for (int k = 0; k < m.Config.Experts; k++)
        {
            var s = store.Status(k);
            if (s.Finished) finished++;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  expert {k,3}: {(s.Finished ? "finished" : s.EpochsDone > 0 ? $"{s.EpochsDone}/{m.Config.Epochs} epochs (resumable)" : "not started")}"));
        }
        Console.WriteLine($"{finished}/{m.Config.Experts} finished");
        return 0;
    }

    internal static ExpertConfig BuildConfig(ExpertsOptions o)
    {
        var c = ExpertConfig.Preset(o.Preset);
        if (o.Experts is { } k) c = c with { Experts = k };
        if (o.Epochs is { } e) c = c with { Epochs = e };
        if (o.Lr is { } lr) c = c with { Lr = lr };
        if (o.Batch is { } b) c = c with { Batch = b };
        if (o.Widths != null) c = c with { Widths = DistillCommand.ParseInts(o.Widths, "--widths") };
        if (o.Norm != null) c = c with { Norm = o.Norm.ToLowerInvariant() };
        return c with { Seed = o.Seed };
    }
}
