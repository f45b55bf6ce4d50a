namespace RawDistill.Random;

// TEMPORARY minimal Philox 4x32-10 to the shared spec, replaced by the full version
// (known-answer tests, parallel fills) from its own branch.
public static class Philox
{
    public static (uint, uint, uint, uint) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = 0xD2511F53UL * c0, p1 = 0xCD9E8D57UL * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
            k0 += 0x9E3779B9; k1 += 0xBB67AE85;
        }
        return (c0, c1, c2, c3);
    }

    public static long BlocksFor(long count) => (count + 3) / 4;

    static uint Word(long i, ulong seed, ulong counter)
    {
        ulong j = counter + (ulong)(i / 4);
        var (x0, x1, x2, x3) = Block((uint)j, (uint)(j >> 32), 0, 0, (uint)seed, (uint)(seed >> 32));
        return (i % 4) switch { 0 => x0, 1 => x1, 2 => x2, _ => x3 };
    }

    public static void FillUniform(Span<float> y, ulong seed, ulong counter) { for (int i = 0; i < y.Length; i++) y[i] = (Word(i, seed, counter) >> 8) * (1f / 16777216f); }
    public static void FillUniform(Span<double> y, ulong seed, ulong counter) { for (int i = 0; i < y.Length; i++) y[i] = (Word(i, seed, counter) >> 8) * (1.0 / 16777216.0); }
    public static void FillNormal(Span<float> y, ulong seed, ulong counter) { for (int i = 0; i < y.Length; i++) y[i] = (float)Normal(i, seed, counter); }
    public static void FillNormal(Span<double> y, ulong seed, ulong counter) { for (int i = 0; i < y.Length; i++) y[i] = Normal(i, seed, counter); }

    static double Normal(long i, ulong seed, ulong counter)
    {
        long even = i - (i % 2);
        double u1 = ((Word(even, seed, counter) >> 8) + 1) * (1.0 / 16777216.0);
        double u2 = (Word(even + 1, seed, counter) >> 8) * (1.0 / 16777216.0);
        double r = Math.Sqrt(-2 * Math.Log(u1)), t = 2 * Math.PI * u2;
        return i % 2 == 0 ? r * Math.Cos(t) : r * Math.Sin(t);
    }
}
