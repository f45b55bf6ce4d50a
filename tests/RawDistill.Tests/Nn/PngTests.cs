namespace RawDistill.Tests.Nn;

using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using RawDistill.IO;
using RawDistill.Tensors;

/// <summary>The PNG writer's output decodes: signature, chunk CRCs, IHDR, and the inflated, unfiltered IDAT equals the pixels.</summary>
[Trait("Category", "Nn")]
public sealed class PngTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("rawdistill-png-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, PngCrc32.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0xAE426082u, PngCrc32.Compute(Encoding.ASCII.GetBytes("IEND")));   // every PNG ends with this CRC
    }

    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(3, 4, 9)]
    [InlineData(3, 64, 48)]
    public void WrittenFileDecodesToThePixels(int channels, int width, int height)
    {
        var pixels = new byte[width * height * channels];
        var rng = new System.Random(channels * 1000 + width);
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 7 == 0 ? rng.Next(256) : (i / (width * channels)) * 3);
        string path = Path.Combine(_dir, "a.png");
        Png.Write(path, pixels, width, height, channels);

        var (w, h, colorType, decoded) = Decode(File.ReadAllBytes(path));
        Assert.Equal((width, height, channels == 1 ? 0 : 2), (w, h, colorType));
        Assert.Equal(pixels, decoded);
    }

    [Fact]
    public void ImageGridTilesWithPaddingAndNormalization()
    {
        // Two 1×2×2 images, one in [0, 1] and one far outside it.
        using var images = Tensor.From(new float[] { 0, 1, 0.5f, 0.25f, -10, 10, 0, 30 }, 2, 1, 2, 2);
        var (px, w, h, c) = ImageGrid.Compose(images, new ImageGridOptions { Columns = 2, Padding = 1, PadValue = 0 });
        Assert.Equal((7, 4, 1), (w, h, c));
        Assert.Equal(new byte[]
        {
            0, 0, 0, 0, 0, 0, 0,
            0, 0, 255, 0, 0, 255, 0,     // values outside [0, 1] are clamped
            0, 128, 64, 0, 0, 255, 0,
            0, 0, 0, 0, 0, 0, 0,
        }, px);

        var (pn, _, _, _) = ImageGrid.Compose(images, new ImageGridOptions { Columns = 2, Padding = 1, PadValue = 0, NormalizeEach = true });
        Assert.Equal(new byte[] { 0, 128, 64, 255 }, new[] { pn[11], pn[12], pn[18], pn[19] });   // second image: −10 → 0, 10 → 128, 0 → 64, 30 → 255

        string path = Path.Combine(_dir, "grid.png");
        using var rgb = Tensor.Uniform([5, 3, 8, 8], 0, 1, new RawDistill.Random.Generator(3));
        ImageGrid.Save(path, rgb);
        var (gw, gh, ct, decoded) = Decode(File.ReadAllBytes(path));
        Assert.Equal((3 * 10 + 2, 2 * 10 + 2, 2), (gw, gh, ct));
        Assert.Equal(ImageGrid.Compose(rgb).Pixels, decoded);
    }

    /// <summary>An independent decoder for what the writer produces (8-bit gray/RGB, all five filter types).</summary>
    internal static (int W, int H, int ColorType, byte[] Pixels) Decode(byte[] file)
    {
        Assert.Equal(Png.Signature.ToArray(), file[..8]);
        int pos = 8, w = 0, h = 0, ct = -1;
        var idat = new MemoryStream();
        bool end = false;
        while (!end)
        {
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos));
            string type = Encoding.ASCII.GetString(file, pos + 4, 4);
            var data = file.AsSpan(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos + 8 + len));
            Assert.Equal(PngCrc32.Compute(file.AsSpan(pos + 4, len + 4)), crc);
            switch (type)
            {
                case "IHDR":
                    w = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
                    h = (int)BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
                    Assert.Equal(8, data[8]);
                    ct = data[9];
                    Assert.Equal(new byte[] { 0, 0, 0 }, data[10..13].ToArray());
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": end = true; break;
            }
            pos += 12 + len;
        }
        Assert.Equal(file.Length, pos);
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var f = raw.ToArray();
        int bpp = ct == 0 ? 1 : 3, stride = w * bpp;
        Assert.Equal((stride + 1) * h, f.Length);
        var px = new byte[stride * h];
        for (int y = 0; y < h; y++)
        {
            int filter = f[y * (stride + 1)];
            for (int i = 0; i < stride; i++)
            {
                int x = f[y * (stride + 1) + 1 + i];
                int a = i >= bpp ? px[y * stride + i - bpp] : 0, b = y > 0 ? px[(y - 1) * stride + i] : 0;
                int c = i >= bpp && y > 0 ? px[(y - 1) * stride + i - bpp] : 0;
                int pr = a + b - c, pa = Math.Abs(pr - a), pb = Math.Abs(pr - b), pc = Math.Abs(pr - c);
                int paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                px[y * stride + i] = (byte)(filter switch { 0 => x, 1 => x + a, 2 => x + b, 3 => x + (a + b) / 2, 4 => x + paeth, _ => throw new InvalidDataException() });
            }
        }
        return (w, h, ct, px);
    }
}
