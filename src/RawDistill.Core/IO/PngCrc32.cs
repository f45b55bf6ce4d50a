namespace RawDistill.IO;

/// <summary>
/// CRC-32 as PNG chunks use it (ISO 3309 / zlib: reflected polynomial 0xEDB88320, initial
/// value and final xor 0xFFFFFFFF), table-driven one byte at a time.
/// </summary>
public static class PngCrc32
{
    static readonly uint[] Table = BuildTable();

    static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>Continues a running CRC (start with 0) over more bytes.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = crc ^ 0xFFFFFFFFu;
        foreach (byte b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    /// <summary>The CRC of a byte span.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0, data);
}
