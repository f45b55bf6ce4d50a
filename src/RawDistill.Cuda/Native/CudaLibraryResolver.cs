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

    /// <summary>The folders the search went through (or would have, had it not stopped at the library), with why each is searched.</summary>
    public IReadOnlyList<SearchFolder> Folders { get; init; } = [];

    /// <summary>True when the library is loaded.</summary>
    public bool Found => Handle != 0;
}

/// <summary>
/// Finds libcuda, libnvrtc and libcublas for the source-generated bindings. Search order:
/// the folders of <see cref="CudaSearchPaths"/> (the override variable's folders, CUDA
/// toolkits, the nvidia/*/lib and torch/lib folders of pip-installed PyTorch in every Python
/// we can find, system library folders), then the paths ldconfig's cache (/etc/ld.so.cache)
/// lists for the library, and last the plain sonames (dlopen's own search). Every attempt is
/// recorded so that "CUDA is not available" and `rawdistill doctor` say exactly what was tried.
/// </summary>
public static class CudaLibraryResolver
{
    /// <summary>Environment variable naming folders (colon-separated) searched before all others.</summary>
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
            var location = Probe(library, CudaSearchRoots.FromEnvironment());
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
    /// Tries every candidate for one library, without caching, and leaves the first that loads
    /// loaded. <paramref name="overrideDirs"/> (colon-separated) are searched first; the other
    /// roots come from this process's environment.
    /// </summary>
    public static LibraryLocation Probe(CudaLibrary library, string? overrideDirs) =>
        Probe(library, CudaSearchRoots.FromEnvironment() with { OverrideDirs = CudaSearchRoots.SplitList(overrideDirs) });

    /// <summary>Tries every candidate for one library under the given roots, without caching.</summary>
    public static LibraryLocation Probe(CudaLibrary library, CudaSearchRoots roots)
    {
        var attempts = new List<LoadAttempt>();
        var names = FileNames(library);
        var tried = new HashSet<string>(StringComparer.Ordinal);
        var folders = CudaSearchPaths.Folders(roots);
        LibraryLocation Loaded(string from, nint h) => new(library, from, attempts) { Handle = h, Folders = folders };

        foreach (var folder in folders)
        {
            var dir = folder.Path;
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
                    return Loaded(path, h);
        }

        foreach (var path in LdCachePaths(names))
        {
            if (!tried.Add(path)) continue;
            if (!TooNewForDriver(library, path, attempts) && TryLoad(path, attempts, out var h))
                return Loaded(path, h);
        }

        foreach (var file in names)
            if (!TooNewForDriver(library, file, attempts) && TryLoad(file, attempts, out var h))
                return Loaded(file + " (dlopen search)", h);

        return new LibraryLocation(library, null, attempts) { Folders = folders };
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

    /// <summary>The folders searched, in order (existing or not), with the override folders (colon-separated) first.</summary>
    public static IReadOnlyList<string> SearchDirectories(string? overrideDirs) =>
        CudaSearchPaths.Folders(CudaSearchRoots.FromEnvironment() with { OverrideDirs = CudaSearchRoots.SplitList(overrideDirs) })
            .Select(f => f.Path).ToList();

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
