using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using RawDistill.Backends.Cpu;

namespace RawDistill.Benchmarks;

/// <summary>
/// The short jobs of this project's benchmark classes. With the environment variable
/// <c>RAWDISTILL_BENCH_INPROCESS=1</c> (set by benchmarks/cpu-side-by-side.sh) they run in the
/// host process (BenchmarkDotNet's in-process toolchain) instead of a freshly built child
/// process per case: no minute-long rebuild per invocation, so the driver can alternate
/// RawDistill and PyTorch family by family. (BenchmarkDotNet's own <c>--inProcess</c> flag adds
/// a second, default-length job instead of changing these.)
/// </summary>
public static class BenchJobs
{
    /// <summary>True when <c>RAWDISTILL_BENCH_INPROCESS=1</c>.</summary>
    public static bool InProcess => Environment.GetEnvironmentVariable("RAWDISTILL_BENCH_INPROCESS") == "1";

    /// <summary>
    /// Applies <c>RAWDISTILL_BENCH_CONV_VERSION</c> = 1 | 2 | 3 (default 3, the backend's; see
    /// ConvVersions) for before/after runs of whole models; called by each benchmark's setup, so
    /// it holds in-process and in BenchmarkDotNet's child processes alike. Returns the version in force.
    /// </summary>
    public static int ApplyConvSetting()
    {
        var v = Environment.GetEnvironmentVariable("RAWDISTILL_BENCH_CONV_VERSION");
        int version = string.IsNullOrEmpty(v) ? 3 : int.Parse(v, System.Globalization.CultureInfo.InvariantCulture);
        if (version is < 1 or > 3) throw new ArgumentException($"RAWDISTILL_BENCH_CONV_VERSION: 1, 2 or 3, got '{v}'");
        CpuBackend.MaxImagesPerGemm = version == 1 ? 1 : int.MaxValue;
        CpuBackend.ImplicitIm2ColDefault = version == 3;
        CpuBackend.SerialGemmsPerGroup = version == 3;
        return version;
    }

    /// <summary>One launch, <paramref name="warmup"/> warm-up and <paramref name="iterations"/> measured iterations.</summary>
    public static Job Short(int warmup, int iterations)
    {
        var job = Job.Default.WithWarmupCount(warmup).WithIterationCount(iterations).WithLaunchCount(1);
        return InProcess ? job.WithToolchain(InProcessEmitToolchain.Instance) : job;
    }
}
