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
    /// <summary>The result of the smoke test on device 0 (null when no device opened).</summary>
    public string? SmokeTest { get; init; }

    /// <summary>Compute capabilities NVRTC compiles for (null: NVRTC missing or older than 11.2).</summary>
    public int[]? NvrtcArchitectures { get; init; }

    /// <summary>A kernel file compiled by NVRTC for the device's architecture (or NVRTC's newest without a device): "passed: …" or "FAILED: " and the whole log.</summary>
    public string? CompileCheck { get; init; }

    /// <summary>Where compiled kernels are cached.</summary>
    public string KernelCacheDirectory { get; init; } = KernelCache.Directory;

    /// <summary>True when at least one device can be used (driver, NVRTC and cuBLAS loaded).</summary>
    public bool Usable => Devices.Count > 0 && Libraries.All(l => l.Found) && Problem is null;

    /// <summary>
    /// Human-readable lines for `rawdistill doctor`: every folder searched (and why), every
    /// soname tried in each with the loader's answer, versions, NVRTC's architectures, the
    /// kernel cache, a compile check, the devices and the smoke test. Errors are printed whole
    /// (an NVRTC log names the option or architecture it refused on a later line).
    /// </summary>
    public IEnumerable<string> Lines()
    {
        var folders = Libraries.Count > 0 ? Libraries[0].Folders : [];
        yield return $"search folders, in order (+ exists, - missing; then ldconfig's cache, then the loader's own search):";
        foreach (var f in folders)
            yield return $"  {(Directory.Exists(f.Path) ? '+' : '-')} {f.Path}  [{f.Source}]";
        foreach (var lib in Libraries)
        {
            yield return $"{LibName(lib.Library)} sonames tried, newest first: {string.Join(" ", CudaLibraryResolver.FileNames(lib.Library))}";
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
            else yield return $"{LibName(lib.Library),-7} not found";
            foreach (var a in lib.Attempts) yield return $"          {a.Path} — {a.Error ?? "loaded"}";
        }
        if (NvrtcArchitectures is { } archs) yield return $"nvrtc architectures: {string.Join(" ", archs.Select(a => "sm_" + a))}";
        yield return $"kernel cache {KernelCacheDirectory}{CacheSummary(KernelCacheDirectory)}";
        if (CompileCheck is not null) foreach (var line in CompileCheck.Split('\n')) yield return "compile  " + line;
        foreach (var d in Devices)
            yield return $"device {d.Ordinal}  {d.Name}, compute capability {d.Major}.{d.Minor}, {d.TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, {d.Multiprocessors} SMs";
        if (SmokeTest is not null) foreach (var line in SmokeTest.Split('\n')) yield return "smoke    " + line;
        if (Problem is not null) foreach (var line in Problem.Split('\n')) yield return "problem  " + line;
    }

    static string CacheSummary(string dir)
    {
        try { return Directory.Exists(dir) ? $" ({Directory.GetFiles(dir, "*.cubin").Length} cached kernel images)" : " (not created yet)"; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $" (unreadable: {e.Message})"; }
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
        string? nvrtc = null, driver = null, cublas = null, problem = null, smoke = null;
        var devices = new List<CudaDeviceInfo>();

        int[]? archs = null;
        if (libs[1].Found)
        {
            try
            {
                var (major, minor) = NvrtcCompiler.Version();
                nvrtc = $"{major}.{minor}";
                archs = NvrtcCompiler.SupportedArchitectures();
            }
            catch (Exception e) { problem = Whole(e); }
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
            }
            catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
            {
                problem ??= Whole(e);
            }
        }
        string? compile = null;
        if (nvrtc is not null)
        {
            string arch = devices.Count > 0 ? $"sm_{devices[0].Major}{devices[0].Minor}" : archs is { Length: > 0 } ? $"sm_{archs[^1]}" : "sm_80";
            compile = CompileCheckFor(arch);
        }
        if (devices.Count > 0 && libs[1].Found && libs[2].Found) (cublas, smoke) = OpenAndSmokeTest(devices[0].Ordinal);
        return new CudaReport(libs, nvrtc, driver, cublas, devices, problem) { SmokeTest = smoke, NvrtcArchitectures = archs, CompileCheck = compile };
    }

    /// <summary>An exception's whole message: a CUDA or NVRTC error often says what matters on its later lines.</summary>
    static string Whole(Exception e) => e.Message.TrimEnd();

    /// <summary>Compiles copy.cu through the kernel cache for an architecture; "FAILED: …" carries NVRTC's whole log.</summary>
    static string CompileCheckFor(string arch)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var image = KernelCache.GetOrCompile("copy.cu", arch);
            return $"passed: kernels/copy.cu for {arch}, {image.Length} bytes of CUBIN ({clock.ElapsedMilliseconds} ms, from the cache or NVRTC)";
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException or IOException)
        {
            return $"FAILED: kernels/copy.cu for {arch}: {Whole(e)}";
        }
    }

    /// <summary>The device's name from cuDeviceGetName.</summary>
    internal static string DeviceName(int device)
    {
        byte* buf = stackalloc byte[256];
        if (CudaDriver.cuDeviceGetName(buf, 256, device) != CuResult.Success) return "(unknown device)";
        int len = 0;
        while (len < 256 && buf[len] != 0) len++;
        return Encoding.UTF8.GetString(buf, len);
    }

    /// <summary>
    /// Opens the device (cuBLAS reports its version only through a handle) and runs a smoke
    /// test: NVRTC compiles a kernel file from the embedded sources (or the disk cache)
    /// for the device, a kernel launch and a cuBLAS GEMM run, and the host checks the result.
    /// (Its three tiny storages are not released — Storage.Release is internal to Core — and
    /// stay allocated until the device's primary context ends.)
    /// </summary>
    static (string? Cublas, string Smoke) OpenAndSmokeTest(int ordinal)
    {
        if (!CudaBackend.TryCreate(ordinal, out var backend, out var why)) return (null, "could not open the device: " + why);
        using (backend)
        {
            var b = backend!;
            string? version = b.CublasVersion is int v ? $"{v / 10000}.{v / 100 % 100}.{v % 100}" : null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                // x = 1..6 as a [2, 3] matrix; y = 2x + 1; c = y·yᵀ (2×2)
                var x = b.Allocate(Tensors.DType.F32, 6);
                var y = b.Allocate(Tensors.DType.F32, 6);
                var c = b.Allocate(Tensors.DType.F32, 4);
                float[] host = [1, 2, 3, 4, 5, 6];
                b.Upload(x, System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan()));
                b.Unary(Backends.UnaryOp.Affine, x, y, 6, 2, 1);
                b.Fill(c, 0, 4, 0);
                b.Gemm(new Backends.GemmArgs(false, true, 2, 2, 3, 1, 0, 3, 0, 3, 0, 0, 2), y, y, c);
                var got = new float[4];
                b.Download(c, System.Runtime.InteropServices.MemoryMarshal.AsBytes(got.AsSpan()));
                float[] want = [83, 173, 173, 371]; // [3,5,7]·[3,5,7] = 83, [3,5,7]·[9,11,13] = 173, [9,11,13]² = 371
                bool ok = got.AsSpan().SequenceEqual(want);
                return (version, ok
                    ? $"passed: NVRTC compile for {b.Architecture}, kernel launch, cuBLAS GEMM ({clock.ElapsedMilliseconds} ms incl. compile)"
                    : $"FAILED: GEMM of the affine-mapped input gave [{string.Join(", ", got)}], expected [{string.Join(", ", want)}]");
            }
            catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
            {
                return (version, "FAILED: " + Whole(e));
            }
        }
    }
}
