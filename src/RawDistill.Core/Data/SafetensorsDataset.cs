namespace RawDistill.Data;

using System.Buffers.Binary;
using System.Globalization;
using RawDistill.IO;
using RawDistill.Tensors;

/// <summary>
/// Datasets stored as safetensors files: a tensor <c>images</c> of dtype U8 and shape
/// N×C×H×W (or N×H×W for gray images) and, optionally, <c>labels</c> of dtype I32 and shape
/// [N]. The optional metadata key <c>classes</c> gives the class count (otherwise the largest
/// label + 1). Any dataset converts from Python in three lines:
/// <code>
/// from safetensors.torch import save_file
/// save_file({"images": x.to(torch.uint8).contiguous(),          # N×C×H×W
///            "labels": y.to(torch.int32)}, "train.safetensors", {"classes": "10"})
/// </code>
/// </summary>
public static class SafetensorsDataset
{
    /// <summary>Tensor name of the pixels.</summary>
    public const string ImagesKey = "images";

    /// <summary>Tensor name of the labels.</summary>
    public const string LabelsKey = "labels";

    /// <summary>Metadata key holding the class count (a decimal string).</summary>
    public const string ClassesKey = "classes";

    /// <summary>Reads one dataset file; <paramref name="classCount"/> overrides the file's own.</summary>
    public static ImageDataset Load(string path, string? name = null, int? classCount = null)
    {
        if (!File.Exists(path)) throw DataError.New(path, "file not found");
        var file = Safetensors.Read(path);
        // Absolute file offsets of each tensor, for error messages: the data section starts
        // after the 8-byte length prefix and the header, and entries come in data order.
        long dataStart = 8 + HeaderLength(path);
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        long at = dataStart;
        foreach (var e in file.Entries)
        {
            offsets[e.Name] = at;
            at += e.Data.LongLength;
        }

        if (!file.TryGet(ImagesKey, out var images))
            throw DataError.New(path, $"no tensor '{ImagesKey}' (expected U8 N×C×H×W pixels; the file holds: {string.Join(", ", file.Names)})");
        if (images.DType != DType.U8 || images.Shape.Length is not (3 or 4))
            throw DataError.New(path, offsets[ImagesKey], $"tensor '{ImagesKey}' of dtype U8 and shape N×C×H×W (or N×H×W)",
                $"{images.DType} {Tensors.Shape.Format(images.Shape)} (convert with x.to(torch.uint8))");
        int[] s = images.Shape.Length == 4 ? images.Shape : [images.Shape[0], 1, images.Shape[1], images.Shape[2]];
        int n = s[0];

        int[]? labels = null;
        int classes = 0;
        if (file.TryGet(LabelsKey, out var labelEntry))
        {
            long labelsAt = offsets[LabelsKey];
            if (labelEntry.DType != DType.I32 || labelEntry.Shape.Length != 1)
                throw DataError.New(path, labelsAt, $"tensor '{LabelsKey}' of dtype I32 and shape [N]",
                    $"{labelEntry.DType} {Tensors.Shape.Format(labelEntry.Shape)} (convert with y.to(torch.int32))");
            if (labelEntry.Shape[0] != n)
                throw DataError.New(path, labelsAt, $"{n} labels to match the {n} images", $"{labelEntry.Shape[0]} labels");
            labels = file.GetI32(LabelsKey);
            classes = classCount ?? ReadClassCount(file, path) ?? (n == 0 ? 0 : labels.Max() + 1);
            for (int i = 0; i < n; i++)
                if ((uint)labels[i] >= (uint)classes)
                    throw DataError.New(path, labelsAt + 4L * i, $"a label in [0, {classes}) (label {i} of {n})", $"{labels[i]}");
            if (n == 0) labels = null;
        }

        return new ImageDataset(name ?? Path.GetFileNameWithoutExtension(path), images.Data, n, s[1], s[2], s[3], labels, classes, Path.GetFullPath(path));
    }

    /// <summary>Writes a dataset in this format (the inverse of <see cref="Load"/>).</summary>
    public static void Save(ImageDataset dataset, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = new List<SafetensorsEntry>
        {
            SafetensorsEntry.Create(ImagesKey, [dataset.Count, dataset.Channels, dataset.Height, dataset.Width], dataset.Images),
        };
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>());
        if (dataset.HasLabels)
        {
            entries.Add(SafetensorsEntry.Create(LabelsKey, [dataset.Count], dataset.Labels));
            meta[ClassesKey] = dataset.ClassCount.ToString(CultureInfo.InvariantCulture);
        }
        Safetensors.Write(path, entries, meta);
    }

    static int? ReadClassCount(SafetensorsFile file, string path)
    {
        if (!file.Metadata.TryGetValue(ClassesKey, out var text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int c) || c <= 0)
            throw DataError.New(path, $"metadata '{ClassesKey}' must be a positive integer, found \"{text}\"");
        return c;
    }

    static long HeaderLength(string path)
    {
        Span<byte> prefix = stackalloc byte[8];
        using var f = File.OpenRead(path);
        f.ReadExactly(prefix);
        return (long)BinaryPrimitives.ReadUInt64LittleEndian(prefix);
    }
}
