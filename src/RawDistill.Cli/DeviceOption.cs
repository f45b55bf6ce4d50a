namespace RawDistill.Cli;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cuda;

/// <summary>Turns a --device value (auto | cpu | cuda[:N]) into a backend, saying what it picked and why.</summary>
public static class DeviceOption
{
    public static IBackend Resolve(string device, TextWriter log)
    {
        var d = device.Trim().ToLowerInvariant();
        if (d == "cpu") return CpuBackend.Instance;
        if (d == "auto")
        {
            if (CudaBackend.TryCreate(0, out var gpu, out var whyNot))
            {
                log.WriteLine($"device: {gpu}");
                return gpu!;
            }
            log.WriteLine($"device: cpu (CUDA not available: {FirstReason(whyNot)}; `rawdistill doctor` lists what was tried)");
            return CpuBackend.Instance;
        }
        if (d == "cuda" || d.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int ordinal = 0;
            if (d.Length > 4 && !int.TryParse(d[5..], out ordinal))
                throw new CliException($"--device {device}: expected cuda or cuda:N with N a device number");
            if (CudaBackend.TryCreate(ordinal, out var gpu, out var whyNot))
            {
                log.WriteLine($"device: {gpu}");
                return gpu!;
            }
            throw new CliException($"--device {device}: CUDA is not available: {whyNot}");
        }
        throw new CliException($"--device: expected auto, cpu or cuda[:N], got '{device}'");
    }

    /// <summary>The first line of a "why not" report, without the list of attempts it introduces.</summary>
    static string FirstReason(string whyNot)
    {
        var line = whyNot.Split('\n')[0].TrimEnd();
        int tried = line.LastIndexOf("; tried:", StringComparison.Ordinal);
        return tried >= 0 ? line[..tried] : line.TrimEnd(':');
    }
}
