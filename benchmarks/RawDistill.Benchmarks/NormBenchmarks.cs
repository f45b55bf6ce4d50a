using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using RawDistill.Autodiff;
using RawDistill.Backends.Cpu;
using RawDistill.Random;
using RawDistill.Tensors;

namespace RawDistill.Benchmarks;

/// <summary>
/// Batch norm (training mode, with running-statistics update) and group norm (G = C, the
/// instance norm of the "instance" ConvNets) on the CPU backend, forward and forward+backward
/// (∂x, ∂γ, ∂β through the generic autodiff, as training uses them), on the output of
/// ConvNet layers (<see cref="KrrShapes.Conv"/>: N × Cout × H × W). GB/s counts the minimum
/// traffic: forward reads x and writes y (2 passes over the tensor), forward+backward adds
/// reading dy and x and writing dx (5 passes), 4 bytes each.
/// PyTorch counterpart: benchmarks/pytorch/norm.py (same case names).
/// Run: <c>dotnet run -c Release --project benchmarks/RawDistill.Benchmarks -- --filter *NormBenchmarks*</c>.
/// </summary>
[Config(typeof(NormConfig))]
public class NormBenchmarks
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;
    private Tensor? x, dy, gamma, beta, runningMean, runningVar;
    private int channels;

    /// <summary>The case names whose conv output is normalized.</summary>
    [Params("fmnist-L1", "cifar-L1", "cifar-L2")]
    public string Case { get; set; } = "fmnist-L1";

    [GlobalSetup]
    public void Setup()
    {
        CpuGemm.MaxThreads = GemmBenchmarks.Threads;
        var s = KrrShapes.ConvById(Case);
        channels = s.Cout;
        var rng = new Generator(11);
        using var scope = TensorScope.Begin();
        x = Tensor.Normal([s.Batch, s.Cout, s.Size, s.Size], 0.5, 2, rng, backend: Cpu).Keep();
        dy = Tensor.Normal([s.Batch, s.Cout, s.Size, s.Size], 0, 1, rng, backend: Cpu).Keep();
        gamma = Tensor.Normal([s.Cout], 1, 0.1, rng, backend: Cpu).Keep();
        beta = Tensor.Normal([s.Cout], 0, 0.1, rng, backend: Cpu).Keep();
        runningMean = Tensor.Zeros([s.Cout], backend: Cpu).Keep();
        runningVar = Tensor.Ones([s.Cout], backend: Cpu).Keep();
        x.RequiresGrad = true;
        gamma.RequiresGrad = true;
        beta.RequiresGrad = true;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { x, dy, gamma, beta, runningMean, runningVar }) t?.Dispose();
    }

    private Tensor BatchNorm() => Ops.BatchNorm(x!, gamma, beta, runningMean, runningVar, training: true);

    private Tensor GroupNorm() => Ops.GroupNorm(x!, channels, gamma, beta);

    [Benchmark(Description = "batchnorm forward")]
    public void BatchNormForward()
    {
        using var scope = TensorScope.Begin();
        using var _ = GradMode.NoGrad();
        BatchNorm();
    }

    [Benchmark(Description = "batchnorm forward+backward")]
    public void BatchNormForwardBackward()
    {
        using var scope = TensorScope.Begin();
        Autograd.Grad([BatchNorm()], [x!, gamma!, beta!], [dy!]);
    }

    [Benchmark(Description = "groupnorm forward")]
    public void GroupNormForward()
    {
        using var scope = TensorScope.Begin();
        using var _ = GradMode.NoGrad();
        GroupNorm();
    }

    [Benchmark(Description = "groupnorm forward+backward")]
    public void GroupNormForwardBackward()
    {
        using var scope = TensorScope.Begin();
        Autograd.Grad([GroupNorm()], [x!, gamma!, beta!], [dy!]);
    }

    private sealed class NormConfig : ManualConfig
    {
        public NormConfig()
        {
            AddJob(BenchJobs.Short(2, 7));
            AddColumn(new ThroughputColumn("GB/s", "minimum traffic (forward 2, forward+backward 5 passes of 4-byte elements) / mean time, in 10⁹ bytes",
                c =>
                {
                    var s = KrrShapes.ConvById(ThroughputColumn.Param(c, nameof(Case)));
                    double numel = (double)s.Batch * s.Cout * s.Size * s.Size;
                    return numel * 4 * (c.Descriptor.WorkloadMethod.Name.EndsWith("Backward", StringComparison.Ordinal) ? 5 : 2);
                }, 1e9));
            AddColumn(new ThroughputColumn("img/s", "batch / mean time",
                c => KrrShapes.ConvById(ThroughputColumn.Param(c, nameof(Case))).Batch, 1));
        }
    }
}
