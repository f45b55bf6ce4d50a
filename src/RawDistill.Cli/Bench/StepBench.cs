namespace RawDistill.Cli.Bench;

using System.Diagnostics;
using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Diagnostics.Profiling;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Ssl;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>Median milliseconds of one phase over the instrumented repetitions.</summary>
public sealed record PhaseRow(string Phase, double MedianMs);

/// <summary>
/// One end-to-end step benchmark. <see cref="TotalMs"/> is the median of uninstrumented steps
/// (no timer attached, one synchronize at the end); <see cref="InstrumentedTotalMs"/> the median
/// of steps with the phase timer attached (a synchronize at every phase boundary), whose phases
/// sum to <see cref="PhaseSumMs"/> (median over repetitions of the per-step sums). The gap
/// between the last two is time outside every phase (loss read-back, scope disposal).
/// </summary>
public sealed record StepBenchResult(
    string Step, string Config, string Device, int Warmup, int Reps,
    double TotalMs, double InstrumentedTotalMs, double PhaseSumMs,
    IReadOnlyList<PhaseRow> Phases, IReadOnlyList<PhaseRow> Extra, IReadOnlyDictionary<string, string> Shapes, string Notes)
{
    /// <summary>Peak bytes of live tensor storages during the uninstrumented steps, above those live before them (the backend's MemoryMeter); -1 when not measured.</summary>
    public long PeakBytes { get; init; } = -1;
}

/// <summary>The shapes of one benchmark configuration (fmnist = the CPU defaults of <c>rawdistill distill</c>, cifar100 = the reference).</summary>
public sealed record StepShapes(string Name, int Channels, int Size, string TeacherArch, KrrStConfig Krr, BarlowTwinsOptions Bt)
{
    /// <summary>The configurations by name: fmnist | cifar100.</summary>
    public static StepShapes Get(string name) => name.ToLowerInvariant() switch
    {
        "fmnist" => new("fmnist", 1, 28, "convnet", KrrStConfig.CpuDefault(), new BarlowTwinsOptions()),
        "cifar100" => new("cifar100", 3, 32, "resnet18", KrrStConfig.Cifar100(), new BarlowTwinsOptions { Projector = [2048, 2048, 2048] }),
        _ => throw new CliException($"--config: expected fmnist or cifar100, got '{name}'"),
    };
}

/// <summary>
/// Times one KRR-ST outer step (<see cref="KrrStDistiller.Step"/>) and one Barlow Twins step
/// (<see cref="BarlowTwinsTrainer.TrainStep"/>) end to end and by phase, on random images of the
/// configuration's geometry (timing does not depend on pixel values) with a freshly initialized
/// teacher of the configuration's architecture. benchmarks/pytorch/krr_step.py and bt_step.py
/// do the same in PyTorch.
/// </summary>
public static class StepBench
{
    /// <summary>Random u8 images.</summary>
    public static ImageDataset RandomImages(int count, int channels, int size, ulong seed)
    {
        var bytes = new byte[(long)count * channels * size * size];
        new System.Random((int)seed).NextBytes(bytes);
        return new ImageDataset("random", bytes, count, channels, size, size);
    }

    static NormalizationStats Stats(int channels) =>
        new(Enumerable.Repeat(0.5, channels).ToArray(), Enumerable.Repeat(0.25, channels).ToArray());

    /// <summary>
    /// KRR-ST: the preset's m, B, pool size, widths and ridge; the real set is max(m, B) random
    /// images; every pool member starts after one training step (so the pool update always
    /// trains, as it does in T_max − 1 of every T_max steps).
    /// </summary>
    public static StepBenchResult Krr(IBackend backend, StepShapes shapes, int warmup, int reps, KrrStConfig? overrideConfig = null)
    {
        var config = overrideConfig ?? shapes.Krr;
        var real = RandomImages(Math.Max(config.SyntheticCount, config.RealBatch), shapes.Channels, shapes.Size, 1);
        var rng = new Generator(7);
        using var teacher = EncoderConfig.Default(shapes.TeacherArch, shapes.Channels, shapes.Size).Build(rng);
        if (backend != Tensor.DefaultBackend) teacher.To(backend);
        teacher.Eval();
        Tensor G(Tensor x) => teacher.Embed(x);
        using var distiller = new KrrStDistiller(config, real, Stats(shapes.Channels), G, teacher.FeatureDim, "benchmark (random teacher)",
            backend, initialPoolSteps: 1);

        // Not part of the step when targets are cached (no augmentation): g over one real batch, for reference.
        var extra = new List<PhaseRow>();
        var idx = Enumerable.Range(0, config.RealBatch).ToArray();
        double teacherMs = MedianMs(backend, Math.Max(1, warmup), reps, () =>
        {
            using var s = TensorScope.Begin();
            using var _ = GradMode.NoGrad();
            teacher.Embed(distiller.Normalize(real.Batch(idx, backend)));
        });
        extra.Add(new PhaseRow($"teacher forward over B = {config.RealBatch} images (outside the step: targets are cached)", teacherMs));

        var result = Measure(backend, warmup, reps, t => distiller.Phases = t, () => distiller.Step());
        var shapesDict = new Dictionary<string, string>
        {
            ["images"] = $"{shapes.Channels}x{shapes.Size}x{shapes.Size}",
            ["m"] = config.SyntheticCount.ToString(),
            ["B"] = config.RealBatch.ToString(),
            ["d"] = teacher.FeatureDim.ToString(),
            ["pool_net"] = $"ConvNet-{string.Join('-', config.Widths)}-{config.Norm}",
            ["pool_size"] = config.PoolSize.ToString(),
            ["teacher"] = shapes.TeacherArch,
            ["augment"] = config.Augment.ToString(),
        };
        string notes = config.Augment
            ? "teacher targets recomputed every step (augmentation on)"
            : "no augmentation: teacher targets are computed once for every real image and looked up per step (as KrrStDistiller does); the extra row times g on one batch";
        return new StepBenchResult("krr-step", shapes.Name, backend.Name, warmup, reps, result.Total, result.Instrumented, result.Sum,
            result.Phases, extra, shapesDict, notes) { PeakBytes = result.Peak };
    }

    /// <summary>Barlow Twins: the configuration's encoder and projector, LARS, both views from the batch of random images.</summary>
    public static StepBenchResult BarlowTwins(IBackend backend, StepShapes shapes, int warmup, int reps, int? batch = null)
    {
        var options = batch is { } b ? shapes.Bt with { Batch = b } : shapes.Bt;
        var encoder = EncoderConfig.Default(shapes.TeacherArch, shapes.Channels, shapes.Size);
        var images = RandomImages(options.Batch, shapes.Channels, shapes.Size, 2);
        using var trainer = new BarlowTwinsTrainer(encoder, options, Stats(shapes.Channels), options.Batch, "random", backend);
        var all = Enumerable.Range(0, options.Batch).ToArray();
        // Both backends implement IAugmentBackend, so the trainer augments both views on the device.
        var result = Measure(backend, warmup, reps, t => trainer.Phases = t, () =>
        {
            using var s = TensorScope.Begin();
            trainer.TrainStep(images.Batch(all, backend));
        });
        var shapesDict = new Dictionary<string, string>
        {
            ["images"] = $"{shapes.Channels}x{shapes.Size}x{shapes.Size}",
            ["batch"] = options.Batch.ToString(),
            ["encoder"] = shapes.TeacherArch,
            ["projector"] = string.Join('-', options.Projector),
            ["optimizer"] = options.Optimizer,
        };
        return new StepBenchResult("bt-step", shapes.Name, backend.Name, warmup, reps, result.Total, result.Instrumented, result.Sum,
            result.Phases, [], shapesDict, "both views augmented on the device from one u8 batch (upload outside the phases)") { PeakBytes = result.Peak };
    }

    /// <summary>
    /// warmup untimed steps, reps uninstrumented steps (total), then reps instrumented steps (phases).
    /// </summary>
    public static (double Total, double Instrumented, double Sum, List<PhaseRow> Phases, long Peak) Measure(IBackend backend, int warmup, int reps,
        Action<IPhaseTimer?> attach, Action step)
    {
        if (reps < 1) throw new ArgumentOutOfRangeException(nameof(reps), "at least one repetition");
        long live = backend.Memory.LiveBytes;
        backend.Memory.ResetPeak();
        double total = MedianMs(backend, warmup, reps, step);
        long peak = backend.Memory.PeakBytes - live;
        var timer = new PhaseTimer(backend);
        var instrumented = new double[reps];
        var sums = new double[reps];
        var perPhase = new Dictionary<string, double[]>();
        var order = new List<string>();
        attach(timer);
        try
        {
            for (int i = 0; i < reps; i++)
            {
                timer.Reset();
                var sw = Stopwatch.StartNew();
                step();
                backend.Synchronize();
                instrumented[i] = sw.Elapsed.TotalMilliseconds;
                sums[i] = timer.TotalMs;
                foreach (var (phase, ms) in timer.Phases)
                {
                    if (!perPhase.TryGetValue(phase, out var arr))
                    {
                        perPhase[phase] = arr = new double[reps];
                        order.Add(phase);
                    }
                    arr[i] = ms;
                }
            }
        }
        finally
        {
            attach(null);
        }
        return (total, MedianOf(instrumented), MedianOf(sums), order.Select(p => new PhaseRow(p, MedianOf(perPhase[p]))).ToList(), peak);
    }

    /// <summary>Median milliseconds of <paramref name="reps"/> runs after <paramref name="warmup"/> untimed ones, synchronizing the device around each.</summary>
    internal static double MedianMs(IBackend backend, int warmup, int reps, Action run)
    {
        for (int i = 0; i < warmup; i++) run();
        backend.Synchronize();
        var t = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            backend.Synchronize();
            t[i] = sw.Elapsed.TotalMilliseconds;
        }
        return MedianOf(t);
    }

    /// <summary>The median (mean of the middle two for an even count).</summary>
    public static double MedianOf(double[] values)
    {
        var s = values.OrderBy(v => v).ToArray();
        int n = s.Length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /// <summary>The table printed for a step result.</summary>
    public static void Print(StepBenchResult r, TextWriter w)
    {
        w.WriteLine($"{r.Step} --config {r.Config} on {r.Device}: {string.Join(", ", r.Shapes.Select(kv => $"{kv.Key} {kv.Value}"))}");
        w.WriteLine($"median of {r.Reps} steps after {r.Warmup} warm-up; {r.Notes}");
        w.WriteLine();
        w.WriteLine($"| {"phase",-28} | {"median ms",10} | {"share",6} |");
        w.WriteLine($"| {new string('-', 28)} | {new string('-', 10)}:| {new string('-', 6)}:|");
        foreach (var p in r.Phases)
            w.WriteLine($"| {p.Phase,-28} | {p.MedianMs,10:F2} | {100 * p.MedianMs / r.InstrumentedTotalMs,5:F1}% |");
        w.WriteLine($"| {"sum of phases",-28} | {r.PhaseSumMs,10:F2} | {100 * r.PhaseSumMs / r.InstrumentedTotalMs,5:F1}% |");
        w.WriteLine($"| {"step, instrumented",-28} | {r.InstrumentedTotalMs,10:F2} | {100.0,5:F1}% |");
        w.WriteLine($"| {"step, uninstrumented",-28} | {r.TotalMs,10:F2} | {"",6} |");
        foreach (var e in r.Extra) w.WriteLine($"extra: {e.Phase}: {e.MedianMs:F2} ms");
        if (r.PeakBytes >= 0) w.WriteLine($"peak memory: {MemoryMeter.Format(r.PeakBytes)} of live tensor storages above those before the steps");
    }
}
