namespace RawDistill.Backends.Cpu;

using System.Numerics;

/// <summary>
/// op(B) = the im2col matrix of a group of images, packed straight from the images: row
/// (c·R + r)·S + s, column i·P·Q + p·Q + q holds x[n0 + i, c, p·strideH − padH + r, q·strideW − padW + s]
/// (0 outside the image). conv2d's forward GEMM is Y_g = W_g · this.
/// </summary>
/// <remarks>
/// Versions 1–2 of conv2d wrote this matrix out (CRS × nb·PQ, 2.4 MB for Fashion-MNIST's
/// 64→128 layer at nb = 21, more than a core's L2) and the GEMM then read it back to pack it,
/// so every element crossed the cache hierarchy three times. Packing it here writes each
/// element once, into the packed panel the micro-kernel reads. Each packed row is copied as
/// runs along the input rows (<see cref="Im2ColSegment"/>); a table of per-element offsets, as
/// <see cref="Im2ColTransposedOperandB{T}"/> uses, ran 10–50% slower here on every image size
/// but 7×7 (single core, CPU time, the <c>conv-versions</c> shapes).
/// </remarks>
internal readonly unsafe struct Im2ColOperandB<T> : IGemmOperandB<T>
    where T : unmanaged, INumberBase<T>
{
    private readonly T* x;
    private readonly long imageStride;
    private readonly Conv2dGeometry g;

    /// <param name="g">The convolution (only one group's channels are read).</param>
    /// <param name="x">Channel 0 of the group in the first image; image i starts C·H·W elements later.</param>
    public Im2ColOperandB(in Conv2dGeometry g, T* x)
    {
        this.g = g;
        this.x = x;
        imageStride = (long)g.C * g.H * g.W;
    }

    public void Pack(int nr, int p0, int j0, int kc, int nc, int panel0, int panel1, T* dst)
    {
        int rs = g.R * g.S;
        Span<Im2ColSegment> segments = stackalloc Im2ColSegment[nr];
        for (int panel = panel0; panel < panel1; panel++)
        {
            int jr = panel * nr;
            int cols = Math.Min(nr, nc - jr);
            T* d = dst + (nint)panel * kc * nr;
            int count = Im2ColSegment.Split(g, imageStride, j0 + jr, cols, segments);
            for (int kk = 0; kk < kc; kk++)
            {
                int row = p0 + kk;
                int c = row / rs, r = row % rs / g.S, s = row % g.S;
                T* dRow = d + (nint)kk * nr;
                for (int i = 0; i < count; i++)
                {
                    ref readonly var seg = ref segments[i];
                    T* to = dRow + seg.Column;
                    int ih = seg.P * g.StrideH - g.PadH + r;
                    if ((uint)ih >= (uint)g.H)
                    {
                        new Span<T>(to, seg.Length).Clear();
                        continue;
                    }

                    T* from = x + seg.ImageOffset + ((long)c * g.H + ih) * g.W;
                    int iw0 = seg.Q0 * g.StrideW - g.PadW + s;
                    if (g.StrideW == 1)
                    {
                        // A contiguous run of the input row with zero fringes where the window leaves it.
                        int t0 = Math.Clamp(-iw0, 0, seg.Length), t1 = Math.Clamp(g.W - iw0, t0, seg.Length);
                        for (int t = 0; t < t0; t++) to[t] = T.Zero;
                        new ReadOnlySpan<T>(from + iw0 + t0, t1 - t0).CopyTo(new Span<T>(to + t0, t1 - t0));
                        for (int t = t1; t < seg.Length; t++) to[t] = T.Zero;
                    }
                    else
                    {
                        for (int t = 0; t < seg.Length; t++)
                        {
                            int iw = iw0 + t * g.StrideW;
                            to[t] = (uint)iw < (uint)g.W ? from[iw] : T.Zero;
                        }
                    }
                }

                for (int j = cols; j < nr; j++) dRow[j] = T.Zero;
            }
        }
    }
}
