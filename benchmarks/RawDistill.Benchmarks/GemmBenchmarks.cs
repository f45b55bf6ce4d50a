using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using RawDistill.Backends.Cpu;

namespace RawDistill.Benchmarks;

/// <summary>
/// Square f32 GEMM (C = A·B, no transposes), RawDistill's <see cref="CpuGemm"/> against
/// OpenBLAS on the same operands and the same thread count, with a GFLOP/s column.
/// Run: <c>dotnet run -c Release --project benchmarks/RawDistill.Benchmarks -- --filter *GemmBenchmarks*</c>.
/// For a quick side-by-side table use the <c>gemm-ratio</c> mode instead (see <see cref="GemmRatio"/>).
/// </summary>
[Config(typeof(GemmConfig))]
public unsafe class GemmBenchmarks
{
    /// <summary>Both libraries run on this many threads: the 2-core reference machine's count.</summary>
    public const int Threads = 2;

    private GemmMatrices<float>? matrices;

    [Params(256, 512, 1024, 2048)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        CpuGemm.MaxThreads = Threads;
        if (OpenBlas.IsAvailable)
        {
            OpenBlas.SetThreads(Threads);
        }

        matrices = new GemmMatrices<float>(N);
    }

    [GlobalCleanup]
    public void Cleanup() => matrices?.Dispose();

    [Benchmark(Baseline = true, Description = "OpenBLAS")]
    public void OpenBlasSgemm()
    {
        var x = matrices!;
        OpenBlas.Sgemm(false, false, N, N, N, 1f, x.A, N, x.B, N, 0f, x.C, N);
    }

    [Benchmark(Description = "RawDistill")]
    public void RawDistillSgemm()
    {
        var x = matrices!;
        CpuGemm.Sgemm(false, false, N, N, N, 1f, x.A, N, x.B, N, 0f, x.C, N);
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

/// <summary>Throughput of a square GEMM benchmark: 2·n³ / mean time, n being the <c>N</c> parameter.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Floating-point operations per second of an n×n×n GEMM: 2·n³ / mean time, in 10⁹";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || benchmarkCase.Parameters["N"] is not int n)
        {
            return "-";
        }

        // Mean is in nanoseconds, so flops/ns is already GFLOP/s.
        return (2.0 * n * n * n / stats.Mean).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
