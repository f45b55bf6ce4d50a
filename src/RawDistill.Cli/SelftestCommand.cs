namespace RawDistill.Cli;

using CommandLine;
using CommandLine.Text;
using RawDistill.Backends.Cpu;
using RawDistill.Diagnostics;

[Verb("selftest", HelpText = "Check a backend against the CPU reference: forward and backward of every op, a ConvNet step, the Cholesky solve, optimizer steps, Philox streams.")]
public sealed class SelftestOptions
{
    [Option("device", Default = "auto", HelpText = "Backend to check: auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("dtype", Default = "f32", HelpText = "dtype the checked backend computes in (f32 or f64); the reference is always the CPU in f64.")]
    public string DType { get; set; } = "f32";

    [Option("seed", Default = 0UL, HelpText = "Seed of the random inputs.")]
    public ulong Seed { get; set; }

    [Usage(ApplicationAlias = "rawdistill")]
    public static IEnumerable<Example> Examples =>
    [
        new Example("Verify the CUDA backend on a GPU machine", new SelftestOptions { Device = "cuda" }),
        new Example("Check the CPU backend's float32 path against float64", new SelftestOptions { Device = "cpu" }),
    ];
}

/// <summary>Runs <see cref="ParitySuite"/> and prints one row per check; exit code 1 on any failure.</summary>
public static class SelftestCommand
{
    public static int Run(SelftestOptions o)
    {
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        var dtype = o.DType.ToLowerInvariant() switch
        {
            "f32" => Tensors.DType.F32,
            "f64" => Tensors.DType.F64,
            _ => throw new CliException($"--dtype: expected f32 or f64, got '{o.DType}'"),
        };
        Console.WriteLine($"selftest: {backend.Name} in {o.DType} against cpu in f64, tolerance {ParitySuite.Tolerance(dtype):E0} of each tensor's largest magnitude");
        Console.WriteLine($"{"check",-36} {"worst",-14} {"max abs err",12} {"max rel err",12}  result");
        var results = ParitySuite.RunAll(CpuBackend.Instance, backend, dtype, o.Seed);
        foreach (var r in results)
        {
            Console.WriteLine($"{r.Name,-36} {r.Worst,-14} {r.MaxAbsError,12:E2} {r.MaxRelError,12:E2}  {(r.Passed ? "pass" : "FAIL")}");
            if (r.Error != null) Console.WriteLine($"    {r.Error}");
        }
        int failed = results.Count(r => !r.Passed);
        Console.WriteLine($"{results.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
