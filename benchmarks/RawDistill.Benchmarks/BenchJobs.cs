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
    /// Applies <c>RAWDISTILL_BENCH_CONV_IMAGES_PER_GEMM=1</c> (conv2d version 1, one image per
    /// GEMM, for before/after runs of whole models); called by each benchmark's setup, so it holds
    /// in-process and in BenchmarkDotNet's child processes alike. Returns the cap in force.
    /// </summary>
    public static int ApplyConvSetting()
    {
        var v = Environment.GetEnvironmentVariable("RAWDISTILL_BENCH_CONV_IMAGES_PER_GEMM");
        CpuBackend.MaxImagesPerGemm = string.IsNullOrEmpty(v) ? int.MaxValue : int.Parse(v, System.Globalization.CultureInfo.InvariantCulture);
        return CpuBackend.MaxImagesPerGemm;
    }

    /// <summary>One launch, <paramref name="warmup"/> warm-up and <paramref name="iterations"/> measured iterations.</summary>
    public static Job Short(int warmup, int iterations)
    {
        var job = Job.Default.WithWarmupCount(warmup).WithIterationCount(iterations).WithLaunchCount(1);
        return InProcess ? job.WithToolchain(InProcessEmitToolchain.Instance) : job;
    }
}
