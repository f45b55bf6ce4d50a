using System.Diagnostics;
using System.Globalization;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Random;
using RawDistill.Tensors;

namespace RawDistill.Benchmarks;

/// <summary>
/// The <c>conv-versions</c> mode: two conv2d versions on the <see cref="KrrShapes.Conv"/> cases,
/// alternating rep by rep in one process so that a noisy neighbour hits both alike (the same
/// idea as <see cref="GemmRatio"/>). Versions: 1 (one image per GEMM), 2 (images batched per
/// GEMM, <see cref="CpuBackend.ImagesPerGemm"/>, im2col written out), 3 (the default: operand
/// packed from the images, image-group GEMMs on their thread). Prints a Markdown table of the
/// best and median GFLOP/s of each and the speed-up of the newer one.
/// Usage: <c>conv-versions [--reps R] [--cases fmnist-L1,cifar-L3,...] [--versions 2,3]</c>.
/// </summary>
internal static class ConvVersions
{
    public static int Run(string[] args)
    {
        int reps = 9;
        int[] versions = [2, 3];
        var cases = KrrShapes.Conv.Select(c => c.Id).ToArray();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--reps" when i + 1 < args.Length: reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--cases" when i + 1 < args.Length: cases = args[++i].Split(','); break;
                case "--versions" when i + 1 < args.Length: versions = args[++i].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray(); break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: conv-versions [--reps R] [--cases a,b,...] [--versions 2,3]");
                    return 2;
            }
        }
        if (versions.Length != 2 || versions.Any(v => v is < 1 or > 3))
        {
            Console.Error.WriteLine("--versions: two of 1, 2, 3 (old,new), e.g. 2,3");
            return 2;
        }

        CpuGemm.MaxThreads = GemmBenchmarks.Threads;
        var cpu = CpuBackend.Instance;
        int va = versions[0], vb = versions[1];
        Console.WriteLine($"conv2d version {vb} vs version {va}, {reps} alternating reps, {Environment.ProcessorCount} cores, load average at start {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine($"| case | phase | nb | v{va} GFLOP/s best | v{vb} GFLOP/s best | speed-up best | v{va} GFLOP/s median | v{vb} GFLOP/s median | speed-up median |");
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
                    foreach (int version in versions)
                    {
                        Select(version);
                        var sw = Stopwatch.StartNew();
                        run();
                        double t = sw.Elapsed.TotalSeconds;
                        if (r >= 0) (version == va ? t1 : t2).Add(t);
                    }
                }
                Select(3);
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

    /// <summary>Sets the backend's switches to one version (3 is the default).</summary>
    private static void Select(int version)
    {
        CpuBackend.MaxImagesPerGemm = version == 1 ? 1 : int.MaxValue;
        CpuBackend.ImplicitIm2Col = version == 3;
        CpuBackend.SerialGemmsPerGroup = version == 3;
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
