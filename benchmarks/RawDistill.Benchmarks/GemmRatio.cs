using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using RawDistill.Backends.Cpu;

namespace RawDistill.Benchmarks;

/// <summary>
/// The <c>gemm-ratio</c> mode: a quick side-by-side timing of <see cref="CpuGemm.Sgemm"/> and
/// OpenBLAS <c>cblas_sgemm</c> (or the f64 pair with <c>--dtype f64</c>; 2 threads each by default), printed as a Markdown table of
/// GFLOP/s and their ratio. Faster than BenchmarkDotNet and good enough for a ratio: the two
/// libraries alternate rep by rep, so a noisy neighbour or a clock change hits both alike.
/// </summary>
/// <remarks>
/// Usage: <c>gemm-ratio [--sizes 256,512,1024,2048] [--reps R] [--threads T] [--trans nn|nt|tn|tt]
/// [--kernel auto|avx512|avx2|scalar] [--dtype f32|f64]</c>. A size is n (square) or MxNxK. Reports the best and
/// the median of R timed reps per library (after a 1 s warm-up), and ratio = RawDistill / OpenBLAS
/// of each. <c>--kernel</c> pins RawDistill's micro-kernel, e.g. to compare the AVX2 fallback
/// with an OpenBLAS that also runs AVX2 kernels.
/// </remarks>
internal static unsafe class GemmRatio
{
    private const string Usage = "usage: gemm-ratio [--sizes 256,512,1024,2048 | MxNxK,...] [--reps R] [--threads T] [--trans nn|nt|tn|tt] [--kernel auto|avx512|avx2|scalar] [--dtype f32|f64]";

    public static int Run(string[] args)
    {
        string[] sizes = ["256", "512", "1024", "2048"];
        int? reps = null;
        int threads = GemmBenchmarks.Threads;
        string kernel = "auto";
        string dtype = "f32";
        bool transA = false, transB = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes" when i + 1 < args.Length:
                    sizes = args[++i].Split(',');
                    break;
                case "--reps" when i + 1 < args.Length:
                    reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--threads" when i + 1 < args.Length:
                    threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--dtype" when i + 1 < args.Length:
                    dtype = args[++i];
                    break;
                case "--kernel" when i + 1 < args.Length:
                    kernel = args[++i];
                    break;
                case "--trans" when i + 1 < args.Length && args[i + 1].Length == 2:
                    transA = char.ToLowerInvariant(args[i + 1][0]) == 't';
                    transB = char.ToLowerInvariant(args[++i][1]) == 't';
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'. {Usage}");
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
        var options = new Options(sizes, reps, threads, kernel, transA, transB);
        switch (dtype)
        {
            case "f32":
                delegate*<bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm = kernel switch
                {
                    "auto" => &CpuGemm.Sgemm,
                    "avx512" when Avx512MicroKernel<float>.IsSupported => &CpuGemm.Gemm<float, Avx512MicroKernel<float>>,
                    "avx2" when Avx2MicroKernel<float>.IsSupported => &CpuGemm.Gemm<float, Avx2MicroKernel<float>>,
                    "scalar" => &CpuGemm.Gemm<float, ScalarMicroKernel<float>>,
                    _ => null,
                };
                return sgemm == null ? Unsupported(kernel) : Measure(options, sgemm, &OpenBlas.Sgemm);
            case "f64":
                delegate*<bool, bool, int, int, int, double, double*, int, double*, int, double, double*, int, void> dgemm = kernel switch
                {
                    "auto" => &CpuGemm.Dgemm,
                    "avx512" when Avx512MicroKernel<double>.IsSupported => &CpuGemm.Gemm<double, Avx512MicroKernel<double>>,
                    "avx2" when Avx2MicroKernel<double>.IsSupported => &CpuGemm.Gemm<double, Avx2MicroKernel<double>>,
                    "scalar" => &CpuGemm.Gemm<double, ScalarMicroKernel<double>>,
                    _ => null,
                };
                return dgemm == null ? Unsupported(kernel) : Measure(options, dgemm, &OpenBlas.Dgemm);
            default:
                Console.Error.WriteLine($"unknown dtype '{dtype}'. {Usage}");
                return 2;
        }
    }

    private static int Unsupported(string kernel)
    {
        Console.Error.WriteLine($"kernel '{kernel}' is unknown or not supported by this CPU");
        return 2;
    }

    private static int Measure<T>(
        Options o,
        delegate*<bool, bool, int, int, int, T, T*, int, T*, int, T, T*, int, void> oursGemm,
        delegate*<bool, bool, int, int, int, T, T*, int, T*, int, T, T*, int, void> theirsGemm)
        where T : unmanaged, IFloatingPoint<T>
    {
        bool transA = o.TransA, transB = o.TransB;
        string dtype = typeof(T) == typeof(float) ? "f32" : "f64";
        Console.WriteLine($"RawDistill kernel: {(o.Kernel == "auto" ? CpuGemm.KernelName : o.Kernel)}; OpenBLAS: {OpenBlas.Config} (core {OpenBlas.CoreName}, {OpenBlas.GetThreads()} threads)");
        Console.WriteLine($"threads: {o.Threads}; processors: {Environment.ProcessorCount}; .NET {Environment.Version}; op: {(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')}; dtype: {dtype}");
        Console.WriteLine();
        Console.WriteLine("| m×n×k | RawDistill GFLOP/s (best) | OpenBLAS GFLOP/s (best) | ratio (best) | RawDistill GFLOP/s (median) | OpenBLAS GFLOP/s (median) | ratio (median) | max rel. diff |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string size in o.Sizes)
        {
            int[] dims = size.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            (int m, int n, int k) = dims.Length == 3 ? (dims[0], dims[1], dims[2]) : (dims[0], dims[0], dims[0]);
            using var x = new GemmMatrices<T>(m, n, k);
            int lda = transA ? m : k, ldb = transB ? k : n;
            double flops = x.Flops();
            int r = o.Reps ?? Math.Clamp((int)(3e10 / flops), 7, 200);

            void Ours() => oursGemm(transA, transB, m, n, k, T.One, x.A, lda, x.B, ldb, T.Zero, x.C, n);
            void Theirs() => theirsGemm(transA, transB, m, n, k, T.One, x.A, lda, x.B, ldb, T.Zero, x.C, n);

            double diff = CompareResults(x, Ours, Theirs);

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

            double oursBest = flops / ours.Min() / 1e9, theirsBest = flops / theirs.Min() / 1e9;
            double oursMedian = flops / Median(ours) / 1e9, theirsMedian = flops / Median(theirs) / 1e9;
            string shape = m == n && n == k ? $"{n}" : $"{m}×{n}×{k}";
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {shape} | {oursBest:F1} | {theirsBest:F1} | {oursBest / theirsBest:F2} | {oursMedian:F1} | {theirsMedian:F1} | {oursMedian / theirsMedian:F2} | {diff:E1} |"));
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
    private static double CompareResults<T>(GemmMatrices<T> x, Action ours, Action theirs)
        where T : unmanaged, IFloatingPoint<T>
    {
        int count = checked(x.M * x.N);
        theirs();
        T[] reference = new ReadOnlySpan<T>(x.C, count).ToArray();
        ours();
        var got = new ReadOnlySpan<T>(x.C, count);
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < count; i++)
        {
            double g = double.CreateTruncating(got[i]), e = double.CreateTruncating(reference[i]);
            maxDiff = Math.Max(maxDiff, Math.Abs(g - e));
            maxAbs = Math.Max(maxAbs, Math.Abs(e));
        }

        return maxDiff / maxAbs;
    }

    private sealed record Options(string[] Sizes, int? Reps, int Threads, string Kernel, bool TransA, bool TransB);
}
