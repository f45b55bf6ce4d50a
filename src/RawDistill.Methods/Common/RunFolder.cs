namespace RawDistill.Methods.Common;

/// <summary>
/// An output folder a run owns for its lifetime: created (or found unusable) before any long
/// work, locked so that a second run into it stops at once, refused when it holds another run's
/// results unless the run resumes or overwrites, and cleared of temporary files a killed run
/// left behind. Without an explicit folder, a default one that already holds a run gives way to
/// the next free "NAME-2", "NAME-3", …, so running the main job twice keeps both runs.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The lock file inside the folder.</summary>
    public const string LockFileName = ".rawdistill.lock";

    /// <summary>Files whose presence means the folder holds a run.</summary>
    public static readonly string[] RunFiles = ["config.json", "checkpoint.safetensors", "distilled.safetensors", "report.md", "results.csv"];

    readonly FileLock _lock;
    readonly bool _created;

    RunFolder(string path, FileLock l, bool created)
    {
        Path = path;
        _lock = l;
        _created = created;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>Whether <paramref name="dir"/> holds another run's files.</summary>
    public static bool HoldsARun(string dir) => Directory.Exists(dir) && RunFiles.Any(f => File.Exists(System.IO.Path.Combine(dir, f)));

    /// <summary>
    /// <paramref name="dir"/> itself when it is free (or given explicitly), else the first free
    /// "<paramref name="dir"/>-N" for a default folder that holds a run.
    /// </summary>
    public static string FreeDefault(string dir)
    {
        if (!HoldsARun(dir)) return dir;
        for (int n = 2; ; n++)
        {
            string next = $"{dir.TrimEnd('/', '\\')}-{n}";
            if (!HoldsARun(next)) return next;
        }
    }

    /// <summary>
    /// Opens <paramref name="dir"/> for a run. <paramref name="flag"/> names the option the
    /// messages blame (--out, --resume).
    /// </summary>
    /// <exception cref="RunFolderException">The folder cannot be created or written, another process
    /// holds it, or it holds another run's results and the run neither resumes nor overwrites.</exception>
    public static RunFolder Open(string dir, string flag, bool resume, bool overwrite)
    {
        bool created = !Directory.Exists(dir);
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFolderException($"{flag} {dir}: cannot create the folder ({e.Message})");
        }
        FileLock? l;
        try
        {
            l = FileLock.TryAcquire(System.IO.Path.Combine(dir, LockFileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFolderException($"{flag} {dir}: cannot write there ({e.Message})");
        }
        if (l == null)
            throw new RunFolderException($"{flag} {dir}: another run is writing there ({FileLock.Owner(System.IO.Path.Combine(dir, LockFileName))}); wait for it to end or choose another folder");
        if (!resume && !overwrite && HoldsARun(dir))
        {
            l.Dispose();
            var found = RunFiles.Where(f => File.Exists(System.IO.Path.Combine(dir, f)));
            throw new RunFolderException($"{flag} {dir}: holds another run ({string.Join(", ", found)}); continue it with --resume {dir}, replace it with --overwrite, or choose another --out");
        }
        if (overwrite && !resume && HoldsARun(dir))
        {
            // The earlier run's files go first, so no old report sits beside the new config.
            foreach (var f in Directory.EnumerateFiles(dir))
                if (System.IO.Path.GetFileName(f) is not (LockFileName or LockFileName + ".owner")) File.Delete(f);
        }
        RemoveStaleTemporaries(dir);
        return new RunFolder(dir, l, created);
    }

    /// <summary>
    /// Deletes the temporary files of atomic writes (".NAME.….tmp", "NAME.tmp-PID") that a
    /// killed run left: only the folder's lock holder can be writing them, and that is us.
    /// </summary>
    public static int RemoveStaleTemporaries(string dir)
    {
        int removed = 0;
        foreach (var f in Directory.EnumerateFiles(dir))
        {
            string name = System.IO.Path.GetFileName(f);
            if ((name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal)) || name.Contains(".tmp-", StringComparison.Ordinal))
            {
                File.Delete(f);
                removed++;
            }
        }
        return removed;
    }

    /// <summary>
    /// Releases the folder's lock; a folder this run created and left with nothing but the lock
    /// (a run refused before it wrote anything) is removed, so failed starts leave no empty folders.
    /// </summary>
    public void Dispose()
    {
        _lock.Dispose();
        if (!_created) return;
        try
        {
            var left = Directory.EnumerateFileSystemEntries(Path).Select(System.IO.Path.GetFileName).ToList();
            if (left.All(n => n is LockFileName or LockFileName + ".owner"))
                Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Leaving an empty folder behind is harmless.
        }
    }
}

/// <summary>An output folder a run cannot use; the message names the flag, the folder and the remedy.</summary>
public sealed class RunFolderException(string message) : IOException(message);
