namespace RawDistill.IO;

using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using RawDistill.Tensors;

/// <summary>
/// A minimal PNG writer: 8-bit grayscale (colour type 0) or RGB (colour type 2), no
/// interlace; each scanline uses the filter (None or Up) that gives the smaller sum of
/// absolute byte values, and the image data is one zlib stream
/// (<see cref="ZLibStream"/>) in one IDAT chunk. Writes are atomic (temp file + rename).
/// </summary>
public static class Png
{
    /// <summary>The 8-byte PNG signature.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes interleaved pixels (row-major, <paramref name="channels"/> bytes per pixel: 1 = gray, 3 = RGB).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"PNG: {channels} channels; expected 1 (gray) or 3 (RGB)");
        if (width <= 0 || height <= 0) throw new ArgumentException($"PNG: invalid size {width}×{height}");
        int stride = checked(width * channels);
        if (pixels.Length != checked(stride * height)) throw new ArgumentException($"PNG: {pixels.Length} bytes for {width}×{height}×{channels}");

        using var ms = new MemoryStream();
        ms.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr[4..], (uint)height);
        ihdr[8] = 8;                              // bit depth
        ihdr[9] = (byte)(channels == 1 ? 0 : 2);  // colour type
        ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0; // deflate, adaptive filtering, no interlace
        WriteChunk(ms, "IHDR", ihdr);
        WriteChunk(ms, "IDAT", Deflate(pixels, stride, height));
        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    /// <summary>Writes a PNG file atomically.</summary>
    public static void Write(string path, ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        var bytes = Encode(pixels, width, height, channels);
        string full = Path.GetFullPath(path);
        string tmp = full + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>
    /// Writes one image tensor [C, H, W] (C = 1 or 3): u8 as is, or floating point in [0, 1]
    /// (clamped, scaled by 255, rounded).
    /// </summary>
    public static void Write(string path, Tensor image)
    {
        if (image.Rank != 3) throw new ArgumentException($"PNG: expected an image [C, H, W], got {image.Describe()}");
        using var batch = Ops.Reshape(Ops.Detach(image), [1, .. image.Shape]);
        var (pixels, w, h, c) = ImageGrid.Compose(batch, new ImageGridOptions { Columns = 1, Padding = 0 });
        Write(path, pixels, w, h, c);
    }

    static byte[] Deflate(ReadOnlySpan<byte> pixels, int stride, int height)
    {
        var filtered = new byte[(stride + 1) * height];
        var up = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * stride, stride);
            var prev = y == 0 ? new byte[stride] : pixels.Slice((y - 1) * stride, stride);
            long costNone = 0, costUp = 0;
            for (int i = 0; i < stride; i++)
            {
                up[i] = (byte)(row[i] - prev[i]);
                costNone += (sbyte)row[i] < 0 ? -(sbyte)row[i] : (sbyte)row[i];
                costUp += (sbyte)up[i] < 0 ? -(sbyte)up[i] : (sbyte)up[i];
            }
            int o = y * (stride + 1);
            if (costUp < costNone)
            {
                filtered[o] = 2;  // Up
                up.CopyTo(filtered, o + 1);
            }
            else
            {
                filtered[o] = 0;  // None
                row.CopyTo(filtered.AsSpan(o + 1));
            }
        }
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(filtered);
        return ms.ToArray();
    }

    static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(len, (uint)data.Length);
        s.Write(len);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = PngCrc32.Update(PngCrc32.Update(0, typeBytes), data);
        BinaryPrimitives.WriteUInt32BigEndian(len, crc);
        s.Write(len);
    }
}
