namespace RawDistill.Methods.Common;

using System.Globalization;
using System.Security.Cryptography;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Ssl;
using RawDistill.Tensors;

/// <summary>
/// Stage 0 of MKDT and the targets of KRR-ST and of every evaluation baseline: the teacher's
/// representation g(norm(x)) of every training image (eval mode, no augmentation), N × d.
/// Computed once and cached beside the teacher, keyed by the teacher's SHA-256 and a
/// fingerprint of the dataset (name, geometry, count, SHA-256 of its bytes), so a cached file
/// is never taken for another teacher or another dataset:
/// <code>&lt;teacher file&gt;.targets/&lt;dataset&gt;-&lt;N&gt;-&lt;C&gt;x&lt;H&gt;x&lt;W&gt;-&lt;hash&gt;.safetensors</code>
/// holding <c>targets</c> (N × d, f32) with metadata <c>teacher_sha256</c>, <c>dataset_sha256</c>.
/// </summary>
public static class TeacherTargets
{
    /// <summary>Value of the <c>format</c> metadata key.</summary>
    public const string Format = "rawdistill-teacher-targets/1";

    /// <summary>
    /// g(norm(x)) for every image of <paramref name="data"/> (converted to the teacher's input
    /// geometry), from the cache when it holds them, else computed and cached.
    /// </summary>
    /// <param name="teacher">The teacher.</param>
    /// <param name="teacherHash">SHA-256 of the teacher file.</param>
    /// <param name="data">The images (any geometry the teacher can fit).</param>
    /// <param name="cacheDir">Folder of the cache; null = beside the teacher file (no caching when the teacher has no file).</param>
    /// <param name="log">Receives one line when the targets are computed or reused.</param>
    public static float[] Get(Teacher teacher, string teacherHash, ImageDataset data, string? cacheDir = null, Action<string>? log = null)
    {
        var (fitted, dataHash, path) = Locate(teacher, data, cacheDir);
        return Cached(teacher, teacherHash, fitted, dataHash, path, log)
            ? Safetensors.ReadTensor<float>(path!, TensorName)
            : Compute(teacher, teacherHash, fitted, dataHash, path, log);
    }

    /// <summary>
    /// The same targets as <see cref="Get"/>, as a table read by rows: from the cache file without
    /// loading it when it holds them (an evaluation reads only its subsets' rows), else computed,
    /// cached and held in memory.
    /// </summary>
    public static TeacherTargetTable Open(Teacher teacher, string teacherHash, ImageDataset data, string? cacheDir = null, Action<string>? log = null)
    {
        var (fitted, dataHash, path) = Locate(teacher, data, cacheDir);
        return Cached(teacher, teacherHash, fitted, dataHash, path, log)
            ? TeacherTargetTable.FromFile(path!, TensorName)
            : TeacherTargetTable.InMemory(Compute(teacher, teacherHash, fitted, dataHash, path, log), teacher.FeatureDim);
    }

    const string TensorName = "targets";

    /// <summary>The images in the teacher's geometry, their fingerprint, and their cache file (null when there is no folder for one).</summary>
    static (ImageDataset Fitted, string DataHash, string? Path) Locate(Teacher teacher, ImageDataset data, string? cacheDir)
    {
        var fitted = teacher.Fit(data);
        string dataHash = DatasetHash(fitted);
        cacheDir ??= teacher.Path != null ? teacher.Path + ".targets" : null;
        return (fitted, dataHash, cacheDir == null ? null : Path.Combine(cacheDir, FileName(fitted, dataHash)));
    }

    /// <summary>Whether the cache file holds this teacher's targets of these images (if not, why goes to the log).</summary>
    static bool Cached(Teacher teacher, string teacherHash, ImageDataset fitted, string dataHash, string? path, Action<string>? log)
    {
        if (path == null || !File.Exists(path)) return false;
        try
        {
            // The header decides, without reading the N × d floats.
            var header = Safetensors.ReadHeader(path);
            if (header.Metadata.TryGetValue("teacher_sha256", out var th) && th == teacherHash
                && header.Metadata.TryGetValue("dataset_sha256", out var dh) && dh == dataHash
                && header.Find(TensorName) is { DType: DType.F32, Shape: [var n, var d] } && n == fitted.Count && d == teacher.FeatureDim)
            {
                log?.Invoke($"teacher targets: reusing {path}");
                return true;
            }
            log?.Invoke($"teacher targets: {path} is for another teacher or dataset; recomputing");
        }
        catch (InvalidDataException e)
        {
            log?.Invoke($"teacher targets: {path} is unreadable ({e.Message}); recomputing");
        }
        return false;
    }

    /// <summary>Embeds every image and writes the cache (when there is a folder for it).</summary>
    static float[] Compute(Teacher teacher, string teacherHash, ImageDataset fitted, string dataHash, string? path, Action<string>? log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var targets = teacher.Embed(fitted);
        log?.Invoke($"teacher targets: {fitted.Count} × {teacher.FeatureDim} computed in {clock.Elapsed.TotalSeconds:F1} s" + (path != null ? $" → {path}" : ""));
        if (path != null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Safetensors.Write(path, [SafetensorsEntry.Create(TensorName, [fitted.Count, teacher.FeatureDim], targets)], new Dictionary<string, string>
            {
                ["format"] = Format,
                ["teacher_sha256"] = teacherHash,
                ["dataset_sha256"] = dataHash,
                ["dataset"] = fitted.Name,
            });
        }
        return targets;
    }

    /// <summary>The rows of <paramref name="targets"/> (N × d) at <paramref name="indices"/>, m × d.</summary>
    public static float[] Rows(float[] targets, int d, ReadOnlySpan<int> indices)
    {
        var y = new float[indices.Length * d];
        for (int i = 0; i < indices.Length; i++) targets.AsSpan(indices[i] * d, d).CopyTo(y.AsSpan(i * d, d));
        return y;
    }

    /// <summary>SHA-256 of the geometry and bytes of a dataset, lowercase hex.</summary>
    public static string DatasetHash(ImageDataset data)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(BitConverter.GetBytes(data.Count));
        sha.AppendData(BitConverter.GetBytes(data.Channels));
        sha.AppendData(BitConverter.GetBytes(data.Height));
        sha.AppendData(BitConverter.GetBytes(data.Width));
        sha.AppendData(data.Images);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    static string FileName(ImageDataset d, string hash)
    {
        var name = new string(d.Name.Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray());
        if (name.Length > 40) name = name[..40];
        return string.Create(CultureInfo.InvariantCulture, $"{name}-{d.Count}-{d.Channels}x{d.Height}x{d.Width}-{hash[..16]}.safetensors");
    }
}
