namespace RawDistill.Tests.Data;

using System.Buffers.Binary;
using System.IO.Compression;

/// <summary>Writes tiny dataset files in the real formats, for reader tests.</summary>
internal static class DataFixtures
{
    /// <summary>An IDX file: big-endian magic, big-endian extents, payload; gzipped when asked.</summary>
    public static void WriteIdx(string path, uint magic, int[] dims, byte[] payload, bool gzip = false)
    {
        var bytes = new byte[4 + 4 * dims.Length + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * d), (uint)dims[d]);
        payload.CopyTo(bytes, 4 + 4 * dims.Length);
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    /// <summary>n images of h×w whose pixel values are (image·31 + pixel) mod 256.</summary>
    public static byte[] Pixels(int n, int size) =>
        Enumerable.Range(0, n * size).Select(i => (byte)((i / size) * 31 + i % size)).ToArray();

    /// <summary>A train/test IDX folder with images of 3×4 pixels and labels i mod classes.</summary>
    public static void WriteIdxFolder(string dir, int nTrain, int nTest, int classes, bool gzip)
    {
        Directory.CreateDirectory(dir);
        string ext = gzip ? ".gz" : "";
        WriteIdx(Path.Combine(dir, "train-images-idx3-ubyte" + ext), 0x803, [nTrain, 3, 4], Pixels(nTrain, 12), gzip);
        WriteIdx(Path.Combine(dir, "train-labels-idx1-ubyte" + ext), 0x801, [nTrain], Enumerable.Range(0, nTrain).Select(i => (byte)(i % classes)).ToArray(), gzip);
        if (nTest < 0) return;
        WriteIdx(Path.Combine(dir, "t10k-images-idx3-ubyte" + ext), 0x803, [nTest, 3, 4], Pixels(nTest, 12), gzip);
        WriteIdx(Path.Combine(dir, "t10k-labels-idx1-ubyte" + ext), 0x801, [nTest], Enumerable.Range(0, nTest).Select(i => (byte)(i % classes)).ToArray(), gzip);
    }

    /// <summary>CIFAR records: label byte(s) then 3072 pixel bytes of value (record + 1).</summary>
    public static byte[] CifarRecords(params byte[][] labels)
    {
        int rec = labels[0].Length + 3072;
        var bytes = new byte[labels.Length * rec];
        for (int r = 0; r < labels.Length; r++)
        {
            labels[r].CopyTo(bytes, r * rec);
            bytes.AsSpan(r * rec + labels[r].Length, 3072).Fill((byte)(r + 1));
        }
        return bytes;
    }

    /// <summary>A cifar-10-batches-bin folder with one record per file (labels 0..5 for batches 1..5 then test).</summary>
    public static string WriteCifar10(string root)
    {
        string dir = Path.Combine(root, "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        for (int i = 1; i <= 5; i++) File.WriteAllBytes(Path.Combine(dir, $"data_batch_{i}.bin"), CifarRecords([(byte)(i - 1)]));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), CifarRecords([9], [3]));
        return dir;
    }

    /// <summary>A cifar-100-binary folder: train has (coarse 1, fine 42) and (19, 99); test (0, 7).</summary>
    public static string WriteCifar100(string root)
    {
        string dir = Path.Combine(root, "cifar-100-binary");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "train.bin"), CifarRecords([1, 42], [19, 99]));
        File.WriteAllBytes(Path.Combine(dir, "test.bin"), CifarRecords([0, 7]));
        return dir;
    }
}
