using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Random;
using RawDistill.Tensors;

namespace RawDistill.Benchmarks;

/// <summary>
/// conv2d 3×3 (stride 1, pad 1) forward (with bias), backward-input and backward-weight on the
/// CPU backend, for the layers of the KRR-ST ConvNets (<see cref="KrrShapes.Conv"/>: the
/// Fashion-MNIST CPU config and the CIFAR reference), with GFLOP/s and img/s columns.
/// PyTorch counterpart: benchmarks/pytorch/conv2d.py --cases (same case names).
/// Run: <c>dotnet run -c Release --project benchmarks/RawDistill.Benchmarks -- --filter *ConvBenchmarks*</c>.
/// </summary>
[Config(typeof(ConvConfig))]
public class ConvBenchmarks
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;
    private Tensor? x, w, b, y, dy, dx, dw;
    private Conv2dGeometry geometry;

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "fmnist-L1";

    public static IEnumerable<string> Cases => KrrShapes.Conv.Select(s => s.Id);

    /// <summary>
    /// "3": the backend's default (operand packed from the images, image-group GEMMs on their
    /// thread); "2": the im2col matrix written out, GEMMs forking on their own — before/after in one run.
    /// </summary>
    [Params("3", "2")]
    public string Version { get; set; } = "3";

    [GlobalSetup]
    public void Setup()
    {
        CpuGemm.MaxThreads = GemmBenchmarks.Threads;
        CpuBackend.SerialGemmsPerGroup = Version == "3";
        CpuBackend.ImplicitIm2ColDefault = Version == "3";
        var s = KrrShapes.ConvById(Case);
        geometry = new Conv2dGeometry(s.Batch, s.Cin, s.Size, s.Size, s.Cout, 3, 3, 1, 1, 1, 1, 1);
        var rng = new Generator(7);
        x = Tensor.Normal([s.Batch, s.Cin, s.Size, s.Size], 0, 1, rng, backend: Cpu);
        w = Tensor.Normal([s.Cout, s.Cin, 3, 3], 0, Math.Sqrt(2.0 / (s.Cin * 9)), rng, backend: Cpu);
        b = Tensor.Normal([s.Cout], 0, 1, rng, backend: Cpu);
        dy = Tensor.Normal([s.Batch, s.Cout, s.Size, s.Size], 0, 1, rng, backend: Cpu);
        y = Tensor.Zeros([s.Batch, s.Cout, s.Size, s.Size], backend: Cpu);
        dx = Tensor.Zeros([s.Batch, s.Cin, s.Size, s.Size], backend: Cpu);
        dw = Tensor.Zeros([s.Cout, s.Cin, 3, 3], backend: Cpu);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CpuBackend.SerialGemmsPerGroup = true;
        CpuBackend.ImplicitIm2ColDefault = true;
        foreach (var t in new[] { x, w, b, y, dy, dx, dw }) t?.Dispose();
    }

    [Benchmark(Description = "forward")]
    public void Forward() => Cpu.Conv2dForward(geometry, x!.Storage, w!.Storage, b!.Storage, y!.Storage);

    [Benchmark(Description = "backward-input")]
    public void BackwardInput() => Cpu.Conv2dBackwardInput(geometry, dy!.Storage, w!.Storage, dx!.Storage);

    /// <summary>The weight gradient only (the bias gradient, a sum of dy over N, H, W, is a separate reduction in RawDistill).</summary>
    [Benchmark(Description = "backward-weight")]
    public void BackwardWeight() => Cpu.Conv2dBackwardWeight(geometry, x!.Storage, dy!.Storage, dw!.Storage);

    /// <summary>Short job: each case is a few to a few hundred milliseconds.</summary>
    private sealed class ConvConfig : ManualConfig
    {
        public ConvConfig()
        {
            AddJob(BenchJobs.Short(2, 7));
            AddColumn(new ThroughputColumn("GFLOP/s", "2·N·Cout·H·W·Cin·9 / mean time, in 10⁹",
                c => KrrShapes.ConvById(ThroughputColumn.Param(c, nameof(Case))).Flops, 1e9));
            AddColumn(new ThroughputColumn("img/s", "batch / mean time",
                c => KrrShapes.ConvById(ThroughputColumn.Param(c, nameof(Case))).Batch, 1));
        }
    }
}
