using System.Diagnostics;
using System.Globalization;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Random;
using RawDistill.Tensors;

namespace RawDistill.Benchmarks;

/// <summary>
/// The <c>conv-versions</c> mode: conv2d version 1 (one image per GEMM) against version 2
/// (images batched per GEMM, <see cref="CpuBackend.ImagesPerGemm"/>) on the
/// <see cref="KrrShapes.Conv"/> cases, the two versions alternating rep by rep in one process so
/// that a noisy neighbour hits both alike (the same idea as <see cref="GemmRatio"/>). Prints a
/// Markdown table of the best and median GFLOP/s of each and the speed-up of version 2.
/// Usage: <c>conv-versions [--reps R] [--cases fmnist-L1,cifar-L3,...]</c>.
/// </summary>
internal static class ConvVersions
{
    public static int Run(string[] args)
    {
        int reps = 9;
        var cases = KrrShapes.Conv.Select(c => c.Id).ToArray();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--reps" when i + 1 < args.Length: reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--cases" when i + 1 < args.Length: cases = args[++i].Split(','); break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: conv-versions [--reps R] [--cases a,b,...]");
                    return 2;
            }
        }
        CpuGemm.MaxThreads = GemmBenchmarks.Threads;
        var cpu = CpuBackend.Instance;
        Console.WriteLine($"conv2d version 2 vs version 1, {reps} alternating reps, {Environment.ProcessorCount} cores, load average at start {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| case | phase | nb (v2) | v1 GFLOP/s best | v2 GFLOP/s best | speed-up best | v1 GFLOP/s median | v2 GFLOP/s median | speed-up median |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var id in cases)
        {
            var s = KrrShapes.ConvById(id);
            var g = new Conv2dGeometry(s.Batch, s.Cin, s.Size, s.Size, s.Cout, 3, 3, 1, 1, 1, 1, 1);
            using var scope = TensorScope.Begin();
            var rng = new Generator(7);
            var x = Tensor.Normal(g.InputShape, 0, 1, rng, backend: cpu);
            var w = Tensor.Normal(g.WeightShape, 0, 0.1, rng, backend: cpu);
            var b = Tensor.Normal([s.Cout], 0, 1, rng, backend: cpu);
            var dy = Tensor.Normal(g.OutputShape, 0, 1, rng, backend: cpu);
            var y = Tensor.Zeros(g.OutputShape, backend: cpu);
            var dx = Tensor.Zeros(g.InputShape, backend: cpu);
            var dw = Tensor.Zeros(g.WeightShape, backend: cpu);
            int nb = CpuBackend.ImagesPerGemm(g);
            var phases = new (string Name, Action Run)[]
            {
                ("forward", () => cpu.Conv2dForward(g, x.Storage, w.Storage, b.Storage, y.Storage)),
                ("backward-input", () => cpu.Conv2dBackwardInput(g, dy.Storage, w.Storage, dx.Storage)),
                ("backward-weight", () => cpu.Conv2dBackwardWeight(g, x.Storage, dy.Storage, dw.Storage)),
            };
            foreach (var (name, run) in phases)
            {
                var t1 = new List<double>();
                var t2 = new List<double>();
                for (int r = -1; r < reps; r++)
                {
                    foreach (int version in (int[])[1, 2])
                    {
                        CpuBackend.MaxImagesPerGemm = version == 1 ? 1 : int.MaxValue;
                        var sw = Stopwatch.StartNew();
                        run();
                        double t = sw.Elapsed.TotalSeconds;
                        if (r >= 0) (version == 1 ? t1 : t2).Add(t);
                    }
                }
                CpuBackend.MaxImagesPerGemm = int.MaxValue;
                double f = s.Flops / 1e9;
                double b1 = f / t1.Min(), b2 = f / t2.Min(), m1 = f / Median(t1), m2 = f / Median(t2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {s} | {name} | {nb} | {b1:F1} | {b2:F1} | {b2 / b1:F2} | {m1:F1} | {m2:F1} | {m2 / m1:F2} |"));
            }
        }
        Console.WriteLine();
        Console.WriteLine($"load average at end {LoadAverage()}");
        return 0;
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
