using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using RawDistill.Backends.Cpu;

namespace RawDistill.Benchmarks;

/// <summary>
/// f32 GEMM (C = A·B, no transposes), RawDistill's <see cref="CpuGemm"/> against OpenBLAS on the
/// same operands and the same thread count, with a GFLOP/s column: square n and the skinny
/// M×N×K shapes of the convolutions' forward GEMMs (M = Cout, N = images·H·W, K = Cin·9; see
/// CpuBackend.Conv.cs), e.g. 128×1024×576 for a 64→128 layer.
/// Run: <c>dotnet run -c Release --project benchmarks/RawDistill.Benchmarks -- --filter *GemmBenchmarks*</c>.
/// OpenBLAS picks its kernels when it loads (<c>OPENBLAS_CORETYPE</c> overrides the CPU it
/// detects): benchmarks/cpu-side-by-side.sh runs the OpenBLAS method in a process of its own with
/// <c>OPENBLAS_CORETYPE</c> and <c>OPENBLAS_L2_SIZE</c> unset, so it runs its native kernels
/// (AVX-512 on a Skylake-X/Zen 4 class CPU), and <see cref="Setup"/> prints the core it chose.
/// For a quick side-by-side table use the <c>gemm-ratio</c> mode instead (see <see cref="GemmRatio"/>).
/// </summary>
[Config(typeof(GemmConfig))]
public unsafe class GemmBenchmarks
{
    /// <summary>Both libraries run on this many threads: the 2-core reference machine's count.</summary>
    public const int Threads = 2;

    private GemmMatrices<float>? matrices;

    /// <summary>n (square) or MxNxK.</summary>
    [Params("256", "512", "1024", "2048", "128x1024x576", "512x1024x2304", "64x1024x288")]
    public string Shape { get; set; } = "1024";

    private int m, n, k;

    [GlobalSetup]
    public void Setup()
    {
        CpuGemm.MaxThreads = Threads;
        if (OpenBlas.IsAvailable)
        {
            OpenBlas.SetThreads(Threads);

            // The reference's kernel family goes into the log (cpu-side-by-side.sh copies it to run.txt).
            Console.WriteLine($"// OpenBLAS core: {OpenBlas.CoreName}; config: {OpenBlas.Config}; OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"}");
        }

        (m, n, k) = ParseShape(Shape);
        matrices = new GemmMatrices<float>(m, n, k);
    }

    [GlobalCleanup]
    public void Cleanup() => matrices?.Dispose();

    [Benchmark(Baseline = true, Description = "OpenBLAS")]
    public void OpenBlasSgemm()
    {
        var x = matrices!;
        OpenBlas.Sgemm(false, false, m, n, k, 1f, x.A, k, x.B, n, 0f, x.C, n);
    }

    [Benchmark(Description = "RawDistill")]
    public void RawDistillSgemm()
    {
        var x = matrices!;
        CpuGemm.Sgemm(false, false, m, n, k, 1f, x.A, k, x.B, n, 0f, x.C, n);
    }

    /// <summary>"n" → (n, n, n); "MxNxK" → (M, N, K).</summary>
    public static (int M, int N, int K) ParseShape(string shape)
    {
        int[] d = shape.Split('x').Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return d.Length == 3 ? (d[0], d[1], d[2]) : (d[0], d[0], d[0]);
    }

    /// <summary>Few iterations: one 2048³ GEMM takes ~0.1 s, and the mean is stable after a handful.</summary>
    private sealed class GemmConfig : ManualConfig
    {
        public GemmConfig()
        {
            AddJob(BenchJobs.Short(3, 10));
            AddColumn(new GflopsColumn());
        }
    }
}

/// <summary>Throughput of a GEMM benchmark: 2·m·n·k / mean time, from the <c>Shape</c> parameter.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Floating-point operations per second of an m×n×k GEMM: 2·m·n·k / mean time, in 10⁹";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || benchmarkCase.Parameters["Shape"] is not string shape)
        {
            return "-";
        }

        var (m, n, k) = GemmBenchmarks.ParseShape(shape);

        // Mean is in nanoseconds, so flops/ns is already GFLOP/s.
        return (2.0 * m * n * k / stats.Mean).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
