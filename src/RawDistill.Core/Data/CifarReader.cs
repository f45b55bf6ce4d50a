namespace RawDistill.Data;

/// <summary>
/// Reads the binary versions of CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html).
/// Each file is a sequence of fixed-size records: label byte(s), then 3072 pixel bytes —
/// the 32×32 red plane, then green, then blue, each row-major — which is already the C×H×W
/// layout of <see cref="ImageDataset"/>.
/// </summary>
/// <remarks>
/// CIFAR-10 (<c>cifar-10-batches-bin/</c>): <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>
/// (train) and <c>test_batch.bin</c>; records of 1 label byte (0–9) + 3072 bytes.
/// CIFAR-100 (<c>cifar-100-binary/</c>): <c>train.bin</c> and <c>test.bin</c>; records of a
/// coarse label byte (0–19), a fine label byte (0–99), then 3072 bytes. We use the fine labels.
/// </remarks>
public static class CifarReader
{
    /// <summary>Pixel bytes per record: 3 × 32 × 32.</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>CIFAR-10's class names, in label order.</summary>
    public static readonly IReadOnlyList<string> Cifar10Classes =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Loads CIFAR-10 from <c>cifar-10-batches-bin/</c> or from the folder that contains it.</summary>
    public static DataSplits LoadCifar10(string dir)
    {
        dir = Resolve(dir, "cifar-10-batches-bin", "data_batch_1.bin");
        string[] train = [.. Enumerable.Range(1, 5).Select(i => Path.Combine(dir, $"data_batch_{i}.bin"))];
        return new DataSplits(
            Read("cifar10/train", train, labelBytes: 1, [10], dir),
            Read("cifar10/test", [Path.Combine(dir, "test_batch.bin")], labelBytes: 1, [10], dir));
    }

    /// <summary>Loads CIFAR-100 (fine labels) from <c>cifar-100-binary/</c> or from the folder that contains it.</summary>
    public static DataSplits LoadCifar100(string dir)
    {
        dir = Resolve(dir, "cifar-100-binary", "train.bin");
        return new DataSplits(
            Read("cifar100/train", [Path.Combine(dir, "train.bin")], labelBytes: 2, [20, 100], dir),
            Read("cifar100/test", [Path.Combine(dir, "test.bin")], labelBytes: 2, [20, 100], dir));
    }

    /// <summary>
    /// Reads and concatenates record files. <paramref name="labelRanges"/> holds the class count
    /// of each label byte; the last label byte is the one kept.
    /// </summary>
    internal static ImageDataset Read(string name, string[] files, int labelBytes, int[] labelRanges, string sourcePath)
    {
        int record = labelBytes + ImageBytes;
        var contents = new List<byte[]>(files.Length);
        long total = 0;
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw DataError.New(f, $"file not found (expected the {Path.GetFileName(f)} of the binary CIFAR distribution)");
            var bytes = File.ReadAllBytes(f);
            if (bytes.Length == 0)
                throw DataError.New(f, 0, $"{record}-byte records ({labelBytes} label byte{(labelBytes > 1 ? "s" : "")} + {ImageBytes} pixel bytes)", "an empty file");
            if (bytes.Length % record != 0)
            {
                long complete = bytes.Length / record;
                throw DataError.New(f, complete * record, $"a whole {record}-byte record (record {complete}; {labelBytes} label byte{(labelBytes > 1 ? "s" : "")} + {ImageBytes} pixel bytes)",
                    $"only {bytes.Length - complete * record} bytes before the end of the file (truncated file, or not a CIFAR-{(labelBytes == 1 ? "10" : "100")} binary file?)");
            }
            contents.Add(bytes);
            total += bytes.Length / record;
        }
        if (total * ImageBytes > Array.MaxLength) throw DataError.New(sourcePath, "dataset is larger than one .NET array (2 GiB)");

        int n = (int)total;
        var images = new byte[(long)n * ImageBytes];
        var labels = new int[n];
        int k = 0;
        for (int fi = 0; fi < files.Length; fi++)
        {
            var bytes = contents[fi];
            for (int r = 0; r < bytes.Length / record; r++, k++)
            {
                int off = r * record;
                for (int b = 0; b < labelBytes; b++)
                    if (bytes[off + b] >= labelRanges[b])
                    {
                        string which = labelBytes == 1 ? "label" : b == 0 ? "coarse label" : "fine label";
                        throw DataError.New(files[fi], off + b, $"a {which} in [0, {labelRanges[b]}) (record {r})", $"{bytes[off + b]}");
                    }
                labels[k] = bytes[off + labelBytes - 1];
                Buffer.BlockCopy(bytes, off + labelBytes, images, k * ImageBytes, ImageBytes);
            }
        }
        return new ImageDataset(name, images, n, 3, 32, 32, labels, labelRanges[^1], sourcePath, labelBytes == 1 ? Cifar10Classes : null);
    }

    // Accepts the distribution folder itself or its parent (where the archive was extracted).
    static string Resolve(string dir, string folderName, string probeFile)
    {
        string full = Path.GetFullPath(dir);
        if (File.Exists(Path.Combine(full, probeFile))) return full;
        string nested = Path.Combine(full, folderName);
        if (File.Exists(Path.Combine(nested, probeFile))) return nested;
        throw DataError.New(full, Directory.Exists(full)
            ? $"no {probeFile} here or in {folderName}/ (expected the extracted binary version, {folderName}/)"
            : "folder not found");
    }
}
