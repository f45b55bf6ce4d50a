namespace RawDistill.Methods.Common;

using System.Diagnostics;
using System.Runtime.InteropServices;

/// <summary>
/// One writer per output: an exclusive advisory lock on a lock file, taken with flock(2) on
/// Linux and macOS, so it dies with its process (a kill -9 never leaves a stale lock) and two
/// opens in one process exclude each other too (.NET's own FileShare.None does not, within a
/// process); elsewhere FileShare.None. A sibling file (the lock's name + ".owner") holds the
/// owner's process id and command line for the message another process shows (the lock file
/// itself cannot be opened by .NET while it is locked).
/// </summary>
public sealed partial class FileLock : IDisposable
{
    const int LockExclusive = 2, LockNonBlocking = 4;   // LOCK_EX, LOCK_NB of <sys/file.h>

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    static bool UsesFlock => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS();

    readonly FileStream _stream;

    FileLock(FileStream stream, string path)
    {
        _stream = stream;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock, or returns null when another process holds it.</summary>
    public static FileLock? TryAcquire(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, UsesFlock ? FileShare.ReadWrite : FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
        if (UsesFlock && flock((int)stream.SafeFileHandle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
        {
            stream.Dispose();
            return null;
        }
        try
        {
            File.WriteAllText(OwnerFile(path), $"pid {Environment.ProcessId}: {Environment.CommandLine}\n");
        }
        catch (IOException)
        {
            // Only the message of a waiting process needs it.
        }
        return new FileLock(stream, path);
    }

    /// <summary>
    /// Takes the lock, waiting while another process holds it: <paramref name="log"/> is told once
    /// who holds it, and the wait gives up after <paramref name="timeout"/> (null: never).
    /// </summary>
    /// <exception cref="TimeoutException">The lock was not free within the timeout.</exception>
    public static FileLock Acquire(string path, Action<string>? log = null, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        bool told = false;
        while (true)
        {
            var l = TryAcquire(path);
            if (l != null) return l;
            if (!told)
            {
                log?.Invoke($"waiting for another process that holds {path} ({Owner(path)})");
                told = true;
            }
            if (timeout is { } t && clock.Elapsed > t) throw new TimeoutException($"{path} is still held by another process ({Owner(path)}) after {t.TotalSeconds:F0} s");
            Thread.Sleep(500);
        }
    }

    static string OwnerFile(string path) => path + ".owner";

    /// <summary>Who holds (or last held) the lock: "pid N: command line", or "owner unknown".</summary>
    public static string Owner(string path)
    {
        try
        {
            var line = File.ReadLines(OwnerFile(path)).FirstOrDefault();
            return string.IsNullOrWhiteSpace(line) ? "owner unknown" : line.Trim();
        }
        catch (IOException)
        {
            return "owner unknown";
        }
    }

    /// <summary>Releases the lock (the file stays; its presence means nothing without the lock).</summary>
    public void Dispose() => _stream.Dispose();
}
