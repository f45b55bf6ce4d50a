namespace RawDistill.Cuda.Native;

using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

/// <summary>The three native libraries the CUDA backend binds.</summary>
public enum CudaLibrary
{
    /// <summary>The driver API, libcuda.so.1 (installed with the NVIDIA driver).</summary>
    Driver,
    /// <summary>The run-time compiler, libnvrtc.so.{13,12,11.2}.</summary>
    Nvrtc,
    /// <summary>BLAS, libcublas.so.{13,12,11}.</summary>
    Cublas,
}

/// <summary>One try at loading a library: the path or name given to the loader and why it failed (null when it loaded).</summary>
public sealed record LoadAttempt(string Path, string? Error);

/// <summary>Where a library was loaded from (null when it was not), with every attempt made.</summary>
public sealed record LibraryLocation(CudaLibrary Library, string? LoadedFrom, IReadOnlyList<LoadAttempt> Attempts)
{
    internal nint Handle { get; init; }

    /// <summary>True when the library is loaded.</summary>
    public bool Found => Handle != 0;
}

/// <summary>
/// Finds libcuda, libnvrtc and libcublas for the source-generated bindings. Search order:
/// the folder in RAWDISTILL_CUDA_LIB_DIR, $CUDA_HOME/lib64 (and $CUDA_PATH), /usr/local/cuda/lib64
/// and /usr/local/cuda-*/lib64 (newest first), the nvidia/*/lib and torch/lib folders of
/// pip-installed PyTorch in every Python site-packages folder we can find, system library
/// folders, the paths ldconfig's cache (/etc/ld.so.cache) lists for the library, and last
/// the plain sonames (dlopen's own search). Every attempt is recorded so that "CUDA is not
/// available" can say exactly what was tried.
/// </summary>
public static class CudaLibraryResolver
{
    /// <summary>Environment variable naming a folder searched before all others.</summary>
    public const string OverrideVariable = "RAWDISTILL_CUDA_LIB_DIR";

    static readonly object Gate = new();
    static readonly Dictionary<CudaLibrary, LibraryLocation> Cache = [];
    static bool _installed;

    /// <summary>Registers the resolver for this assembly's bindings (idempotent).</summary>
    internal static void Install()
    {
        lock (Gate)
        {
            if (_installed) return;
            _installed = true;
            NativeLibrary.SetDllImportResolver(typeof(CudaLibraryResolver).Assembly, Resolve);
        }
    }

    static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) => name switch
    {
        CudaDriver.Lib => Locate(CudaLibrary.Driver).Handle,
        Nvrtc.Lib => Locate(CudaLibrary.Nvrtc).Handle,
        Cublas.Lib => Locate(CudaLibrary.Cublas).Handle,
        _ => 0,
    };

    /// <summary>Loads (once per process) the library from the default search order, honouring RAWDISTILL_CUDA_LIB_DIR.</summary>
    public static LibraryLocation Locate(CudaLibrary library)
    {
        lock (Gate)
        {
            if (Cache.TryGetValue(library, out var found)) return found;
            var location = Probe(library, Environment.GetEnvironmentVariable(OverrideVariable));
            Cache[library] = location;
            return location;
        }
    }

    /// <summary>Sonames tried for a library, newest first.</summary>
    public static IReadOnlyList<string> FileNames(CudaLibrary library) => library switch
    {
        CudaLibrary.Driver => ["libcuda.so.1", "libcuda.so"],
        CudaLibrary.Nvrtc => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        CudaLibrary.Cublas => ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        _ => throw new ArgumentOutOfRangeException(nameof(library)),
    };

    /// <summary>
    /// Tries every candidate for one library, without caching, and leaves the first that
    /// loads loaded. <paramref name="overrideDir"/> is searched first when not null.
    /// </summary>
    public static LibraryLocation Probe(CudaLibrary library, string? overrideDir)
    {
        var attempts = new List<LoadAttempt>();
        var names = FileNames(library);
        var tried = new HashSet<string>(StringComparer.Ordinal);

        foreach (var dir in SearchDirectories(overrideDir))
        {
            if (!Directory.Exists(dir))
            {
                attempts.Add(new LoadAttempt(dir + "/", "folder does not exist"));
                continue;
            }
            var present = names.Select(f => Path.Combine(dir, f)).Where(p => tried.Add(p) && File.Exists(p)).ToList();
            if (present.Count == 0)
            {
                attempts.Add(new LoadAttempt(Path.Combine(dir, "{" + string.Join(",", names) + "}"), "no such file"));
                continue;
            }
            PreloadCompanions(library, dir);
            foreach (var path in present)
                if (!TooNewForDriver(library, path, attempts) && TryLoad(path, attempts, out var h))
                    return new LibraryLocation(library, path, attempts) { Handle = h };
        }

        foreach (var path in LdCachePaths(names))
        {
            if (!tried.Add(path)) continue;
            if (!TooNewForDriver(library, path, attempts) && TryLoad(path, attempts, out var h))
                return new LibraryLocation(library, path, attempts) { Handle = h };
        }

        foreach (var file in names)
            if (!TooNewForDriver(library, file, attempts) && TryLoad(file, attempts, out var h))
                return new LibraryLocation(library, file + " (dlopen search)", attempts) { Handle = h };

        return new LibraryLocation(library, null, attempts);
    }

    /// <summary>
    /// NVRTC and cuBLAS of a newer CUDA major than the driver supports load fine but then fail
    /// (a CUBIN the driver cannot load, CUBLAS_STATUS_NOT_INITIALIZED), so a versioned soname
    /// (libnvrtc.so.13) above the driver's CUDA major is skipped, and recorded as such.
    /// Without a driver nothing is skipped (NVRTC alone still compiles).
    /// </summary>
    static bool TooNewForDriver(CudaLibrary library, string pathOrName, List<LoadAttempt> attempts)
    {
        if (library == CudaLibrary.Driver) return false;
        int driverMajor = DriverMajor();
        if (driverMajor <= 0) return false;
        var name = Path.GetFileName(pathOrName);
        int so = name.IndexOf(".so.", StringComparison.Ordinal);
        if (so < 0) return false;
        var rest = name[(so + 4)..];
        int dot = rest.IndexOf('.');
        if (!int.TryParse(dot < 0 ? rest : rest[..dot], out int libMajor) || libMajor <= driverMajor) return false;
        attempts.Add(new LoadAttempt(pathOrName, $"skipped: CUDA {libMajor} library, but the driver supports CUDA {driverMajor}"));
        return true;
    }

    static int _driverMajor = -1;

    static int DriverMajor()
    {
        if (_driverMajor >= 0) return _driverMajor;
        _driverMajor = 0;
        try
        {
            if (Locate(CudaLibrary.Driver).Found && CudaDriver.cuDriverGetVersion(out int v) == CuResult.Success) _driverMajor = v / 1000;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return _driverMajor;
    }

    static bool TryLoad(string pathOrName, List<LoadAttempt> attempts, out nint handle)
    {
        try
        {
            handle = NativeLibrary.Load(pathOrName);
            attempts.Add(new LoadAttempt(pathOrName, null));
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            attempts.Add(new LoadAttempt(pathOrName, LoaderReason(e.Message)));
            handle = 0;
            return false;
        }
    }

    /// <summary>
    /// .NET's message is a generic first line followed by dlerror()'s text
    /// ("libx.so: cannot open shared object file: ..."); keep the dlerror part.
    /// </summary>
    static string LoaderReason(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 1 ? string.Join(" ", lines.Skip(1)) : message.Trim();
    }

    // libnvrtc dlopens libnvrtc-builtins by soname, libcublas needs libcublasLt: load the
    // copies that sit next to the library first, so a folder outside the loader's search
    // path still works (a library already loaded under a soname satisfies later lookups).
    static void PreloadCompanions(CudaLibrary library, string dir)
    {
        string? pattern = library switch
        {
            CudaLibrary.Nvrtc => "libnvrtc-builtins.so*",
            CudaLibrary.Cublas => "libcublasLt.so*",
            _ => null,
        };
        if (pattern is null) return;
        try
        {
            foreach (var f in Directory.EnumerateFiles(dir, pattern).OrderByDescending(f => f.Length))
                NativeLibrary.TryLoad(f, out _);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The folders searched, in order (existing or not).</summary>
    public static IReadOnlyList<string> SearchDirectories(string? overrideDir)
    {
        var dirs = new List<string>();
        void Add(string? d)
        {
            if (string.IsNullOrWhiteSpace(d)) return;
            d = d.TrimEnd('/');
            if (d.Length > 0 && !dirs.Contains(d)) dirs.Add(d);
        }

        Add(overrideDir);
        foreach (var v in new[] { "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT" })
        {
            var root = Environment.GetEnvironmentVariable(v);
            if (!string.IsNullOrEmpty(root)) { Add(Path.Combine(root, "lib64")); Add(Path.Combine(root, "lib")); }
        }
        Add("/usr/local/cuda/lib64");
        foreach (var d in SafeDirs("/usr/local", "cuda-*").OrderByDescending(d => d, StringComparer.Ordinal))
            Add(Path.Combine(d, "lib64"));
        foreach (var sp in SitePackages())
        {
            foreach (var d in SafeDirs(Path.Combine(sp, "nvidia"), "*").OrderBy(d => d, StringComparer.Ordinal))
                if (Directory.Exists(Path.Combine(d, "lib"))) Add(Path.Combine(d, "lib"));
            if (Directory.Exists(Path.Combine(sp, "torch", "lib"))) Add(Path.Combine(sp, "torch", "lib"));
        }
        var conda = Environment.GetEnvironmentVariable("CONDA_PREFIX");
        if (!string.IsNullOrEmpty(conda)) Add(Path.Combine(conda, "lib"));
        Add("/usr/lib/x86_64-linux-gnu");
        Add("/usr/lib64");
        Add("/usr/lib/wsl/lib");
        return dirs;
    }

    /// <summary>Python site-packages / dist-packages folders that exist on this machine.</summary>
    static IEnumerable<string> SitePackages()
    {
        var roots = new List<string> { "/usr/lib", "/usr/lib64", "/usr/local/lib", "/opt/conda/lib" };
        var home = Environment.GetEnvironmentVariable("HOME");
        if (!string.IsNullOrEmpty(home)) roots.Add(Path.Combine(home, ".local", "lib"));
        foreach (var v in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
        {
            var p = Environment.GetEnvironmentVariable(v);
            if (!string.IsNullOrEmpty(p)) roots.Add(Path.Combine(p, "lib"));
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pp in (Environment.GetEnvironmentVariable("PYTHONPATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (Directory.Exists(pp) && seen.Add(pp)) yield return pp;
        foreach (var root in roots)
            foreach (var py in SafeDirs(root, "python3*").OrderByDescending(d => d, StringComparer.Ordinal))
                foreach (var kind in new[] { "site-packages", "dist-packages" })
                {
                    var sp = Path.Combine(py, kind);
                    if (Directory.Exists(sp) && seen.Add(sp)) yield return sp;
                }
    }

    static IEnumerable<string> SafeDirs(string root, string pattern)
    {
        try { return Directory.Exists(root) ? Directory.GetDirectories(root, pattern) : []; }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    /// <summary>
    /// Paths that ldconfig's cache lists for the given sonames. The cache is a binary file
    /// whose string table holds NUL-terminated sonames and full paths; scanning it for
    /// "/…/name" avoids running ldconfig -p.
    /// </summary>
    static IEnumerable<string> LdCachePaths(IReadOnlyList<string> names)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes("/etc/ld.so.cache"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        var found = new List<string>();
        int start = 0;
        for (int i = 0; i <= bytes.Length; i++)
        {
            if (i < bytes.Length && bytes[i] != 0) continue;
            if (i - start > 1 && bytes[start] == (byte)'/')
            {
                var s = Encoding.UTF8.GetString(bytes, start, i - start);
                if (names.Any(n => s.EndsWith("/" + n, StringComparison.Ordinal)) && !found.Contains(s)) found.Add(s);
            }
            start = i + 1;
        }
        // newest soname first, as in FileNames
        foreach (var n in names)
            foreach (var s in found)
                if (s.EndsWith("/" + n, StringComparison.Ordinal)) yield return s;
    }

    /// <summary>"loaded from X" or the list of attempts, one per line, for error messages and doctor.</summary>
    public static string Describe(LibraryLocation location)
    {
        var sb = new StringBuilder();
        if (location.Found) sb.Append(location.Library).Append(": loaded from ").Append(location.LoadedFrom);
        else
        {
            sb.Append(location.Library).Append(": not found; tried:");
            foreach (var a in location.Attempts) sb.Append("\n    ").Append(a.Path).Append(" — ").Append(a.Error ?? "loaded");
        }
        return sb.ToString();
    }
}
