namespace RawDistill.Methods.Common;

/// <summary>
/// Writes files so that a crash never leaves a half-written one: a temporary file in the same
/// folder, then a rename over the target (atomic on one file system). Safetensors files go
/// through <see cref="IO.Safetensors.Write(string, IEnumerable{IO.SafetensorsEntry}, IReadOnlyDictionary{string, string}?)"/>,
/// which does the same.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically (creating the folder).</summary>
    public static void WriteAllText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp");
        try
        {
            File.WriteAllText(tmp, text);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
