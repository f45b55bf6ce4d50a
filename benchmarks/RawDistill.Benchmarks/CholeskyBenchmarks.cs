using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using RawDistill.Backends.Cpu;
using RawDistill.Random;
using RawDistill.Tensors;

namespace RawDistill.Benchmarks;

/// <summary>
/// The KRR solve in f64 on the CPU backend: Cholesky factor L of an SPD m×m matrix
/// A = K + λI, then α = A⁻¹Y by two triangular solves (Y of m × <see cref="Columns"/>),
/// for m = 100 … 2000 (m = 100 is the CPU config, 1000 the CIFAR reference, 2000 TinyImageNet).
/// GFLOP/s counts m³/3 (factor) + 2·m²·d (two solves).
/// PyTorch counterpart: benchmarks/pytorch/cholesky.py (torch.linalg.cholesky + torch.cholesky_solve).
/// Run: <c>dotnet run -c Release --project benchmarks/RawDistill.Benchmarks -- --filter *CholeskyBenchmarks*</c>.
/// </summary>
[Config(typeof(CholeskyConfig))]
public class CholeskyBenchmarks
{
    /// <summary>d, the columns of Y: the reference teacher's 512-d representation.</summary>
    public const int Columns = 512;

    private static readonly CpuBackend Cpu = CpuBackend.Instance;
    private Tensor? a, l, y, z, alpha;

    [Params(100, 250, 500, 1000, 2000)]
    public int M { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        CpuGemm.MaxThreads = GemmBenchmarks.Threads;
        var rng = new Generator(5);
        using var scope = TensorScope.Begin();
        // A Gram matrix of M random 2M-dim features plus a small ridge: SPD and moderately conditioned, like K_ss + λI.
        var f = Tensor.Normal([M, 2 * M], 0, 1, rng, DType.F64, Cpu);
        var k = Ops.MatMul(f, f, transB: true);
        a = Ops.Add(k, Ops.Mul(Ops.Eye(M, k), 1e-6 * 2 * M * M)).Keep();
        l = Tensor.Zeros([M, M], DType.F64, Cpu).Keep();
        y = Tensor.Normal([M, Columns], 0, 1, rng, DType.F64, Cpu).Keep();
        z = Tensor.Zeros([M, Columns], DType.F64, Cpu).Keep();
        alpha = Tensor.Zeros([M, Columns], DType.F64, Cpu).Keep();
        if (Cpu.Cholesky(a.Storage, M, l.Storage) >= 0) throw new InvalidOperationException("benchmark matrix is not positive definite");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { a, l, y, z, alpha }) t?.Dispose();
    }

    [Benchmark(Description = "factor+solve")]
    public int FactorSolve()
    {
        int pivot = Cpu.Cholesky(a!.Storage, M, l!.Storage);
        Cpu.TriangularSolve(l.Storage, M, y!.Storage, Columns, z!.Storage, transpose: false);
        Cpu.TriangularSolve(l.Storage, M, z.Storage, Columns, alpha!.Storage, transpose: true);
        return pivot;
    }

    [Benchmark(Description = "factor")]
    public int Factor() => Cpu.Cholesky(a!.Storage, M, l!.Storage);

    private sealed class CholeskyConfig : ManualConfig
    {
        public CholeskyConfig()
        {
            AddJob(BenchJobs.Short(2, 7));
            AddColumn(new ThroughputColumn("GFLOP/s", "(m³/3 + 2·m²·d for factor+solve, m³/3 for factor) / mean time, in 10⁹",
                c =>
                {
                    double m = (int)c.Parameters["M"]!;
                    bool solve = c.Descriptor.WorkloadMethod.Name == nameof(FactorSolve);
                    return m * m * m / 3 + (solve ? 2 * m * m * Columns : 0);
                }, 1e9));
        }
    }
}
