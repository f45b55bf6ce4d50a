namespace RawDistill.Data;

using System.Buffers.Binary;
using System.IO.Compression;

/// <summary>
/// Reads the IDX format of MNIST and its family (Fashion-MNIST, KMNIST, EMNIST), plain or
/// gzipped. An IDX file is a 4-byte magic number 0x0000TTDD (TT = element type, 0x08 for
/// unsigned bytes; DD = number of dimensions), DD big-endian u32 extents, then the elements
/// row-major. Images are 0x00000803 (N, H, W); labels are 0x00000801 (N).
/// </summary>
/// <remarks>
/// Gzip is recognised by its magic bytes (1f 8b), not by the file name. Offsets in errors
/// count bytes of the decompressed stream for gzipped files. The reader is strict — trailing
/// bytes are an error — because a silently mis-sized dataset shows up much later as
/// nonsense accuracy rather than as an error.
/// </remarks>
public static class IdxReader
{
    /// <summary>Magic number of an IDX file of u8 images (N, H, W).</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of u8 labels (N).</summary>
    public const uint LabelsMagic = 0x00000801;

    /// <summary>Reads a whole file, decompressing it when it is gzipped.</summary>
    public static byte[] ReadAllBytes(string path)
    {
        if (!File.Exists(path)) throw DataError.New(path, "file not found");
        using var stream = File.OpenRead(path);
        return ReadAllBytes(stream, path);
    }

    /// <summary>Reads a whole stream, decompressing it when it starts with the gzip magic.</summary>
    public static byte[] ReadAllBytes(Stream stream, string displayName)
    {
        // Peek at the magic without buffering the compressed bytes: the full Fashion-MNIST is
        // 26 MB gzipped, 47 MB plain, and every extra copy shows on a loaded machine.
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        long start = stream.Position;
        int b0 = stream.ReadByte(), b1 = stream.ReadByte();
        stream.Position = start;
        if (b0 != 0x1f || b1 != 0x8b)
        {
            var plain = new byte[stream.Length - start];
            stream.ReadExactly(plain);
            return plain;
        }
        try
        {
            using var gz = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            using var plain = new MemoryStream((int)Math.Min(int.MaxValue / 2, (stream.Length - start) * 2));
            gz.CopyTo(plain, 1 << 20);
            return plain.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw DataError.New(displayName, $"the file starts like gzip (1f 8b) but is not a valid gzip stream (truncated or corrupt download?): {e.Message}", e);
        }
    }

    /// <summary>Parses an images file: returns the pixels (N·H·W bytes) and the extents.</summary>
    public static (byte[] Pixels, int Count, int Height, int Width) ParseImages(ReadOnlySpan<byte> data, string file)
    {
        var dims = ParseHeader(data, file, ImagesMagic, "images (N, H, W)");
        long n = dims[0], h = dims[1], w = dims[2];
        long need = n * h * w;
        int start = 16;
        CheckLength(data, file, start, need, n, h * w, "image", $"{n} images of {h}×{w} pixels");
        if (h == 0 || w == 0) throw DataError.New(file, 8, "non-zero image height and width", $"{h}×{w}");
        return (data.Slice(start, (int)need).ToArray(), (int)n, (int)h, (int)w);
    }

    /// <summary>Parses a labels file: one byte per label.</summary>
    public static byte[] ParseLabels(ReadOnlySpan<byte> data, string file)
    {
        var dims = ParseHeader(data, file, LabelsMagic, "labels (N)");
        long n = dims[0];
        CheckLength(data, file, 8, n, n, 1, "label", $"{n} labels");
        return data.Slice(8, (int)n).ToArray();
    }

    /// <summary>
    /// Loads an images file and its labels file into a dataset. Labels must match the images in
    /// number and lie in [0, classCount); when <paramref name="classCount"/> is null it is
    /// inferred as the largest label + 1.
    /// </summary>
    public static ImageDataset Load(string name, string imagesFile, byte[] imagesData, string labelsFile, byte[] labelsData,
        int? classCount, string? sourcePath, IReadOnlyList<string>? classNames = null)
    {
        var (pixels, n, h, w) = ParseImages(imagesData, imagesFile);
        var raw = ParseLabels(labelsData, labelsFile);
        if (raw.Length != n)
            throw DataError.New(labelsFile, 4, $"a label count of {n} to match the {n} images in {imagesFile}", $"{raw.Length}");
        int classes = classCount ?? (raw.Length == 0 ? 0 : raw.Max() + 1);
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            if (raw[i] >= classes)
                throw DataError.New(labelsFile, 8 + i, $"a label in [0, {classes}) (label {i} of {n})", $"{raw[i]}");
            labels[i] = raw[i];
        }
        return new ImageDataset(name, pixels, n, 1, h, w, n > 0 ? labels : null, classes, sourcePath, classNames);
    }

    /// <summary>
    /// Finds the IDX file of one split and kind in a folder: a file whose name (without
    /// ".gz", dots read as dashes) ends with e.g. "train-images-idx3-ubyte"; the test split
    /// is spelled "t10k" (MNIST) or "test" (EMNIST). Prefixes such as "emnist-letters-" are
    /// allowed.
    /// </summary>
    public static string Find(string dir, bool train, bool images) => TryFind(dir, train, images) ?? throw DataError.New(dir,
        $"no IDX file named {string.Join(" or ", (train ? ["train"] : new[] { "t10k", "test" }).Select(s => $"*{s}-{(images ? "images-idx3-ubyte" : "labels-idx1-ubyte")}[.gz]"))} in this folder");

    /// <summary>Like <see cref="Find"/>, but null when no file matches.</summary>
    public static string? TryFind(string dir, bool train, bool images)
    {
        if (!Directory.Exists(dir)) throw DataError.New(dir, "folder not found");
        string kind = images ? "images-idx3-ubyte" : "labels-idx1-ubyte";
        string[] splits = train ? ["train"] : ["t10k", "test"];
        var matches = Directory.EnumerateFiles(dir)
            .Where(f =>
            {
                string n = Path.GetFileName(f);
                if (n.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) n = n[..^3];
                n = n.Replace('.', '-');
                return splits.Any(s => n.EndsWith($"{s}-{kind}", StringComparison.OrdinalIgnoreCase));
            })
            .Order(StringComparer.Ordinal)
            .ToList();
        string wanted = string.Join(" or ", splits.Select(s => $"*{s}-{kind}[.gz]"));
        return matches.Count switch
        {
            1 => matches[0],
            0 => null,
            _ => throw DataError.New(dir, $"several files match {wanted}: {string.Join(", ", matches.Select(Path.GetFileName))}; keep one per folder"),
        };
    }

    static long[] ParseHeader(ReadOnlySpan<byte> data, string file, uint magic, string what)
    {
        int ndim = (int)(magic & 0xFF);
        int headerBytes = 4 + 4 * ndim;
        if (data.Length < 4)
            throw DataError.New(file, data.Length, $"the 4-byte IDX magic number 0x{magic:X8} ({what})", $"end of file after {data.Length} bytes");
        uint found = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (found != magic)
        {
            string hint = (found >> 16) != 0 ? " (not an IDX file)"
                : (found & 0xFF00) != 0x0800 ? $" (element type 0x{(found >> 8) & 0xFF:X2}; only 0x08, unsigned byte, is supported)"
                : $" ({found & 0xFF} dimensions; is this the {(found == ImagesMagic ? "images" : found == LabelsMagic ? "labels" : "other")} file?)";
            throw DataError.New(file, 0, $"IDX magic number 0x{magic:X8} ({what})", $"0x{found:X8}{hint}");
        }
        if (data.Length < headerBytes)
            throw DataError.New(file, data.Length, $"a {headerBytes}-byte IDX header ({ndim} big-endian u32 extents after the magic)", $"end of file after {data.Length} bytes");
        var dims = new long[ndim];
        for (int d = 0; d < ndim; d++)
        {
            dims[d] = BinaryPrimitives.ReadUInt32BigEndian(data[(4 + 4 * d)..]);
            if (dims[d] > int.MaxValue) throw DataError.New(file, 4 + 4 * d, "an extent below 2^31", $"{dims[d]}");
        }
        return dims;
    }

    static void CheckLength(ReadOnlySpan<byte> data, string file, int start, long need, long items, long itemBytes, string item, string what)
    {
        long have = data.Length - start;
        if (need > int.MaxValue - start) throw DataError.New(file, 4, "a dataset below 2 GiB", $"{what} ({need} bytes)");
        if (have < need)
        {
            long complete = itemBytes == 0 ? 0 : have / itemBytes;
            throw DataError.New(file, data.Length, $"{need} bytes of data from offset {start} ({what})",
                $"end of file: only {have} bytes, {item} {complete} of {items} is incomplete (truncated file?)");
        }
        if (have > need)
            throw DataError.New(file, start + need, $"end of file after {what}", $"{have - need} extra bytes");
    }
}
