namespace RawDistill.Diagnostics;

/// <summary>
/// The Philox 4x32-10 stream written out from the spec, line for line like kernels/random.cu,
/// as the host reference the CUDA (and CPU) backends are checked against.
/// </summary>
public static class PhiloxSpec
{
    public static (uint, uint, uint, uint) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
            ulong p0 = 0xD2511F53ul * c0, p1 = 0xCD9E8D57ul * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }
        return (c0, c1, c2, c3);
    }

    static uint[] Words(ulong seed, ulong counter, long blk)
    {
        ulong j = counter + (ulong)blk;
        var (x0, x1, x2, x3) = Block((uint)j, (uint)(j >> 32), 0, 0, (uint)seed, (uint)(seed >> 32));
        return [x0, x1, x2, x3];
    }

    const double TwoPowM24 = 1.0 / 16777216.0;

    public static double[] Uniform(long count, ulong seed, ulong counter)
    {
        var r = new double[count];
        for (long i = 0; i < count; i++) r[i] = (Words(seed, counter, i / 4)[i % 4] >> 8) * TwoPowM24;
        return r;
    }

    public static double[] Normal(long count, ulong seed, ulong counter)
    {
        var r = new double[count];
        for (long i = 0; i < count; i++)
        {
            var w = Words(seed, counter, i / 4);
            int pair = (int)(i % 4) / 2;
            double u1 = ((w[2 * pair] >> 8) + 1.0) * TwoPowM24, u2 = (w[2 * pair + 1] >> 8) * TwoPowM24;
            double rad = Math.Sqrt(-2.0 * Math.Log(u1)), theta = 2 * Math.PI * u2;
            r[i] = i % 2 == 0 ? rad * Math.Cos(theta) : rad * Math.Sin(theta);
        }
        return r;
    }
}
