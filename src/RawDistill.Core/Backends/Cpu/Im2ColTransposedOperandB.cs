namespace RawDistill.Backends.Cpu;

using System.Numerics;

/// <summary>
/// op(B) = the transposed im2col matrix of a group of images, packed straight from the images:
/// row i·P·Q + p·Q + q (an output pixel), column (c·R + r)·S + s holds
/// x[n0 + i, c, p·strideH − padH + r, q·strideW − padW + s] (0 outside). conv2d's weight
/// gradient is dW_g += dY_g · this, a GEMM whose depth is the pixels.
/// </summary>
/// <remarks>
/// See <see cref="Im2ColOperandB{T}"/> for why the matrix is never written out. Here a packed
/// column runs down kc pixels that are the same for every column of the slice, so their source
/// offsets are tabled once per slice (<see cref="Im2ColOffsets"/>) and each column is an indexed
/// copy: faster than walking row runs per column on every measured shape (9–46%, single core).
/// </remarks>
internal readonly unsafe struct Im2ColTransposedOperandB<T> : IGemmOperandB<T>
    where T : unmanaged, INumberBase<T>
{
    private readonly T* x;
    private readonly Conv2dGeometry g;

    /// <param name="g">The convolution (only one group's channels are read).</param>
    /// <param name="x">Channel 0 of the group in the first image; image i starts C·H·W elements later.</param>
    public Im2ColTransposedOperandB(in Conv2dGeometry g, T* x)
    {
        this.g = g;
        this.x = x;
    }

    public void Pack(int nr, int p0, int j0, int kc, int nc, int panel0, int panel1, T* dst)
    {
        int rs = g.R * g.S;
        long plane = (long)g.H * g.W;

        // The kc pixels of this slice are the same for every panel: one offset table for all.
        Span<nint> offsets = rs * kc <= 4096 ? stackalloc nint[rs * kc] : new nint[rs * kc];
        Im2ColOffsets.Fill(g, p0, kc, offsets);
        for (int panel = panel0; panel < panel1; panel++)
        {
            int jr = panel * nr;
            int cols = Math.Min(nr, nc - jr);
            T* d = dst + (nint)panel * kc * nr;
            for (int jj = 0; jj < cols; jj++)
            {
                int column = j0 + jr + jj;
                T* from = x + column / rs * plane;
                ReadOnlySpan<nint> off = offsets.Slice(column % rs * kc, kc);
                T* to = d + jj;
                for (int t = 0; t < off.Length; t++)
                {
                    nint o = off[t];
                    to[(nint)t * nr] = o >= 0 ? from[o] : T.Zero;
                }
            }

            for (int jj = cols; jj < nr; jj++)
            {
                for (int kk = 0; kk < kc; kk++) d[(nint)kk * nr + jj] = T.Zero;
            }
        }
    }
}
