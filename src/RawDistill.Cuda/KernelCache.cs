namespace RawDistill.Cuda;

using System.Text;
using RawDistill.IO;

/// <summary>
/// Compiled kernel images on disk, under $XDG_CACHE_HOME/rawdistill/kernels (or
/// ~/.cache/rawdistill/kernels, or the temp folder without a home), keyed by SHA-256 of the source, every header, the
/// options, the architecture and the NVRTC version. The hash is the managed <see cref="Sha256"/>:
/// System.Security.Cryptography needs OpenSSL on Linux, which a GPU machine may lack. A cache
/// that cannot be written is skipped silently: it only saves compile time.
/// </summary>
public static class KernelCache
{
    /// <summary>The cache folder.</summary>
    public static string Directory
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var root = Path.IsPathRooted(xdg) ? xdg
                : Path.IsPathRooted(home) ? Path.Combine(home, ".cache")
                : Path.GetTempPath(); // no usable home (some containers): still an absolute folder
            return Path.Combine(root, "rawdistill", "kernels");
        }
    }

    /// <summary>Returns the CUBIN of a kernel file for an architecture ("sm_90"), compiling it when not cached.</summary>
    public static byte[] GetOrCompile(string fileName, string architecture)
    {
        var source = KernelSource.Read(fileName);
        var headers = KernelSource.Headers();
        var path = Path.Combine(Directory, CacheFileName(fileName, source, headers, architecture, NvrtcCompiler.Version()));
        try
        {
            if (File.Exists(path)) return File.ReadAllBytes(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }

        var image = NvrtcCompiler.Compile(fileName, source, headers, architecture).Image;
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var tmp = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(tmp, image);
            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return image;
    }

    /// <summary>
    /// "&lt;file&gt;-&lt;arch&gt;-&lt;32 hex digits&gt;.cubin": the first 128 bits of SHA-256 over the source,
    /// every header (sorted by name), the compile options, the architecture and NVRTC's version.
    /// </summary>
    public static string CacheFileName(string fileName, string source, IReadOnlyDictionary<string, string> headers, string architecture,
        (int Major, int Minor) nvrtcVersion)
    {
        var key = new StringBuilder()
            .Append(source).Append('\0')
            .AppendJoin('\0', headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => h.Key + "\0" + h.Value)).Append('\0')
            .AppendJoin(' ', NvrtcCompiler.BaseOptions).Append('\0')
            .Append(architecture).Append('\0')
            .Append("nvrtc ").Append(nvrtcVersion.Major).Append('.').Append(nvrtcVersion.Minor);
        var hash = Sha256.HashHex(Encoding.UTF8.GetBytes(key.ToString()));
        return $"{Path.GetFileNameWithoutExtension(fileName)}-{architecture}-{hash[..32]}.cubin";
    }
}
