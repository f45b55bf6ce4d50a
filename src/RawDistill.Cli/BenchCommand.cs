namespace RawDistill.Cli;

using System.Diagnostics;
using System.Text.Json;
using CommandLine;
using CommandLine.Text;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cli.Bench;
using RawDistill.Cuda;
using RawDistill.Diagnostics.Profiling;
using RawDistill.Tensors;

[Verb("bench", HelpText = "Time the engine: kernels (llm.c-style profiler: validate vs CPU, block sweep, L2 flush, events, % of peak), krr-step / bt-step (one step by phase), gemm, conv, convnet.")]
public sealed class BenchOptions
{
    [Value(0, MetaName = "target", Required = true, HelpText = "What to time: kernels | krr-step | bt-step | mkdt-step (MKDT's inner step and outer iteration: time and peak memory) | gemm | conv | convnet (a whole ConvNet-128-256-512-BN training step).")]
    public string Target { get; set; } = "";

    [Option("size", Default = "256,512,1024", HelpText = "gemm: comma-separated square sizes n (C = A·B with n×n operands).")]
    public string Sizes { get; set; } = "256,512,1024";

    [Option("batch", Default = 64, HelpText = "conv: images per batch.")]
    public int Batch { get; set; } = 64;

    [Option("config", Default = "fmnist", HelpText = "krr-step, bt-step: fmnist (the CPU defaults of `rawdistill distill`: 28x28x1, m 100, B 256, ConvNet-32-64-128, ConvNet teacher) | cifar100 (reference: 32x32x3, m 1000, B 1024, ConvNet-128-256-512-BN, ResNet-18 teacher).")]
    public string Config { get; set; } = "fmnist";

    [Option("unroll", Default = 40, HelpText = "mkdt-step: inner steps N of the whole rematerialized outer iteration it also measures (0 skips it).")]
    public int Unroll { get; set; }

    [Option("warmup", Default = 1, HelpText = "krr-step, bt-step: untimed steps first.")]
    public int Warmup { get; set; } = 1;

    [Option("quick", HelpText = "kernels: small sizes (checks the harness, e.g. under the CUDA host emulator; the timings mean nothing).")]
    public bool Quick { get; set; }

    [Option("reps", Default = 5, HelpText = "Timed repetitions (after a warm-up); the median is reported.")]
    public int Reps { get; set; } = 5;

    [Option("dtype", Default = "f32", HelpText = "f32 or f64.")]
    public string DType { get; set; } = "f32";

    [Option("device", Default = "auto", HelpText = "auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("json", HelpText = "Also write the results to this JSON file.")]
    public string? Json { get; set; }

    static readonly UnParserSettings SkipDefaults = new() { SkipDefault = true };

    public static IEnumerable<Example> Examples =>
    [
        new Example("Kernel profiler on the GPU: validate against the CPU, sweep block sizes, % of peak, results to JSON", SkipDefaults, new BenchOptions { Target = "kernels", Device = "cuda", Json = "kernels.json" }),
        new Example("One KRR-ST outer step at the reference CIFAR-100 shapes, by phase", SkipDefaults, new BenchOptions { Target = "krr-step", Device = "cuda", Config = "cifar100", Json = "krr-step.json" }),
        new Example("One KRR-ST outer step at the CPU defaults (compare: benchmarks/pytorch/krr_step.py --device cpu --config fmnist)", SkipDefaults, new BenchOptions { Target = "krr-step", Device = "cpu" }),
        new Example("One Barlow Twins step (ResNet-18, projector 2048-2048-2048) by phase", SkipDefaults, new BenchOptions { Target = "bt-step", Device = "cuda", Config = "cifar100" }),
        new Example("GEMM throughput at n = 1024", SkipDefaults, new BenchOptions { Target = "gemm", Sizes = "1024" }),
        new Example("conv2d forward/backward on the ConvNet shapes, batch 256, results to JSON", SkipDefaults, new BenchOptions { Target = "conv", Batch = 256, Json = "conv.json" }),
    ];
}

/// <summary>Times single kernels through the backend interface, so CPU and CUDA are measured the same way.</summary>
public static class BenchCommand
{
    public static int Run(BenchOptions o)
    {
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        var dtype = o.DType.ToLowerInvariant() switch
        {
            "f32" => Tensors.DType.F32,
            "f64" => Tensors.DType.F64,
            _ => throw new CliException($"--dtype: expected f32 or f64, got '{o.DType}'"),
        };
        if (o.Reps < 1) throw new CliException("--reps: expected a positive count");
        if (o.Warmup < 0) throw new CliException("--warmup: expected zero or more");
        switch (o.Target.ToLowerInvariant())
        {
            case "kernels": return Kernels(backend, o, backend.IsHost ? null : CpuBackend.Instance);
            case "krr-step":
            case "bt-step":
                return Step(backend, o);
            case "mkdt-step":
                return MkdtStep(backend, o);
        }
        var rows = o.Target.ToLowerInvariant() switch
        {
            "gemm" => Gemm(backend, dtype, ParseSizes(o.Sizes), o.Reps),
            "conv" => Conv(backend, dtype, o.Batch, o.Reps),
            "convnet" => ConvNetStep(backend, dtype, o.Batch, o.Reps),
            _ => throw new CliException($"bench: unknown target '{o.Target}'; expected kernels, krr-step, bt-step, mkdt-step, gemm, conv or convnet"),
        };
        Console.WriteLine($"device {backend.Name}, dtype {o.DType}, median of {o.Reps} after a warm-up");
        PrintTable(rows);
        if (o.Json != null)
        {
            var doc = new { device = backend.Name, dtype = o.DType, reps = o.Reps, date = DateTime.UtcNow.ToString("o"), results = rows };
            AtomicFile.WriteAllText(o.Json, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {o.Json}");
        }
        return 0;
    }

    static readonly JsonSerializerOptions JsonOut = new() { WriteIndented = true };

    /// <summary>
    /// `bench kernels`: every case on <paramref name="backend"/>, validated against
    /// <paramref name="reference"/> when one is given (the CPU backend for a device). Failed rows
    /// are kept in the table and the JSON; the exit code is 1 when any row failed.
    /// </summary>
    public static int Kernels(IBackend backend, BenchOptions o, IBackend? reference)
    {
        bool device = !backend.IsHost;
        var peak = (backend as IProfilingBackend)?.Peak;
        Console.WriteLine($"device {backend.Name}; median of {o.Reps} after a warm-up{(o.Quick ? "; --quick sizes (timings are not meaningful)" : "")}");
        string notes;
        if (device)
        {
            Console.WriteLine($"peak used: {peak?.Describe() ?? "peak unknown (the backend reports none)"}");
            Console.WriteLine($"formula: {DevicePeak.Formula}");
            long flush = backend is CudaBackend cb ? cb.FlushBytes : 0;
            notes = $"every case validated against the CPU backend at every block size before timing; L2 flushed ({flush >> 20} MiB written) before each repetition; timed with CUDA events";
        }
        else
        {
            notes = "CPU backend: validation skipped (it is the reference), no block-size sweep (no launch blocks), no L2 flush; timed with a stopwatch; peak unknown (CPU clocks are not read)";
        }
        Console.WriteLine(notes);
        Console.WriteLine();
        Console.WriteLine(KernelBench.Header);
        var rows = KernelBench.Run(backend, reference, KernelBench.Cases(o.Quick), o.Reps, Console.Out);
        if (o.Json != null)
        {
            var doc = new
            {
                bench = "kernels",
                device = backend.Name,
                device_name = peak?.Name ?? (backend.IsHost ? "cpu" : backend.Name),
                peak = peak == null ? null : new
                {
                    peak.Major,
                    peak.Minor,
                    peak.SmCount,
                    peak.ClockKHz,
                    peak.MemoryClockKHz,
                    peak.BusWidthBits,
                    peak.L2Bytes,
                    peak.BandwidthGBs,
                    peak.Fp32Tflops,
                    peak.Fp64Tflops,
                    formula = DevicePeak.Formula,
                },
                quick = o.Quick,
                reps = o.Reps,
                notes,
                date = DateTime.UtcNow.ToString("o"),
                results = rows,
            };
            AtomicFile.WriteAllText(o.Json, JsonSerializer.Serialize(doc, JsonOut));
            Console.WriteLine($"wrote {o.Json}");
        }
        var failed = rows.Where(r => r.Failed).ToList();
        if (failed.Count == 0) return 0;
        Console.Error.WriteLine($"bench kernels: {failed.Count} of {rows.Count} rows FAILED:");
        foreach (var r in failed) Console.Error.WriteLine("  " + r.Validation);
        return 1;
    }

    static int Step(IBackend backend, BenchOptions o)
    {
        var shapes = StepShapes.Get(o.Config);
        var previous = Tensor.DefaultBackend;
        StepBenchResult r;
        try
        {
            Tensor.DefaultBackend = backend;
            r = o.Target.Equals("krr-step", StringComparison.OrdinalIgnoreCase)
                ? StepBench.Krr(backend, shapes, o.Warmup, o.Reps)
                : StepBench.BarlowTwins(backend, shapes, o.Warmup, o.Reps);
        }
        finally
        {
            Tensor.DefaultBackend = previous;
        }
        StepBench.Print(r, Console.Out);
        if (o.Json != null)
        {
            AtomicFile.WriteAllText(o.Json, StepJson(r));
            Console.WriteLine($"wrote {o.Json}");
        }
        return 0;
    }

    static int MkdtStep(IBackend backend, BenchOptions o)
    {
        // --config keeps its krr-step default (fmnist); mkdt-step's shapes are the reference unless tiny is asked for.
        var shapes = MkdtStepShapes.Get(o.Config.Equals("fmnist", StringComparison.OrdinalIgnoreCase) ? "reference" : o.Config);
        if (o.Unroll < 0) throw new CliException("--unroll: expected zero or more inner steps");
        Console.WriteLine($"mkdt-step on {backend.Name}: {shapes.Name} (student ConvNet-{shapes.Width}x{shapes.Depth} instance norm, " +
            $"{shapes.Channels}x{shapes.Size}x{shapes.Size}, d {shapes.FeatureDim}, m {shapes.Images}, batch {shapes.Batch}); median of {o.Reps} after a warm-up");
        Console.WriteLine("memory: bytes of live tensor storages above the start (the backend's MemoryMeter), peak and held after the step");
        var previous = Tensor.DefaultBackend;
        List<MkdtStepRow> rows;
        try
        {
            Tensor.DefaultBackend = backend;
            rows = MkdtStepBench.Run(backend, shapes, o.Reps, o.Unroll, Console.Out);
        }
        finally
        {
            Tensor.DefaultBackend = previous;
        }
        Console.WriteLine();
        Console.WriteLine($"| {"phase",-48} | {"ms",10} | {"peak",10} | {"held",10} | {"peak RSS Δ",10} |");
        Console.WriteLine($"| {new string('-', 48)} | {new string('-', 10)}:| {new string('-', 10)}:| {new string('-', 10)}:| {new string('-', 10)}:|");
        foreach (var r in rows)
            Console.WriteLine($"| {r.Phase,-48} | {r.Ms,10:F0} | {MemoryMeter.Format(r.PeakBytes),10} | {(r.HeldBytes > 0 ? MemoryMeter.Format(r.HeldBytes) : "-"),10} | {(r.PeakRssBytes >= 0 ? MemoryMeter.Format(r.PeakRssBytes) : "n/a"),10} |");
        if (o.Json != null)
        {
            var doc = new
            {
                bench = "mkdt-step",
                config = shapes.Name,
                device = backend.Name,
                cpu = CpuModel(),
                threads = Environment.ProcessorCount,
                date = DateTime.UtcNow.ToString("o"),
                reps = o.Reps,
                unroll = o.Unroll,
                shapes,
                memory = "bytes of live tensor storages above the start (MemoryMeter); scratch (im2col, GEMM packing) excluded",
                rss = "peak resident set above the resident set at the start of each phase (/proc VmHWM after clear_refs 5), -1 where unavailable",
                rows = rows.Select(r => new { phase = r.Phase, ms = r.Ms, peak_bytes = r.PeakBytes, held_bytes = r.HeldBytes, peak_rss_bytes = r.PeakRssBytes, notes = r.Notes }),
            };
            AtomicFile.WriteAllText(o.Json, JsonSerializer.Serialize(doc, JsonOut));
            Console.WriteLine($"wrote {o.Json}");
        }
        return 0;
    }

    /// <summary>The JSON document of a step benchmark (what benchmarks/compare.py reads).</summary>
    public static string StepJson(StepBenchResult r) => JsonSerializer.Serialize(new
    {
        bench = r.Step,
        config = r.Config,
        device = r.Device,
        cpu = CpuModel(),
        threads = Environment.ProcessorCount,
        date = DateTime.UtcNow.ToString("o"),
        warmup = r.Warmup,
        reps = r.Reps,
        total_ms = r.TotalMs,
        instrumented_total_ms = r.InstrumentedTotalMs,
        phase_sum_ms = r.PhaseSumMs,
        phases = r.Phases.Select(p => new { phase = p.Phase, median_ms = p.MedianMs }),
        extra = r.Extra.Select(p => new { phase = p.Phase, median_ms = p.MedianMs }),
        shapes = r.Shapes,
        notes = r.Notes,
        peak_bytes = r.PeakBytes,
    }, JsonOut);

    static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "unknown";
    }

    static int[] ParseSizes(string s)
    {
        try
        {
            var sizes = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            if (sizes.Length == 0 || sizes.Any(n => n <= 0)) throw new FormatException();
            return sizes;
        }
        catch (FormatException)
        {
            throw new CliException($"--size: expected comma-separated positive integers such as 256,512,1024, got '{s}'");
        }
    }

    /// <summary>One timed case: name, shape, median seconds and the derived throughputs.</summary>
    public sealed record BenchRow(string Case, string Shape, double MedianMs, double Gflops, double ImagesPerSecond, long PeakBytes = -1);

    static List<BenchRow> Gemm(IBackend backend, DType dtype, int[] sizes, int reps)
    {
        var rng = new Random.Generator(0);
        var rows = new List<BenchRow>();
        foreach (var n in sizes)
        {
            using var scope = TensorScope.Begin();
            var a = Tensor.Uniform([n, n], -1, 1, rng, dtype, backend);
            var b = Tensor.Uniform([n, n], -1, 1, rng, dtype, backend);
            var c = Tensor.Empty([n, n], dtype, backend);
            var args = new GemmArgs(false, false, n, n, n, 1, 0, n, 0, n, 0, 0, n);
            double s = Median(backend, reps, () => backend.Gemm(args, a.Storage, b.Storage, c.Storage));
            rows.Add(new BenchRow("gemm", $"{n}x{n}x{n}", s * 1e3, 2.0 * n * n * n / s / 1e9, 0));
        }
        return rows;
    }

    static List<BenchRow> Conv(IBackend backend, DType dtype, int batch, int reps)
    {
        // KRR-ST's ConvNet at 32×32: 3→128 at 32², 128→256 at 16², 256→512 at 8² (3×3, pad 1, bias).
        (int c, int k, int hw)[] layers = [(3, 128, 32), (128, 256, 16), (256, 512, 8)];
        var rng = new Random.Generator(0);
        var rows = new List<BenchRow>();
        foreach (var (c, k, hw) in layers)
        {
            using var scope = TensorScope.Begin();
            var geo = new Conv2dGeometry(batch, c, hw, hw, k, 3, 3, 1, 1, 1, 1, 1);
            var x = Tensor.Uniform(geo.InputShape, -1, 1, rng, dtype, backend);
            var w = Tensor.Uniform(geo.WeightShape, -0.1, 0.1, rng, dtype, backend);
            var bias = Tensor.Zeros([k], dtype, backend);
            var y = Tensor.Empty(geo.OutputShape, dtype, backend);
            var dy = Tensor.Uniform(geo.OutputShape, -1, 1, rng, dtype, backend);
            var dx = Tensor.Empty(geo.InputShape, dtype, backend);
            var dw = Tensor.Empty(geo.WeightShape, dtype, backend);
            double flops = 2.0 * batch * k * geo.P * geo.Q * c * 9;
            string shape = $"{batch}x{c}x{hw}x{hw} -> {k}";
            double f = Median(backend, reps, () => backend.Conv2dForward(geo, x.Storage, w.Storage, bias.Storage, y.Storage));
            rows.Add(new BenchRow("conv2d forward", shape, f * 1e3, flops / f / 1e9, batch / f));
            double bi = Median(backend, reps, () => backend.Conv2dBackwardInput(geo, dy.Storage, w.Storage, dx.Storage));
            rows.Add(new BenchRow("conv2d backward input", shape, bi * 1e3, flops / bi / 1e9, batch / bi));
            double bw = Median(backend, reps, () => backend.Conv2dBackwardWeight(geo, x.Storage, dy.Storage, dw.Storage));
            rows.Add(new BenchRow("conv2d backward weight", shape, bw * 1e3, flops / bw / 1e9, batch / bw));
        }
        return rows;
    }

    static List<BenchRow> ConvNetStep(IBackend backend, DType dtype, int batch, int reps)
    {
        // KRR-ST's ConvNet at 32×32×3: three blocks of conv3×3(pad 1, bias) → batch norm
        // (train) → ReLU → avg-pool 2×2, widths 128-256-512, then Linear(8192 → 512) and an
        // MSE loss; forward plus backward to the input and every parameter.
        var rng = new Random.Generator(0);
        using var scope = TensorScope.Begin();
        int[] widths = [128, 256, 512];
        var parameters = new List<Tensor>();
        Tensor P(int[] shape, double std)
        {
            var t = Tensor.Normal(shape, 0, std, rng, dtype, backend);
            t.RequiresGrad = true;
            parameters.Add(t);
            return t;
        }
        var convs = new List<(Tensor w, Tensor b, Tensor gamma, Tensor beta, Tensor rm, Tensor rv)>();
        int cin = 3;
        foreach (var k in widths)
        {
            convs.Add((P([k, cin, 3, 3], Math.Sqrt(2.0 / (cin * 9))), P([k], 0.01), P([k], 0), P([k], 0), Tensor.Zeros([k], dtype, backend), Tensor.Ones([k], dtype, backend)));
            cin = k;
        }
        foreach (var c in convs) c.gamma.FillInPlace(1);
        var head = P([512, 512 * 4 * 4], 1.0 / Math.Sqrt(8192));
        var x = Tensor.Uniform([batch, 3, 32, 32], 0, 1, rng, dtype, backend);
        x.RequiresGrad = true;
        var target = Tensor.Normal([batch, 512], 0, 1, rng, dtype, backend);

        void Step()
        {
            using var step = TensorScope.Begin();
            var h = x;
            foreach (var (w, b, gamma, beta, rm, rv) in convs)
                h = Ops.AvgPool2d(Ops.Relu(Ops.BatchNorm(Ops.Conv2d(h, w, b, 1, 1), gamma, beta, rm, rv, training: true)), 2);
            var loss = Ops.Mse(Ops.Linear(Ops.Flatten(h), head), target);
            Autodiff.Autograd.Grad([loss], [x, .. parameters]);
        }
        long live = backend.Memory.LiveBytes;
        backend.Memory.ResetPeak();
        double s = Median(backend, reps, Step);
        return [new BenchRow("convnet step (fwd+bwd)", $"{batch}x3x32x32", s * 1e3, 0, batch / s, backend.Memory.PeakBytes - live)];
    }

    /// <summary>Median wall time in seconds of <paramref name="reps"/> runs after one warm-up, synchronizing the device around each.</summary>
    static double Median(IBackend backend, int reps, Action run) => Bench.StepBench.MedianMs(backend, 1, reps, run) / 1000;

    static void PrintTable(List<BenchRow> rows)
    {
        Console.WriteLine($"{"case",-24} {"shape",-22} {"median ms",10} {"GFLOP/s",9} {"img/s",9} {"peak mem",10}");
        foreach (var r in rows)
            Console.WriteLine($"{r.Case,-24} {r.Shape,-22} {r.MedianMs,10:F2} {r.Gflops,9:F1} {(r.ImagesPerSecond > 0 ? r.ImagesPerSecond.ToString("F0") : "-"),9} " +
                $"{(r.PeakBytes >= 0 ? MemoryMeter.Format(r.PeakBytes) : "-"),10}");
    }
}
