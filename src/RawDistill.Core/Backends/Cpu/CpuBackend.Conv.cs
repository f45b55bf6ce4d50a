namespace RawDistill.Backends.Cpu;

using System.Numerics;
using RawDistill.Tensors;

// conv2d as im2col + GEMM over groups of images.
//
// Version 1 (until this commit) ran one im2col + GEMM per image. On the KRR-ST ConvNets the
// per-image GEMMs are small (Fashion-MNIST 64→128 at 7×7: 128×49×576; CIFAR 256→512 at 8×8:
// 512×64×2304), so the packed GEMM spent its time packing and on edge tiles, and the weight
// gradient issued N rank-pq updates of dW.
// Version 2 (this file) puts nb images side by side: for an image group and conv group g,
// cols = [im2col(x[n0]) | im2col(x[n0+1]) | …] of shape [C/G·R·S, nb·P·Q], and
//   forward          Y_g    = W_g · cols                  then scattered to y[n, g] (+ bias)
//   backward input   dcols  = W_gᵀ · [dy[n0, g] | …]      then col2im per image
//   backward weight  dW_g  += [dy[n0, g] | …] · colsᵀ     one GEMM of depth nb·P·Q per group
// nb (ImagesPerGemm) makes the GEMM about TargetColumns wide, keeps at least two image groups
// per core, and bounds the cols buffer; images of ConvBatchBelowPixels output pixels or more
// stay one per GEMM. With nb = 1 the GEMMs read and write x, y, dy and dx
// in place (no gather/scatter copies), which is version 1. Image groups run in parallel, each
// thread with its own buffers; a 1×1 stride-1 unpadded convolution with nb = 1 reads x directly
// (its im2col is the identity).
public sealed unsafe partial class CpuBackend
{
    /// <summary>Columns (nb·P·Q) a batched conv GEMM aims for: wide enough for the packed GEMM's blocking.</summary>
    internal const int ConvTargetColumns = 1024;

    /// <summary>
    /// Images of at least this many output pixels keep one image per GEMM: their GEMM is already
    /// wide, and batching them only adds the gather/scatter copies (CIFAR 128→256 at 16×16, 256
    /// columns per image, ran 5–25% slower with 4 images per GEMM in the interleaved
    /// <c>conv-versions</c> run of benchmarks/results/cpu-amd-epyc-2core.md).
    /// </summary>
    internal const int ConvBatchBelowPixels = 256;

    /// <summary>Upper bound on one thread's cols buffer, in elements (16 MB of f32).</summary>
    internal const long ConvMaxColsElements = 4L << 20;

    /// <summary>
    /// A cap on nb (default: none). 1 restores version 1, one image per GEMM; the benchmarks set
    /// it to compare the two versions in one run. Like <see cref="CpuGemm.MaxThreads"/>, a
    /// process-wide setting: change it only while no convolution runs.
    /// </summary>
    internal static int MaxImagesPerGemm { get; set; } = int.MaxValue;

    /// <summary>
    /// Whether each image group's GEMMs stay on the thread that runs the group (default). False
    /// lets them fork as well, which is what versions 1 and 2 did; the benchmarks set it to
    /// compare the two in one run. A process-wide setting like <see cref="MaxImagesPerGemm"/>.
    /// </summary>
    internal static bool SerialGemmsPerGroup { get; set; } = true;

    /// <summary>
    /// The GEMM threading for one image group: serial when the groups alone keep every core busy
    /// (see <see cref="CpuGemm.Serial"/>), otherwise the GEMM's own threads.
    /// </summary>
    static CpuGemm.SerialScope GroupGemms(int groups) =>
        CpuGemm.Serial(SerialGemmsPerGroup && groups >= Environment.ProcessorCount);

    /// <summary>nb: images per GEMM for this geometry (a function of the shape, the core count and <see cref="MaxImagesPerGemm"/> only, never of timing).</summary>
    internal static int ImagesPerGemm(in Conv2dGeometry g)
    {
        int pq = g.P * g.Q;
        if (pq >= ConvBatchBelowPixels) return 1;
        long crs = (long)g.CPerGroup * g.R * g.S;
        int nb = (ConvTargetColumns + pq - 1) / pq;
        nb = Math.Min(nb, Math.Max(1, (int)(ConvMaxColsElements / Math.Max(1, crs * pq))));
        nb = Math.Min(nb, Math.Max(1, (g.N + 2 * Environment.ProcessorCount - 1) / (2 * Environment.ProcessorCount)));
        return Math.Max(1, Math.Min(Math.Min(nb, MaxImagesPerGemm), g.N));
    }

    /// <inheritdoc/>
    public void Conv2dForward(in Conv2dGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        g.Validate();
        switch (x.DType)
        {
            case DType.F32: ConvForwardT(g, P<float>(x), P<float>(w), bias == null ? null : P<float>(bias), P<float>(y)); break;
            case DType.F64: ConvForwardT(g, P<double>(x), P<double>(w), bias == null ? null : P<double>(bias), P<double>(y)); break;
            default: throw Unsupported("conv2d", x.DType);
        }
    }

    /// <inheritdoc/>
    public void Conv2dBackwardInput(in Conv2dGeometry g, Storage dy, Storage w, Storage dx)
    {
        g.Validate();
        switch (dy.DType)
        {
            case DType.F32: ConvBackwardInputT(g, P<float>(dy), P<float>(w), P<float>(dx)); break;
            case DType.F64: ConvBackwardInputT(g, P<double>(dy), P<double>(w), P<double>(dx)); break;
            default: throw Unsupported("conv2d backward", dy.DType);
        }
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(in Conv2dGeometry g, Storage x, Storage dy, Storage dw)
    {
        g.Validate();
        switch (x.DType)
        {
            case DType.F32: ConvBackwardWeightT(g, P<float>(x), P<float>(dy), P<float>(dw)); break;
            case DType.F64: ConvBackwardWeightT(g, P<double>(x), P<double>(dy), P<double>(dw)); break;
            default: throw Unsupported("conv2d backward", x.DType);
        }
    }

    static bool IsPointwise(in Conv2dGeometry g) =>
        g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    // Copies rows × len elements from src (row stride srcLd) to dst (row stride dstLd).
    static void CopyRows<T>(T* src, long srcLd, T* dst, long dstLd, int rows, int len) where T : unmanaged
    {
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<T>(src + r * srcLd, len).CopyTo(new Span<T>(dst + r * dstLd, len));
    }

    /// <summary>
    /// Copies a group's GEMM output [K/G, cnt·P·Q] (rows ld apart) to the cnt images' channels of
    /// that group in y (at <paramref name="yg"/>, images K·P·Q apart).
    /// </summary>
    static void ScatterImages<T>(in Conv2dGeometry g, T* from, int ld, T* yg, int cnt) where T : unmanaged
    {
        int pq = g.P * g.Q;
        for (int i = 0; i < cnt; i++)
            CopyRows(from + (long)i * pq, ld, yg + (long)i * g.K * pq, pq, g.KPerGroup, pq);
    }

    /// <summary>
    /// A group's rows of dy for images n0 .. n0+cnt (at <paramref name="dyg"/>) as one GEMM
    /// operand: in place, rows P·Q apart, when there is no <paramref name="buffer"/> (one image
    /// per GEMM); otherwise gathered side by side into it, rows <paramref name="ld"/> apart
    /// (the inverse of <see cref="ScatterImages"/>).
    /// </summary>
    static T* DyRows<T>(in Conv2dGeometry g, T* dyg, T* buffer, int ld, int cnt, out int rowsLd) where T : unmanaged
    {
        int pq = g.P * g.Q;
        if (buffer == null)
        {
            rowsLd = pq;
            return dyg;
        }
        for (int i = 0; i < cnt; i++)
            CopyRows(dyg + (long)i * g.K * pq, pq, buffer + (long)i * pq, ld, g.KPerGroup, pq);
        rowsLd = ld;
        return buffer;
    }

    /// <summary>y[n, k] += bias[k] for images n0 .. n0+cnt.</summary>
    static void AddBias<T>(in Conv2dGeometry g, T* bias, T* y, int n0, int cnt) where T : unmanaged, INumberBase<T>
    {
        int pq = g.P * g.Q;
        for (int i = 0; i < cnt; i++)
            for (int k = 0; k < g.K; k++)
            {
                var row = new Span<T>(y + ((long)(n0 + i) * g.K + k) * pq, pq);
                System.Numerics.Tensors.TensorPrimitives.Add(row, bias[k], row);
            }
    }

    static void ConvForwardT<T>(Conv2dGeometry g, T* x, T* w, T* bias, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (ImplicitIm2Col && !(ImagesPerGemm(g) == 1 && IsPointwise(g)))
        {
            ConvForwardImplicitT(g, x, w, bias, y);
            return;
        }

        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        int nb = ImagesPerGemm(g), groups = (g.N + nb - 1) / nb;
        bool direct = nb == 1 && IsPointwise(g);
        int ld = nb * pq;
        Parallel.For(0, groups, () => (HostScratch<T>.RentIf(!direct, (long)crs * ld), HostScratch<T>.RentIf(nb > 1, (long)g.KPerGroup * ld)), (ig, _, buf) =>
        {
            using var serial = GroupGemms(groups);
            int n0 = ig * nb, cnt = Math.Min(nb, g.N - n0);
            T* colsPtr = buf.Item1.Ptr, outPtr = buf.Item2.Ptr;
            for (int grp = 0; grp < g.Groups; grp++)
            {
                T* src = GroupColumns(g, x, n0, cnt, grp, direct, colsPtr, ld);
                T* wg = w + (long)grp * g.KPerGroup * crs;
                T* yg = y + ((long)n0 * g.K + grp * g.KPerGroup) * pq;
                if (nb == 1)
                {
                    CpuGemm.Gemm(false, false, g.KPerGroup, pq, crs, T.One, wg, crs, src, pq, T.Zero, yg, pq);
                    continue;
                }
                CpuGemm.Gemm(false, false, g.KPerGroup, cnt * pq, crs, T.One, wg, crs, src, ld, T.Zero, outPtr, ld);
                ScatterImages(g, outPtr, ld, yg, cnt);
            }
            if (bias != null) AddBias(g, bias, y, n0, cnt);
            return buf;
        }, buf => { buf.Item1.Dispose(); buf.Item2.Dispose(); });
    }

    static void ConvBackwardInputT<T>(Conv2dGeometry g, T* dy, T* w, T* dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (ImplicitIm2Col && !IsPointwise(g) && BackwardInputAsForward(g))
        {
            ConvBackwardInputAsForwardT(g, dy, w, dx);
            return;
        }

        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        int nb = ImagesPerGemm(g), groups = (g.N + nb - 1) / nb;
        bool direct = nb == 1 && IsPointwise(g);
        int ld = nb * pq;
        Parallel.For(0, groups, () => (HostScratch<T>.RentIf(!direct, (long)crs * ld), HostScratch<T>.RentIf(nb > 1, (long)g.KPerGroup * ld)), (ig, _, buf) =>
        {
            using var serial = GroupGemms(groups);
            int n0 = ig * nb, cnt = Math.Min(nb, g.N - n0);
            T* colsPtr = buf.Item1.Ptr, dyPtr = buf.Item2.Ptr;
            for (int grp = 0; grp < g.Groups; grp++)
            {
                T* dxg = dx + ((long)n0 * g.C + grp * g.CPerGroup) * hw;
                T* dyg = dy + ((long)n0 * g.K + grp * g.KPerGroup) * pq;
                T* wg = w + (long)grp * g.KPerGroup * crs;
                if (direct)
                {
                    CpuGemm.Gemm(true, false, crs, pq, g.KPerGroup, T.One, wg, crs, dyg, pq, T.Zero, dxg, pq);
                    continue;
                }
                T* src = DyRows(g, dyg, dyPtr, ld, cnt, out int srcLd);
                CpuGemm.Gemm(true, false, crs, cnt * pq, g.KPerGroup, T.One, wg, crs, src, srcLd, T.Zero, colsPtr, ld);
                for (int i = 0; i < cnt; i++)
                {
                    T* dxi = dxg + (long)i * g.C * hw;
                    new Span<T>(dxi, g.CPerGroup * hw).Clear();
                    Col2Im(g, colsPtr + (long)i * pq, ld, dxi);
                }
            }
            return buf;
        }, buf => { buf.Item1.Dispose(); buf.Item2.Dispose(); });
    }

    static void ConvBackwardWeightT<T>(Conv2dGeometry g, T* x, T* dy, T* dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (ImplicitIm2Col && ImplicitWeightGradient(g))
        {
            ConvBackwardWeightImplicitT(g, x, dy, dw);
            return;
        }

        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        long wCount = (long)g.K * crs;
        int nb = ImagesPerGemm(g), groups = (g.N + nb - 1) / nb;
        bool direct = nb == 1 && IsPointwise(g);
        int ld = nb * pq;
        SumOverImageGroups(groups, wCount, dw, (g0, g1, acc) =>
        {
            using var cols = HostScratch<T>.RentIf(!direct, (long)crs * ld);
            using var dyBuf = HostScratch<T>.RentIf(nb > 1, (long)g.KPerGroup * ld);
            T* colsPtr = cols.Ptr, dyPtr = dyBuf.Ptr;
            for (int ig = g0; ig < g1; ig++)
            {
                int n0 = ig * nb, cnt = Math.Min(nb, g.N - n0);
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    T* src = GroupColumns(g, x, n0, cnt, grp, direct, colsPtr, ld);
                    T* dyg = DyRows(g, dy + ((long)n0 * g.K + grp * g.KPerGroup) * pq, dyPtr, ld, cnt, out int dyLd);
                    CpuGemm.Gemm(false, true, g.KPerGroup, crs, cnt * pq, T.One, dyg, dyLd, src, direct ? pq : ld, T.One, acc + (long)grp * g.KPerGroup * crs, crs);
                }
            }
        });
    }

    /// <summary>A contiguous range of image groups [g0, g1) whose weight gradients are added into acc.</summary>
    unsafe delegate void ImageGroupRange<T>(int g0, int g1, T* acc) where T : unmanaged;

    /// <summary>
    /// dw = the sum over image groups of what <paramref name="range"/> adds, deterministically: the
    /// groups are split into a fixed set of contiguous chunks (not handed out by the scheduler);
    /// each chunk adds its groups in order into its own buffer (chunk 0 straight into dw), and
    /// the buffers are added to dw in chunk order. The grouping depends on the shape and the core
    /// count only, so the weight gradient (and every training run built on it) is bitwise
    /// reproducible. Each chunk's GEMMs stay on its thread (<see cref="GroupGemms"/>).
    /// </summary>
    static void SumOverImageGroups<T>(int groups, long wCount, T* dw, ImageGroupRange<T> range) where T : unmanaged, INumberBase<T>
    {
        new Span<T>(dw, (int)wCount).Clear();
        int chunks = Math.Max(1, Math.Min(groups, Math.Min(Environment.ProcessorCount, 16)));
        int per = (groups + chunks - 1) / chunks;
        var partial = new HostScratch<T>[chunks];
        try
        {
            for (int ch = 1; ch < chunks; ch++) partial[ch] = HostScratch<T>.Rent(wCount, clear: true);
            Parallel.For(0, chunks, ch =>
            {
                using var serial = GroupGemms(chunks);
                int g0 = ch * per, g1 = Math.Min(groups, g0 + per);
                range(g0, g1, ch == 0 ? dw : partial[ch].Ptr);
            });
            var d = new Span<T>(dw, (int)wCount);
            for (int ch = 1; ch < chunks; ch++)
                System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<T>(partial[ch].Ptr, (int)wCount), d);
        }
        finally
        {
            foreach (var p in partial) p.Dispose();
        }
    }

    /// <summary>
    /// The B operand of images n0 … n0+cnt−1, channel group grp: the images themselves when
    /// <paramref name="direct"/> (a 1×1 convolution of one image), else their im2col columns,
    /// written side by side into <paramref name="cols"/> (rows ld apart).
    /// </summary>
    static T* GroupColumns<T>(in Conv2dGeometry g, T* x, int n0, int cnt, int grp, bool direct, T* cols, long ld) where T : unmanaged, INumberBase<T>
    {
        long hw = (long)g.H * g.W;
        T* first = x + ((long)n0 * g.C + grp * g.CPerGroup) * hw;
        if (direct) return first;
        for (int i = 0; i < cnt; i++)
            Im2Col(g, first + (long)i * g.C * hw, cols + (long)i * g.P * g.Q, ld);
        return cols;
    }

    /// <summary>cols[(c·R + r)·S + s, p·Q + q] = x[c, p·strideH − padH + r, q·strideW − padW + s] (0 outside); cols rows are ld apart.</summary>
    static void Im2Col<T>(in Conv2dGeometry g, T* x, T* cols, long ld) where T : unmanaged, INumberBase<T>
    {
        int P = g.P, Q = g.Q;
        for (int c = 0; c < g.CPerGroup; c++)
            for (int r = 0; r < g.R; r++)
                for (int s = 0; s < g.S; s++)
                {
                    T* dst = cols + (((long)c * g.R + r) * g.S + s) * ld;
                    T* plane = x + (long)c * g.H * g.W;
                    for (int p = 0; p < P; p++)
                    {
                        int ih = p * g.StrideH - g.PadH + r;
                        T* row = dst + (long)p * Q;
                        if ((uint)ih >= (uint)g.H)
                        {
                            new Span<T>(row, Q).Clear();
                            continue;
                        }
                        T* srcRow = plane + (long)ih * g.W;
                        if (g.StrideW == 1)
                        {
                            // Contiguous run with zero fringes where the window leaves the image.
                            int q0 = Math.Max(0, g.PadW - s), q1 = Math.Min(Q, g.W + g.PadW - s);
                            for (int q = 0; q < q0 && q < Q; q++) row[q] = T.Zero;
                            if (q1 > q0) new ReadOnlySpan<T>(srcRow + q0 - g.PadW + s, q1 - q0).CopyTo(new Span<T>(row + q0, q1 - q0));
                            for (int q = Math.Max(q1, q0); q < Q; q++) row[q] = T.Zero;
                        }
                        else
                        {
                            for (int q = 0; q < Q; q++)
                            {
                                int iw = q * g.StrideW - g.PadW + s;
                                row[q] = (uint)iw < (uint)g.W ? srcRow[iw] : T.Zero;
                            }
                        }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: x[c, ih, iw] += cols[...] (x must be cleared first; cols rows are ld apart).</summary>
    static void Col2Im<T>(in Conv2dGeometry g, T* cols, long ld, T* x) where T : unmanaged, INumberBase<T>
    {
        int P = g.P, Q = g.Q;
        for (int c = 0; c < g.CPerGroup; c++)
            for (int r = 0; r < g.R; r++)
                for (int s = 0; s < g.S; s++)
                {
                    T* src = cols + (((long)c * g.R + r) * g.S + s) * ld;
                    T* plane = x + (long)c * g.H * g.W;
                    for (int p = 0; p < P; p++)
                    {
                        int ih = p * g.StrideH - g.PadH + r;
                        if ((uint)ih >= (uint)g.H) continue;
                        T* dstRow = plane + (long)ih * g.W;
                        T* row = src + (long)p * Q;
                        for (int q = 0; q < Q; q++)
                        {
                            int iw = q * g.StrideW - g.PadW + s;
                            if ((uint)iw < (uint)g.W) dstRow[iw] += row[q];
                        }
                    }
                }
    }
}
