using System.Diagnostics;
using System.Globalization;
using RawDistill.Backends.Cpu;

namespace RawDistill.Benchmarks;

/// <summary>
/// The <c>gemm-ratio</c> mode: a quick side-by-side timing of <see cref="CpuGemm.Sgemm"/> and
/// OpenBLAS <c>cblas_sgemm</c> (square, no transposes, 2 threads each), printed as a table of
/// GFLOP/s and their ratio. Faster than BenchmarkDotNet and good enough for a ratio: the two
/// libraries alternate rep by rep, so a noisy neighbour or clock change hits both alike.
/// </summary>
/// <remarks>
/// Usage: <c>gemm-ratio [--sizes 256,512,1024,2048] [--reps R] [--threads T]</c>.
/// Reports the best and the median of R timed reps per library (after warm-up), and
/// ratio = RawDistill / OpenBLAS of each.
/// </remarks>
internal static unsafe class GemmRatio
{
    public static int Run(string[] args)
    {
        int[] sizes = [256, 512, 1024, 2048];
        int? reps = null;
        int threads = GemmBenchmarks.Threads;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes" when i + 1 < args.Length:
                    sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                    break;
                case "--reps" when i + 1 < args.Length:
                    reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--threads" when i + 1 < args.Length:
                    threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: gemm-ratio [--sizes 256,512,1024,2048] [--reps R] [--threads T]");
                    return 2;
            }
        }

        if (!OpenBlas.IsAvailable)
        {
            Console.Error.WriteLine($"{OpenBlas.Library} not found (Debian: apt-get install libopenblas0-pthread)");
            return 1;
        }

        CpuGemm.MaxThreads = threads;
        OpenBlas.SetThreads(threads);
        Console.WriteLine($"RawDistill kernel: {CpuGemm.KernelName}; OpenBLAS: {OpenBlas.Config} (core {OpenBlas.CoreName}, {OpenBlas.GetThreads()} threads)");
        Console.WriteLine($"threads: {threads}; processors: {Environment.ProcessorCount}; .NET {Environment.Version}");
        Console.WriteLine();
        Console.WriteLine("| n | RawDistill GFLOP/s (best) | OpenBLAS GFLOP/s (best) | ratio (best) | RawDistill GFLOP/s (median) | OpenBLAS GFLOP/s (median) | ratio (median) | max rel. diff |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int n in sizes)
        {
            using var x = new GemmMatrices(n);
            int r = reps ?? Math.Clamp((int)(3e10 / GemmMatrices.Flops(n)), 7, 200);
            double diff = CompareResults(x);

            void Ours() => CpuGemm.Sgemm(false, false, n, n, n, 1f, x.A, n, x.B, n, 0f, x.C, n);
            void Theirs() => OpenBlas.Sgemm(false, false, n, n, n, 1f, x.A, n, x.B, n, 0f, x.C, n);

            // Warm-up: JIT tiers, thread pool workers, OpenBLAS's thread spin-up, caches.
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed.TotalSeconds < 1.0)
            {
                Ours();
                Theirs();
            }

            var ours = new double[r];
            var theirs = new double[r];
            for (int i = 0; i < r; i++)
            {
                ours[i] = Time(Ours);
                theirs[i] = Time(Theirs);
            }

            double flops = GemmMatrices.Flops(n);
            double oursBest = flops / ours.Min() / 1e9, theirsBest = flops / theirs.Min() / 1e9;
            double oursMedian = flops / Median(ours) / 1e9, theirsMedian = flops / Median(theirs) / 1e9;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {n} | {oursBest:F1} | {theirsBest:F1} | {oursBest / theirsBest:F2} | {oursMedian:F1} | {theirsMedian:F1} | {oursMedian / theirsMedian:F2} | {diff:E1} |"));
        }

        return 0;
    }

    private static double Time(Action gemm)
    {
        long t0 = Stopwatch.GetTimestamp();
        gemm();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    private static double Median(double[] xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    /// <summary>Max |C_ours − C_openblas| / max |C_openblas|: a guard that the timed code computes the same thing.</summary>
    private static double CompareResults(GemmMatrices x)
    {
        int n = x.N;
        long count = (long)n * n;
        var theirs = new float[count];
        OpenBlas.Sgemm(false, false, n, n, n, 1f, x.A, n, x.B, n, 0f, x.C, n);
        new ReadOnlySpan<float>(x.C, (int)count).CopyTo(theirs);
        CpuGemm.Sgemm(false, false, n, n, n, 1f, x.A, n, x.B, n, 0f, x.C, n);
        double maxDiff = 0, maxAbs = 0;
        for (long i = 0; i < count; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(x.C[i] - theirs[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs(theirs[i]));
        }

        return maxDiff / maxAbs;
    }
}
