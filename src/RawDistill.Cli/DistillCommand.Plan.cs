namespace RawDistill.Cli;

using System.Globalization;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Mkdt;
using RawDistill.Methods.Ssl;

/// <summary>
/// The plan line printed before long work (issue 14: a new dataset silently took 40 minutes, 36
/// of them a teacher): which phases will run and about how long each takes (<see cref="CostModel"/>).
/// </summary>
public static partial class DistillCommand
{
    /// <summary>Prints the plan of a `distill` run: the teacher when it has to be trained, the method, the evaluation.</summary>
    static void PrintPlan(DistillOptions o, DataSplits splits, IBackend backend, EvalSettings eval, int m, Action<WorkPlan> method)
    {
        var plan = new WorkPlan();
        AddTeacher(plan, o.Teacher, o.Cache, o.TeacherEpochs, o.Seed, o.Data, splits);
        method(plan);
        if (o.EvalSeeds > 0 && splits.Test is { HasLabels: true } && splits.Train.HasLabels) AddEvaluation(plan, eval, m, splits);
        Print(plan, backend);
    }

    internal static void Print(WorkPlan plan, IBackend backend)
    {
        string text = plan.ToText(gpu: !backend.Name.StartsWith("cpu", StringComparison.OrdinalIgnoreCase));
        if (text.Length > 0) Console.Error.WriteLine(text);
    }

    /// <summary>The teacher phase, when no --teacher is given and the cache holds none (or only an interrupted one).</summary>
    internal static void AddTeacher(WorkPlan plan, string? teacherFile, string? cacheDir, int? teacherEpochs, ulong seed, string dataSpec, DataSplits splits)
    {
        if (teacherFile != null) return;
        var spec = DataSpec.Parse(dataSpec);
        int epochs = TeacherEpochs(teacherEpochs, spec);
        int left = TeacherCache.EpochsToTrain(TeacherCache.EntryPath(cacheDir ?? TeacherCache.DefaultFolder(), spec, teacherEpochs, seed), epochs);
        if (left == 0) return;
        var train = splits.Train;
        plan.Add($"train the teacher {left}{(left < epochs ? $" more of {epochs}" : "")} epochs on {WorkPlan.Count(train.Count)} {train.Height}×{train.Width} images (cached for later runs)",
            CostModel.TeacherSeconds(train.Count, left, train.Height, train.Width));
    }

    /// <summary>The teacher's default epochs: 10 on the embedded subset (the main job's budget), else 100.</summary>
    internal static int TeacherEpochs(int? given, DataSpec spec) => given ?? (spec.Format == DataFormat.FashionMnistMini ? 10 : 100);

    static void AddKrrSt(WorkPlan plan, KrrStConfig c, int done, DataSplits splits) =>
        plan.Add($"distill {c.Steps - done} KRR-ST steps (m {c.SyntheticCount})",
            CostModel.KrrStSeconds(c.Steps - done, c.SyntheticCount, c.RealBatch, done == 0 ? c.PoolSize : 0, c.MaxSteps, splits.Train.Height, splits.Train.Width));

    static void AddMkdt(WorkPlan plan, MkdtConfig c, ExpertConfig experts, string expertsDir, int done, DataSplits splits)
    {
        int expertEpochsLeft = ExpertEpochsToTrain(expertsDir, experts);
        if (done == 0 && expertEpochsLeft > 0)
            plan.Add($"train {expertEpochsLeft} expert epochs", CostModel.ExpertSeconds(1, expertEpochsLeft, splits.Train.Count, splits.Train.Height, splits.Train.Width));
        plan.Add($"distill {c.Iterations - done} MKDT iterations (m {c.SyntheticCount})",
            CostModel.MkdtSeconds(c.Iterations - done, c.SynSteps, Math.Min(c.Batch, c.SyntheticCount), splits.Train.Height, splits.Train.Width));
    }

    /// <summary>Expert epochs still to train in the store (all of them when there is none yet).</summary>
    internal static int ExpertEpochsToTrain(string dir, ExpertConfig config)
    {
        if (!File.Exists(Path.Combine(dir, ExpertStore.ManifestFile))) return config.Experts * config.Epochs;
        try
        {
            var store = ExpertStore.Open(dir);
            int k = Math.Max(store.Manifest.Config.Experts, config.Experts), e = store.Manifest.Config.Epochs;
            return Enumerable.Range(0, k).Sum(i => i < store.Manifest.Config.Experts ? e - Math.Min(e, store.Status(i).EpochsDone) : e);
        }
        catch (InvalidDataException)
        {
            return config.Experts * config.Epochs;
        }
    }

    internal static void AddEvaluation(WorkPlan plan, EvalSettings eval, int m, DataSplits splits)
    {
        var baselines = eval.BaselineList();
        int fixedSets = baselines.Count(b => b is "none" or "teacher");
        bool full = baselines.Contains("full");
        int pretrained = 1 + baselines.Count - fixedSets - (full ? 1 : 0);
        var fractions = ParseFractions(eval.Fractions);
        int epochs = eval.Pretrain().Epochs;
        plan.Add($"evaluate {pretrained + fixedSets + (full ? 1 : 0)} sets × {eval.Seeds} seeds",
            CostModel.EvaluationSeconds(eval.Seeds, pretrained, fixedSets, m, epochs, full, eval.FullDataEpochs, splits.Train.Count, splits.Test!.Count,
                fractions, splits.Train.Height, splits.Train.Width));
    }

    /// <summary>Steps already done in a checkpoint (0 when unreadable: the resume itself will say why).</summary>
    static int CheckpointStep(string ckpt)
    {
        try
        {
            return Safetensors.Read(ckpt).Metadata.TryGetValue("step", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 0;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
        {
            return 0;
        }
    }
}
