namespace RawDistill.Cuda.Native;

/// <summary>
/// Where the library search starts: the environment, the home folder, PATH and the file-system
/// root, as data. <see cref="FromEnvironment"/> reads this process's; tests build fake trees
/// under a temporary folder and pass roots that point there.
/// </summary>
public sealed record CudaSearchRoots
{
    /// <summary>Folders searched before all others (RAWDISTILL_CUDA_LIB_DIR, colon-separated).</summary>
    public IReadOnlyList<string> OverrideDirs { get; init; } = [];

    /// <summary>$CUDA_HOME, $CUDA_PATH, $CUDA_ROOT (toolkit roots; lib64 and lib below each).</summary>
    public IReadOnlyList<string> CudaHomes { get; init; } = [];

    /// <summary>The user's home folder ($HOME), or null.</summary>
    public string? Home { get; init; }

    /// <summary>The folders of $PATH, in order: every python3/python there is a Python to search.</summary>
    public IReadOnlyList<string> PathDirs { get; init; } = [];

    /// <summary>$PYTHONPATH entries (searched as site-packages folders).</summary>
    public IReadOnlyList<string> PythonPath { get; init; } = [];

    /// <summary>$VIRTUAL_ENV (an activated venv).</summary>
    public string? VirtualEnv { get; init; }

    /// <summary>$CONDA_PREFIX (an activated conda environment).</summary>
    public string? CondaPrefix { get; init; }

    /// <summary>$PYENV_ROOT, else ~/.pyenv.</summary>
    public string? PyenvRoot { get; init; }

    /// <summary>$UV_PYTHON_INSTALL_DIR, else $XDG_DATA_HOME/uv/python, else ~/.local/share/uv/python.</summary>
    public string? UvPythonDir { get; init; }

    /// <summary>The current folder (its .venv is searched: uv and poetry projects keep one there).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Prefix of the system folders (/usr/local/cuda, /usr/lib, /opt/conda): "/" except in tests.</summary>
    public string SystemRoot { get; init; } = "/";

    /// <summary>The roots of this process: its environment variables, home, PATH and current folder.</summary>
    public static CudaSearchRoots FromEnvironment()
    {
        static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
        var home = Env("HOME");
        var xdgData = Env("XDG_DATA_HOME");
        return new CudaSearchRoots
        {
            OverrideDirs = SplitList(Env(CudaLibraryResolver.OverrideVariable)),
            CudaHomes = new[] { "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT" }.Select(Env).OfType<string>().ToList(),
            Home = home,
            PathDirs = SplitList(Env("PATH")),
            PythonPath = SplitList(Env("PYTHONPATH")),
            VirtualEnv = Env("VIRTUAL_ENV"),
            CondaPrefix = Env("CONDA_PREFIX"),
            PyenvRoot = Env("PYENV_ROOT") ?? (home is null ? null : Path.Combine(home, ".pyenv")),
            UvPythonDir = Env("UV_PYTHON_INSTALL_DIR")
                ?? (xdgData is not null ? Path.Combine(xdgData, "uv", "python") : home is null ? null : Path.Combine(home, ".local", "share", "uv", "python")),
            WorkingDirectory = Environment.CurrentDirectory,
        };
    }

    /// <summary>A colon-separated list (PATH style), empty entries dropped.</summary>
    public static IReadOnlyList<string> SplitList(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : value.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>One folder the resolver searches and why it is on the list (shown by `rawdistill doctor`).</summary>
/// <param name="Path">The folder.</param>
/// <param name="Source">Where it came from: "RAWDISTILL_CUDA_LIB_DIR", "python3 on PATH (/x/bin/python3)", ...</param>
public sealed record SearchFolder(string Path, string Source);

/// <summary>
/// The folders searched for libcuda, libnvrtc and libcublas, in order:
/// <list type="number">
/// <item>every folder of the override variable (CUDA 12 wheels keep NVRTC and cuBLAS apart);</item>
/// <item>$CUDA_HOME / $CUDA_PATH / $CUDA_ROOT (lib64, lib), /usr/local/cuda/lib64, /usr/local/cuda-*/lib64 newest first;</item>
/// <item>pip-installed CUDA next to PyTorch: nvidia/*/lib (CUDA 12 wheels: nvidia/cublas/lib,
/// nvidia/cuda_nvrtc/lib, ...; CUDA 13 wheels: nvidia/cu13/lib) and torch/lib in the site-packages of
/// the activated venv and conda env, of every python3/python on PATH (an unactivated venv's
/// bin/ on PATH counts), $PYTHONPATH, ./.venv, ~/.venv, ~/venv, ~/.virtualenvs/*, pyenv's
/// versions, uv-managed Pythons, ~/{mini,ana}conda3, ~/miniforge3, ~/mambaforge and /opt/conda
/// (and their envs/*), the system and user Pythons;</item>
/// <item>$CONDA_PREFIX/lib and the system library folders.</item>
/// </list>
/// A Python whose folder is none of these (a venv elsewhere, not on PATH) is not found: put its
/// nvidia/*/lib folders in the override variable.
/// </summary>
public static class CudaSearchPaths
{
    /// <summary>Every folder to search, in order, without duplicates (existing or not: the explicit ones are listed either way).</summary>
    public static IReadOnlyList<SearchFolder> Folders(CudaSearchRoots roots)
    {
        var list = new List<SearchFolder>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string? dir, string source)
        {
            if (string.IsNullOrWhiteSpace(dir)) return;
            dir = dir.Length > 1 ? dir.TrimEnd('/') : dir;
            if (seen.Add(dir)) list.Add(new SearchFolder(dir, source));
        }
        string Sys(string relative) => Path.Combine(roots.SystemRoot, relative);

        foreach (var d in roots.OverrideDirs) Add(d, CudaLibraryResolver.OverrideVariable);
        foreach (var home in roots.CudaHomes)
        {
            Add(Path.Combine(home, "lib64"), "CUDA toolkit root (CUDA_HOME/CUDA_PATH/CUDA_ROOT)");
            Add(Path.Combine(home, "lib"), "CUDA toolkit root (CUDA_HOME/CUDA_PATH/CUDA_ROOT)");
        }
        Add(Sys("usr/local/cuda/lib64"), "CUDA toolkit");
        foreach (var d in Subdirs(Sys("usr/local"), "cuda-*").OrderByDescending(VersionKey))
            Add(Path.Combine(d, "lib64"), "CUDA toolkit");
        foreach (var (sp, why) in SitePackages(roots))
        {
            foreach (var d in Subdirs(Path.Combine(sp, "nvidia"), "*").Order(StringComparer.Ordinal))
                foreach (var lib in new[] { "lib", "lib64" })
                    if (Directory.Exists(Path.Combine(d, lib))) Add(Path.Combine(d, lib), "pip wheels of " + why);
            if (Directory.Exists(Path.Combine(sp, "torch", "lib"))) Add(Path.Combine(sp, "torch", "lib"), "PyTorch of " + why);
        }
        if (roots.CondaPrefix is { } conda) Add(Path.Combine(conda, "lib"), "CONDA_PREFIX");
        Add(Sys("usr/lib/x86_64-linux-gnu"), "system");
        Add(Sys("usr/lib64"), "system");
        Add(Sys("usr/lib/wsl/lib"), "system (WSL)");
        return list;
    }

    /// <summary>Existing site-packages / dist-packages folders, each with the Python it belongs to, in search order.</summary>
    public static IReadOnlyList<(string Path, string Python)> SitePackages(CudaSearchRoots roots)
    {
        var result = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void FromPrefix(string? prefix, string why)
        {
            if (string.IsNullOrEmpty(prefix)) return;
            foreach (var libDir in new[] { "lib", "lib64" })
                foreach (var py in Subdirs(Path.Combine(prefix, libDir), "python3*").OrderByDescending(VersionKey))
                    foreach (var kind in new[] { "site-packages", "dist-packages" })
                    {
                        var sp = Path.Combine(py, kind);
                        if (Directory.Exists(sp) && seen.Add(sp)) result.Add((sp, why));
                    }
        }
        void FromPrefixAndEnvs(string? prefix, string why)
        {
            if (string.IsNullOrEmpty(prefix) || !Directory.Exists(prefix)) return;
            FromPrefix(prefix, why);
            foreach (var env in Subdirs(Path.Combine(prefix, "envs"), "*").Order(StringComparer.Ordinal))
                FromPrefix(env, $"{why} env {Path.GetFileName(env)}");
        }

        FromPrefix(roots.VirtualEnv, "VIRTUAL_ENV");
        FromPrefix(roots.CondaPrefix, "CONDA_PREFIX");
        foreach (var pathDir in roots.PathDirs)
            foreach (var name in new[] { "python3", "python" })
            {
                var exe = Path.Combine(pathDir, name);
                if (!File.Exists(exe)) continue;
                // A linked PATH folder (/bin → usr/bin on merged-/usr systems) counts as its target.
                var dir = ResolveDirectory(pathDir);
                // A venv's bin/python3 is a symlink to the base interpreter, but its packages sit in
                // the venv: search the prefix the executable is found in, then the one it resolves to.
                FromPrefix(Path.GetDirectoryName(dir), $"{name} on PATH ({exe})");
                if (Resolve(Path.Combine(dir, name)) is { } real && Path.GetDirectoryName(Path.GetDirectoryName(real)) is { } realPrefix)
                    FromPrefix(realPrefix, $"{name} on PATH ({exe} → {real})");
            }
        foreach (var pp in roots.PythonPath)
            if (Directory.Exists(pp) && seen.Add(pp)) result.Add((pp, "PYTHONPATH"));
        if (roots.WorkingDirectory is { } cwd) FromPrefix(Path.Combine(cwd, ".venv"), "./.venv");
        if (roots.Home is { } home)
        {
            FromPrefix(Path.Combine(home, ".venv"), "~/.venv");
            FromPrefix(Path.Combine(home, "venv"), "~/venv");
            foreach (var v in Subdirs(Path.Combine(home, ".virtualenvs"), "*").Order(StringComparer.Ordinal))
                FromPrefix(v, "~/.virtualenvs/" + Path.GetFileName(v));
        }
        if (roots.PyenvRoot is { } pyenv)
            foreach (var v in Subdirs(Path.Combine(pyenv, "versions"), "*").OrderByDescending(VersionKey))
                FromPrefixAndEnvs(v, "pyenv " + Path.GetFileName(v));
        if (roots.UvPythonDir is { } uv)
            foreach (var v in Subdirs(uv, "*").OrderByDescending(VersionKey))
                FromPrefix(v, "uv Python " + Path.GetFileName(v));
        var condas = new List<string>();
        if (roots.Home is { } h)
            foreach (var c in new[] { "miniconda3", "anaconda3", "miniforge3", "mambaforge" }) condas.Add(Path.Combine(h, c));
        condas.Add(Path.Combine(roots.SystemRoot, "opt/conda"));
        foreach (var c in condas) FromPrefixAndEnvs(c, c.StartsWith(roots.Home ?? "\0", StringComparison.Ordinal) ? "~/" + Path.GetFileName(c) : c);
        if (roots.Home is { } h2) FromPrefix(Path.Combine(h2, ".local"), "user site (~/.local)");
        foreach (var sys in new[] { "usr/local", "usr" }) FromPrefix(Path.Combine(roots.SystemRoot, sys), "system Python");
        return result;
    }

    /// <summary>The files a search over <paramref name="roots"/> would try for a library, in order: each folder's existing sonames.</summary>
    public static IReadOnlyList<string> Candidates(CudaLibrary library, CudaSearchRoots roots)
    {
        var names = CudaLibraryResolver.FileNames(library);
        return Folders(roots).SelectMany(f => names.Select(n => Path.Combine(f.Path, n))).Where(File.Exists).Distinct().ToList();
    }

    /// <summary>The final target of a symlink chain, or null when the path is not a link (or cannot be read).</summary>
    static string? Resolve(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is null) return null;
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    static string ResolveDirectory(string dir)
    {
        try { return new DirectoryInfo(dir).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dir; }
        catch (IOException) { return dir; }
        catch (UnauthorizedAccessException) { return dir; }
    }

    internal static IEnumerable<string> Subdirs(string root, string pattern)
    {
        try { return Directory.Exists(root) ? Directory.GetDirectories(root, pattern) : []; }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    /// <summary>Sort key that orders "cuda-12.10" after "cuda-12.9" and "3.12.1" after "3.9.20": digit runs padded.</summary>
    static string VersionKey(string path) =>
        System.Text.RegularExpressions.Regex.Replace(Path.GetFileName(path), @"\d+", m => m.Value.PadLeft(8, '0'));
}
