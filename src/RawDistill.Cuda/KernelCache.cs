namespace RawDistill.Cuda;

using System.Security.Cryptography;
using System.Text;

/// <summary>
/// Compiled kernel images on disk, under $XDG_CACHE_HOME/rawdistill/kernels (or
/// ~/.cache/rawdistill/kernels, or the temp folder without a home), keyed by SHA-256 of the source, every header, the
/// options, the architecture and the NVRTC version. A cache that cannot be written is
/// skipped silently: it only saves compile time.
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
        var (major, minor) = NvrtcCompiler.Version();
        var key = new StringBuilder()
            .Append(source).Append('\0')
            .AppendJoin('\0', headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => h.Key + "\0" + h.Value)).Append('\0')
            .AppendJoin(' ', NvrtcCompiler.BaseOptions).Append('\0')
            .Append(architecture).Append('\0')
            .Append("nvrtc ").Append(major).Append('.').Append(minor);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString()))).ToLowerInvariant();
        var path = Path.Combine(Directory, $"{Path.GetFileNameWithoutExtension(fileName)}-{architecture}-{hash[..32]}.cubin");
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
}
