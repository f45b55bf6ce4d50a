namespace RawDistill.Backends.Cpu;

/// <summary>
/// Where the implicit im2col operands read: for a run of output pixels and each kernel tap
/// (r, s), the offset of the input value from channel 0 of the first image, or −1 where the
/// window lies in the padding. Adding c·H·W gives channel c (the offsets do not depend on c).
/// </summary>
internal static class Im2ColOffsets
{
    /// <summary>
    /// Fills <paramref name="into"/>[(r·S + s)·count + t] for the <paramref name="count"/> pixels
    /// starting at flat pixel index <paramref name="first"/> (image · P·Q + p·Q + q).
    /// </summary>
    public static void Fill(in Conv2dGeometry g, int first, int count, Span<nint> into)
    {
        int pq = g.P * g.Q;
        long imageStride = (long)g.C * g.H * g.W;
        for (int t = 0; t < count; t++)
        {
            int j = first + t;
            int image = j / pq, pixel = j % pq;
            int p = pixel / g.Q, q = pixel % g.Q;
            nint imageOffset = (nint)(image * imageStride);
            for (int r = 0; r < g.R; r++)
            {
                int ih = p * g.StrideH - g.PadH + r;
                for (int s = 0; s < g.S; s++)
                {
                    int iw = q * g.StrideW - g.PadW + s;
                    bool inside = (uint)ih < (uint)g.H && (uint)iw < (uint)g.W;
                    into[(r * g.S + s) * count + t] = inside ? imageOffset + (nint)ih * g.W + iw : -1;
                }
            }
        }
    }
}
