namespace RawDistill.Cuda;

using System.Text;
using RawDistill.Cuda.Native;

/// <summary>One CUDA device as the driver describes it.</summary>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int Major, int Minor, long TotalMemoryBytes, int Multiprocessors);

/// <summary>What <see cref="CudaProbe.Run"/> found: libraries (or every attempt), versions, devices, and the first error.</summary>
public sealed record CudaReport(
    IReadOnlyList<LibraryLocation> Libraries,
    string? NvrtcVersion,
    string? DriverVersion,
    string? CublasVersion,
    IReadOnlyList<CudaDeviceInfo> Devices,
    string? Problem)
{
    /// <summary>True when at least one device can be used (driver, NVRTC and cuBLAS loaded).</summary>
    public bool Usable => Devices.Count > 0 && Libraries.All(l => l.Found) && Problem is null;

    /// <summary>Human-readable lines for `rawdistill doctor`.</summary>
    public IEnumerable<string> Lines()
    {
        foreach (var lib in Libraries)
        {
            if (lib.Found)
            {
                var version = lib.Library switch
                {
                    CudaLibrary.Driver => DriverVersion is null ? "" : $" (CUDA driver API {DriverVersion})",
                    CudaLibrary.Nvrtc => NvrtcVersion is null ? "" : $" (NVRTC {NvrtcVersion})",
                    CudaLibrary.Cublas => CublasVersion is null ? "" : $" (cuBLAS {CublasVersion})",
                    _ => "",
                };
                yield return $"{LibName(lib.Library),-7} {lib.LoadedFrom}{version}";
            }
            else
            {
                yield return $"{LibName(lib.Library),-7} not found; tried:";
                foreach (var a in lib.Attempts) yield return $"          {a.Path} — {a.Error}";
            }
        }
        foreach (var d in Devices)
            yield return $"device {d.Ordinal}  {d.Name}, compute capability {d.Major}.{d.Minor}, {d.TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, {d.Multiprocessors} SMs";
        if (Problem is not null) yield return "problem  " + Problem;
    }

    static string LibName(CudaLibrary l) => l switch
    {
        CudaLibrary.Driver => "driver",
        CudaLibrary.Nvrtc => "nvrtc",
        _ => "cublas",
    };
}

/// <summary>
/// Looks for CUDA without ever throwing: which libraries load (with versions, or every
/// path tried), the driver version, each device's name, compute capability and memory.
/// NVRTC's version is reported even on a machine with no driver.
/// </summary>
public static unsafe class CudaProbe
{
    /// <summary>Probes the machine.</summary>
    public static CudaReport Run()
    {
        var libs = new[] { CudaLibrary.Driver, CudaLibrary.Nvrtc, CudaLibrary.Cublas }.Select(CudaLibraryResolver.Locate).ToList();
        string? nvrtc = null, driver = null, cublas = null, problem = null;
        var devices = new List<CudaDeviceInfo>();

        if (libs[1].Found)
        {
            try
            {
                var (major, minor) = NvrtcCompiler.Version();
                nvrtc = $"{major}.{minor}";
            }
            catch (Exception e) { problem = Short(e); }
        }

        if (libs[0].Found)
        {
            try
            {
                CudaDriver.Check(CudaDriver.cuDriverGetVersion(out int v));
                driver = $"{v / 1000}.{v % 1000 / 10}";
                CudaDriver.Check(CudaDriver.cuInit(0));
                CudaDriver.Check(CudaDriver.cuDeviceGetCount(out int count));
                for (int i = 0; i < count; i++)
                {
                    CudaDriver.Check(CudaDriver.cuDeviceGet(out int dev, i));
                    CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int major, CudaDriver.AttrComputeCapabilityMajor, dev));
                    CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int minor, CudaDriver.AttrComputeCapabilityMinor, dev));
                    CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int sms, CudaDriver.AttrMultiprocessorCount, dev));
                    CudaDriver.Check(CudaDriver.cuDeviceTotalMem_v2(out nuint mem, dev));
                    devices.Add(new CudaDeviceInfo(i, DeviceName(dev), major, minor, (long)mem, sms));
                }
                if (count == 0) problem ??= "the driver reports no CUDA device";
                if (count > 0 && libs[2].Found) cublas = CublasVersion(devices[0].Ordinal);
            }
            catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
            {
                problem ??= Short(e);
            }
        }
        return new CudaReport(libs, nvrtc, driver, cublas, devices, problem);
    }

    static string Short(Exception e) => e.Message.Split('\n')[0];

    /// <summary>The device's name from cuDeviceGetName.</summary>
    internal static string DeviceName(int device)
    {
        byte* buf = stackalloc byte[256];
        if (CudaDriver.cuDeviceGetName(buf, 256, device) != CuResult.Success) return "(unknown device)";
        int len = 0;
        while (len < 256 && buf[len] != 0) len++;
        return Encoding.UTF8.GetString(buf, len);
    }

    /// <summary>cuBLAS reports its version only through a handle, which needs a context.</summary>
    static string? CublasVersion(int ordinal)
    {
        if (!CudaBackend.TryCreate(ordinal, out var backend, out _)) return null;
        using (backend)
            return backend!.CublasVersion is int v ? $"{v / 10000}.{v / 100 % 100}.{v % 100}" : null;
    }
}
