using System.Diagnostics;
using System.Globalization;
using RawDistill.Backends.Cpu;
using RawDistill.Diagnostics;

namespace RawDistill.Benchmarks;

/// <summary>
/// The <c>cholesky-versions</c> mode: the unblocked Cholesky (<see cref="CpuBackend.CholeskyT{T}"/>)
/// against <see cref="BlockedCholesky"/>, and plain substitution against the blocked triangular
/// solves (<see cref="TriangularSubstitution"/>, forward then backward with
/// <see cref="CholeskyBenchmarks.Columns"/> right-hand sides), alternating rep by rep in one
/// process, in f64. This is the measurement behind the crossovers
/// <see cref="CpuBackend.BlockedCholeskyFrom"/> and <see cref="TriangularSubstitution.BlockedFrom"/>.
/// Usage: <c>cholesky-versions [--sizes 64,128,...] [--reps R] [--cpu-time]</c>. <c>--cpu-time</c>
/// times by the process's CPU time instead of the wall clock: on a loaded machine that measures
/// the work each version does (not its parallel speed-up), which is steadier than wall time.
/// </summary>
/// </summary>
internal static unsafe class CholeskyVersions
{
    public static int Run(string[] args)
    {
        int reps = 7;
        cpuTime = false;
        int[] sizes = [64, 128, 192, 256, 384, 512, 1000, 2000];
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--cpu-time": cpuTime = true; break;
                case "--reps" when i + 1 < args.Length: reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--sizes" when i + 1 < args.Length: sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: cholesky-versions [--sizes 64,128,...] [--reps R] [--cpu-time]");
                    return 2;
            }
        }

        CpuGemm.MaxThreads = GemmBenchmarks.Threads;
        int d = CholeskyBenchmarks.Columns;
        Console.WriteLine($"f64 Cholesky and solves, unblocked vs blocked (block {BlockedCholesky.Block}), {reps} alternating reps, {(cpuTime ? "process CPU time" : "wall time")}, {Environment.ProcessorCount} cores, GEMM {CpuGemm.KernelName}, load average at start {LoadAverage()}");
        Console.WriteLine($"crossovers in use: factor blocked from n = {CpuBackend.BlockedCholeskyFrom}, solves from n = {TriangularSubstitution.BlockedFrom}");
        Console.WriteLine();
        Console.WriteLine("| n | phase | unblocked GFLOP/s best | blocked GFLOP/s best | speed-up best | unblocked GFLOP/s median | blocked GFLOP/s median | speed-up median |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (int n in sizes)
        {
            var a = PrimitiveParity.Spd(n, n);
            var l = new double[(long)n * n];
            var y = PrimitiveParity.Rand(n * d, 3);
            var x = new double[(long)n * d];
            fixed (double* pa = a, pl = l, py = y, px = x)
            {
                double* ca = pa, cl = pl, cy = py, cx = px;
                Row(n, "factor", (double)n * n * n / 3, reps,
                    () => CpuBackend.CholeskyT(ca, n, cl),
                    () => BlockedCholesky.Factor(ca, n, cl));
                Row(n, $"solve ×{d}", 2.0 * n * n * d, reps,
                    () =>
                    {
                        new ReadOnlySpan<double>(cy, n * d).CopyTo(new Span<double>(cx, n * d));
                        TriangularSubstitution.Substitute(cl, n, 0, n, cx, d, transpose: false);
                        TriangularSubstitution.Substitute(cl, n, 0, n, cx, d, transpose: true);
                    },
                    () =>
                    {
                        TriangularSubstitution.Solve(cl, n, cy, d, cx, transpose: false);
                        TriangularSubstitution.Solve(cl, n, cx, d, cx, transpose: true);
                    });
            }
        }

        Console.WriteLine();
        Console.WriteLine($"load average at end {LoadAverage()}");
        return 0;
    }

    static void Row(int n, string phase, double flops, int reps, Action unblocked, Action blocked)
    {
        // Warm-up: JIT tiers and thread-pool workers, then alternate so both see the same load.
        unblocked();
        blocked();
        var u = new double[reps];
        var b = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            u[r] = Time(unblocked);
            b[r] = Time(blocked);
        }

        double ub = flops / u.Min() / 1e9, bb = flops / b.Min() / 1e9, um = flops / Median(u) / 1e9, bm = flops / Median(b) / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {phase} | {ub:F1} | {bb:F1} | {bb / ub:F2} | {um:F1} | {bm:F1} | {bm / um:F2} |"));
    }

    static bool cpuTime;

    static double Time(Action f)
    {
        if (cpuTime)
        {
            var p = Process.GetCurrentProcess();
            var c0 = p.TotalProcessorTime;
            f();
            p.Refresh();
            return (p.TotalProcessorTime - c0).TotalSeconds;
        }

        long t0 = Stopwatch.GetTimestamp();
        f();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    static double Median(double[] xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
