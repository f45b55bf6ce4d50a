namespace RawDistill.Backends.Cpu;

using RawDistill.Tensors;

// Layout primitives: block copies (slice, concat) and axis permutation (transpose).
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void CopyBlocks(Storage src, long srcOffset, long srcStride, Storage dst, long dstOffset, long dstStride, long blocks, long blockLength)
    {
        if (src.DType != dst.DType) throw new ArgumentException($"cpu: copy between {src.DType} and {dst.DType}");
        int es = src.DType.SizeOf();
        byte* s = (byte*)P(src);
        byte* d = (byte*)P(dst);
        long bytes = blockLength * es;
        long minBlocks = Math.Max(1, (ParallelThreshold * 4L) / Math.Max(1, bytes));
        ForChunks(blocks, (b0, b1) =>
        {
            for (long b = b0; b < b1; b++)
                Buffer.MemoryCopy(s + (srcOffset + b * srcStride) * es, d + (dstOffset + b * dstStride) * es, bytes, bytes);
        }, minBlocks);
    }

    /// <inheritdoc/>
    public void Permute(Storage x, int[] xShape, int[] perm, Storage y)
    {
        switch (x.DType.SizeOf())
        {
            case 1: PermuteT<byte>(P<byte>(x), xShape, perm, P<byte>(y)); break;
            case 4: PermuteT<int>(P<int>(x), xShape, perm, P<int>(y)); break;
            case 8: PermuteT<long>(P<long>(x), xShape, perm, P<long>(y)); break;
            default: throw Unsupported("permute", x.DType);
        }
    }

    static void PermuteT<T>(T* x, int[] xShape, int[] perm, T* y) where T : unmanaged
    {
        int rank = xShape.Length;
        var xStrides = Shape.Strides(xShape);
        var yShape = new int[rank];
        var srcStride = new long[rank]; // stride in x of y's axis i
        for (int i = 0; i < rank; i++)
        {
            yShape[i] = xShape[perm[i]];
            srcStride[i] = xStrides[perm[i]];
        }
        long total = Shape.Numel(xShape);
        if (total == 0) return;
        int inner = rank == 0 ? 1 : yShape[rank - 1];
        long innerStride = rank == 0 ? 1 : srcStride[rank - 1];
        long rows = total / inner;

        // 2-D transpose (the common case: [a, b] → [b, a], possibly batched) goes in
        // 32×32 tiles so both sides stay in cache.
        if (rank >= 2 && perm[rank - 1] == rank - 2 && perm[rank - 2] == rank - 1 && IsIdentityPrefix(perm, rank - 2))
        {
            int ra = xShape[rank - 2], cb = xShape[rank - 1];
            long batches = total / ((long)ra * cb);
            const int tile = 32;
            int tilesA = (ra + tile - 1) / tile, tilesB = (cb + tile - 1) / tile;
            ForChunks(batches * tilesA, (t0, t1) =>
            {
                for (long t = t0; t < t1; t++)
                {
                    long batch = t / tilesA;
                    int i0 = (int)(t % tilesA) * tile;
                    T* xb = x + batch * ra * cb;
                    T* yb = y + batch * ra * cb;
                    int i1 = Math.Min(ra, i0 + tile);
                    for (int j0 = 0; j0 < cb; j0 += tile)
                    {
                        int j1 = Math.Min(cb, j0 + tile);
                        for (int i = i0; i < i1; i++)
                            for (int j = j0; j < j1; j++)
                                yb[(long)j * ra + i] = xb[(long)i * cb + j];
                    }
                }
            }, Math.Max(1, ParallelThreshold / (tile * (long)Math.Max(1, cb))));
            return;
        }

        ForChunks(rows, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                long rem = r, off = 0;
                for (int d = rank - 2; d >= 0; d--)
                {
                    long i = rem % yShape[d];
                    rem /= yShape[d];
                    off += i * srcStride[d];
                }
                T* dst = y + r * inner;
                T* src = x + off;
                if (innerStride == 1) new ReadOnlySpan<T>(src, inner).CopyTo(new Span<T>(dst, inner));
                else for (int j = 0; j < inner; j++) dst[j] = src[j * innerStride];
            }
        }, Math.Max(1, ParallelThreshold / Math.Max(1, inner)));
    }

    static bool IsIdentityPrefix(int[] perm, int n)
    {
        for (int i = 0; i < n; i++) if (perm[i] != i) return false;
        return true;
    }
}
