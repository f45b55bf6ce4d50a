namespace RawDistill.Cli;

using CommandLine;
using CommandLine.Text;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cuda;
using RawDistill.Diagnostics;
using RawDistill.Diagnostics.Profiling;

[Verb("selftest", HelpText = "Check a backend against the CPU reference: forward and backward of every op, a ConvNet step, the Cholesky solve, optimizer steps, Philox streams; --thorough adds every primitive at every block size.")]
public sealed class SelftestOptions
{
    [Option("device", Default = "auto", HelpText = "Backend to check: auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("dtype", Default = "f32", HelpText = "dtype the checked backend computes in (f32 or f64); the reference is always the CPU in f64.")]
    public string DType { get; set; } = "f32";

    [Option("seed", Default = 0UL, HelpText = "Seed of the random inputs.")]
    public ulong Seed { get; set; }

    [Option("thorough", HelpText = "Also check every backend primitive against the CPU (what the [CudaFact] device tests check: " +
        "blocked Cholesky at n ≥ 256, split reductions, convolution in one-item chunks, rank-6 permute, casts of NaN and out-of-range values, " +
        "f32 and f64), then repeat the op suite and the primitives at every block size of the block-size sweep. " +
        "Stops at the first sticky device error, naming the case. Sets RAWDISTILL_SYNC=1 unless it is set.")]
    public bool Thorough { get; set; }

    public static IEnumerable<Example> Examples =>
    [
        new Example("Verify the CUDA backend on a GPU machine", new SelftestOptions { Device = "cuda" }),
        new Example("Everything the device tests check, at every block size, in float64", new SelftestOptions { Device = "cuda", Thorough = true, DType = "f64" }),
        new Example("Check the CPU backend's float32 path against float64", new SelftestOptions { Device = "cpu" }),
    ];
}

/// <summary>
/// Runs <see cref="ParitySuite"/> (and with --thorough <see cref="PrimitiveParity"/>, also at
/// every block size) and prints one row per check as it finishes; exit code 1 on any failure.
/// After a failed check the backend is probed (<see cref="BackendHealth"/>): a sticky device
/// error stops the run there, naming the case that raised it.
/// </summary>
public static class SelftestCommand
{
    public static int Run(SelftestOptions o)
    {
        var dtype = o.DType.ToLowerInvariant() switch
        {
            "f32" => Tensors.DType.F32,
            "f64" => Tensors.DType.F64,
            _ => throw new CliException($"--dtype: expected f32 or f64, got '{o.DType}'"),
        };
        // A device fault surfaces at the next synchronization: synchronizing after every launch
        // names the kernel that caused it. Read by the CUDA backend when it opens.
        bool syncDefaulted = o.Thorough && Environment.GetEnvironmentVariable(CudaBackend.SyncVariable) is null;
        if (syncDefaulted) Environment.SetEnvironmentVariable(CudaBackend.SyncVariable, "1");
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        Console.WriteLine($"selftest: {backend.Name} in {o.DType} against cpu in f64, tolerance {ParitySuite.Tolerance(dtype):E0} of each tensor's largest magnitude" +
            (o.Thorough ? $"; thorough: every primitive in f32 and f64 against the cpu, at every block size; {CudaBackend.SyncVariable}={Environment.GetEnvironmentVariable(CudaBackend.SyncVariable)}" +
                (syncDefaulted ? " (selftest's default)" : "") : ""));
        Console.WriteLine($"{"block",-7} {"check",-56} {"worst",-28} {"max rel err",11}  result");

        var results = new List<(string Block, ParityResult Result)>();
        string? stopped = null;
        bool Record(string block, ParityResult r)
        {
            results.Add((block, r));
            string rel = double.IsNaN(r.MaxRelError) ? "-" : r.MaxRelError.ToString("E2");
            Console.WriteLine($"{block,-7} {Clip(r.Name, 56),-56} {Clip(r.Worst, 28),-28} {rel,11}  {(r.Passed ? "pass" : "FAIL")}");
            if (r.Error != null) Console.WriteLine($"    {r.Error}");
            if (r.Passed) return true;
            if (BackendHealth.Probe(backend) is not { } sticky) return true;
            stopped = $"STOPPED at the first sticky device error: case '{r.Name}' (block {block}, {o.DType}) left the device failing: {sticky}";
            Console.WriteLine(stopped);
            return false;
        }

        bool OpSuite(string block)
        {
            foreach (var c in ParitySuite.Cases)
                if (!Record(block, ParitySuite.Run(c, CpuBackend.Instance, backend, dtype, o.Seed))) return false;
            foreach (var r in BackendChecks.Run(CpuBackend.Instance, backend, dtype, o.Seed))
                if (!Record(block, r)) return false;
            return true;
        }

        bool Primitives(string block, bool thorough)
        {
            Func<IDisposable>? chunks = backend is CudaBackend ? () => CudaBackend.ConvWorkspaceScope(1) : null;
            foreach (var check in PrimitiveParity.Checks(thorough, chunks))
                if (!Record(block, PrimitiveParity.Run(check, backend))) return false;
            return true;
        }

        var prof = backend as IProfilingBackend;
        bool going = OpSuite("default");
        if (o.Thorough && going)
        {
            going = Primitives("default", thorough: true);
            if (prof != null)
            {
                try
                {
                    foreach (int block in prof.BlockSizes)
                    {
                        if (!going) break;
                        prof.BlockSizeOverride = block;
                        going = OpSuite(block.ToString()) && Primitives(block.ToString(), thorough: false);
                    }
                }
                finally
                {
                    prof.BlockSizeOverride = null;
                }
            }
            else Console.WriteLine($"(no block-size sweep: {backend.Name} has no launch blocks)");
        }

        var failed = results.Where(r => !r.Result.Passed).ToList();
        Console.WriteLine($"{results.Count - failed.Count} passed, {failed.Count} failed{(stopped != null ? " (stopped early)" : "")}");
        foreach (var (block, r) in failed) Console.WriteLine($"  FAILED [block {block}] {r.Name}: {r.Error ?? $"{r.Worst} rel {r.MaxRelError:E2}"}");
        if (stopped != null) Console.WriteLine(stopped);
        return failed.Count == 0 ? 0 : 1;
    }

    static string Clip(string s, int width) => s.Length <= width ? s : s[..(width - 1)] + "…";
}
