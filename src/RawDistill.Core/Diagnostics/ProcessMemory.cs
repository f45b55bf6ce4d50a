namespace RawDistill.Diagnostics;

using System.Globalization;

/// <summary>
/// The process's resident set from /proc (Linux): now, and the high-water mark since the
/// last <see cref="ResetPeak"/>. Framework-neutral, so a PyTorch twin measured the same way
/// (benchmarks/pytorch/mkdt_step.py) compares like with like; it includes everything the
/// process touched (caching pools, scratch, the runtime), so differences matter more than levels.
/// Elsewhere every figure is -1.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Resident bytes now (VmRSS), or -1 when /proc is not there.</summary>
    public static long ResidentBytes => Read("VmRSS:");

    /// <summary>Peak resident bytes since the last reset (VmHWM), or -1.</summary>
    public static long PeakResidentBytes => Read("VmHWM:");

    /// <summary>Starts a new high-water window (writes 5 to /proc/self/clear_refs); false where that is not possible.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    static long Read(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return -1;
    }
}
