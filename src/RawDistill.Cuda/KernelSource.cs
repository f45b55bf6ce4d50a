namespace RawDistill.Cuda;

using System.Reflection;

/// <summary>
/// The CUDA C sources under kernels/: embedded in this assembly (logical name
/// kernels/&lt;file&gt;), or read from the folder named by RAWDISTILL_KERNELS_DIR when that is
/// set, so edited kernels run without a rebuild.
/// </summary>
public static class KernelSource
{
    /// <summary>Environment variable naming a folder of .cu/.cuh files that replaces the embedded ones.</summary>
    public const string DirectoryVariable = "RAWDISTILL_KERNELS_DIR";

    const string Prefix = "kernels/";
    static readonly Assembly Self = typeof(KernelSource).Assembly;

    static string? OverrideDir
    {
        get
        {
            var d = Environment.GetEnvironmentVariable(DirectoryVariable);
            return string.IsNullOrWhiteSpace(d) ? null : d;
        }
    }

    /// <summary>The kernel files (*.cu), by file name, sorted.</summary>
    public static IReadOnlyList<string> KernelFiles => List(".cu");

    /// <summary>The shared headers (*.cuh), by file name, sorted.</summary>
    public static IReadOnlyList<string> HeaderFiles => List(".cuh");

    static List<string> List(string ext)
    {
        var dir = OverrideDir;
        IEnumerable<string> names = dir is not null
            ? Directory.GetFiles(dir, "*" + ext).Select(Path.GetFileName).OfType<string>()
            : Self.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]);
        return names.Where(n => n.EndsWith(ext, StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    /// <summary>The text of one kernel file or header, e.g. "elementwise.cu".</summary>
    public static string Read(string fileName)
    {
        var dir = OverrideDir;
        if (dir is not null)
        {
            var path = Path.Combine(dir, fileName);
            if (!File.Exists(path)) throw new FileNotFoundException($"kernel file {fileName} not found in {DirectoryVariable}={dir}", path);
            return File.ReadAllText(path);
        }
        using var s = Self.GetManifestResourceStream(Prefix + fileName)
            ?? throw new FileNotFoundException($"kernel file {fileName} is not embedded in {Self.GetName().Name}");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Every header by file name (what a kernel may #include).</summary>
    public static IReadOnlyDictionary<string, string> Headers() => HeaderFiles.ToDictionary(h => h, Read, StringComparer.Ordinal);
}
