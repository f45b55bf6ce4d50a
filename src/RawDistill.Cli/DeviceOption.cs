namespace RawDistill.Cli;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;

/// <summary>Turns a --device value (auto | cpu | cuda[:N]) into a backend, saying what it picked and why.</summary>
public static class DeviceOption
{
    public static IBackend Resolve(string device, TextWriter log)
    {
        var d = device.Trim().ToLowerInvariant();
        if (d == "cpu") return CpuBackend.Instance;
        if (d == "auto")
        {
            log.WriteLine("device: cpu (the CUDA backend is not available in this build)");
            return CpuBackend.Instance;
        }
        if (d == "cuda" || d.StartsWith("cuda:", StringComparison.Ordinal))
            throw new CliException($"--device {device}: the CUDA backend is not available in this build; use --device cpu");
        throw new CliException($"--device: expected auto, cpu or cuda[:N], got '{device}'");
    }
}
