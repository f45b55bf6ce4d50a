namespace RawDistill.Backends.Cpu;

using System.Numerics;

// conv2d version 3: the version-2 image groups (see CpuBackend.Conv.cs) without the im2col buffer.
//
//   forward          Y_g   = W_g · cols                 cols packed from x by Im2ColOperandB
//   backward input   dx    = conv(dy, W flipped)        stride 1: a forward convolution of dy with
//                                                       w'[c, k, r, s] = w[k, c, R−1−r, S−1−s] and
//                                                       padding R−1−pad, so it runs the same path
//                                                       (no col2im scatter); other strides keep
//                                                       version 2's GEMM + col2im
//   backward weight  dW_g += dy_g · colsᵀ               colsᵀ packed from x by Im2ColTransposedOperandB
//
// Each image group's GEMMs stay on its thread (GroupGemms). The sums run in the same order as
// version 2's for the forward and the weight gradient (same operands, same KC slices); the
// input gradient sums over (k, r, s) in another order than col2im, so it agrees with version 2
// to rounding, not bit for bit. Every result is deterministic.
//
// The "single core, CPU time" figures in the comments below (thresholds and operand choices)
// come from a scratch A/B harness that was not committed (taskset -c 1, DOTNET_PROCESSOR_COUNT=1,
// process CPU time, 5 alternating reps, load 15–20 from builds): they set the defaults, they are
// not results. Recheck them with `RawDistill.Benchmarks conv-versions --versions 2,3`; the
// committed before/after is benchmarks/results/cpu-side-by-side-2026-12-03.md.
public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// Whether conv2d packs its GEMM operand straight from the images (version 3) or writes the
    /// im2col matrix first (version 2, the reference path of the exactness tests and the
    /// benchmarks' before/after), for convolutions called from this thread. Setting it overrides
    /// <see cref="ImplicitIm2ColDefault"/> on this thread only (the choice is made before the
    /// work is spread over the cores), so a test comparing the two versions cannot switch the
    /// version under another test's convolution.
    /// </summary>
    internal static bool ImplicitIm2Col
    {
        get => implicitIm2ColOnThisThread ?? ImplicitIm2ColDefault;
        set => implicitIm2ColOnThisThread = value;
    }

    /// <summary>The version for threads that did not choose one (true: version 3); benchmarks of whole models set it.</summary>
    internal static bool ImplicitIm2ColDefault { get; set; } = true;

    [ThreadStatic]
    static bool? implicitIm2ColOnThisThread;

    /// <summary>
    /// Input channels per group below which the input gradient keeps version 2: the flipped
    /// forward convolution's GEMM has that many rows, and the packed operand is reused by fewer
    /// rows the fewer there are. Single core, CPU time: with 1 or 3 channels (the first layers)
    /// it ran 3–5× slower than version 2's GEMM + col2im, with 32 or 64 (Fashion-MNIST's 14×14
    /// and 7×7 layers) 10–20% slower, with 128 and 256 (CIFAR, MKDT) 5–28% faster.
    /// </summary>
    internal const int BackwardInputAsForwardMinChannels = 128;

    /// <summary>
    /// Input channels per group below which the weight gradient keeps version 2: with 1 or 3
    /// channels (the first layers, C·R·S = 9 or 27 columns of one NR panel) the transposed
    /// operand's strided packing ran 9–17% slower than packing the written-out im2col matrix;
    /// with 32 and more 2–47% faster (single core, CPU time).
    /// </summary>
    internal const int ImplicitWeightGradientMinChannels = 16;

    /// <summary>Whether the weight gradient packs the transposed im2col operand from the images.</summary>
    internal static bool ImplicitWeightGradient(in Conv2dGeometry g) =>
        !(ImagesPerGemm(g) == 1 && IsPointwise(g)) && g.CPerGroup >= ImplicitWeightGradientMinChannels;

    /// <summary>Whether the input gradient runs as a forward convolution of dy with the flipped weights.</summary>
    internal static bool BackwardInputAsForward(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && g.PadH <= g.R - 1 && g.PadW <= g.S - 1 && g.CPerGroup >= BackwardInputAsForwardMinChannels;

    static void ConvForwardImplicitT<T>(Conv2dGeometry g, T* x, T* w, T* bias, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        int nb = ImagesPerGemm(g), groups = (g.N + nb - 1) / nb;
        int ld = nb * pq;
        Parallel.For(0, groups, () => HostScratch<T>.RentIf(nb > 1, (long)g.KPerGroup * ld), (ig, _, buf) =>
        {
            using var serial = GroupGemms(groups);
            int n0 = ig * nb, cnt = Math.Min(nb, g.N - n0);
            T* outPtr = buf.Ptr;
            for (int grp = 0; grp < g.Groups; grp++)
            {
                var cols = new Im2ColOperandB<T>(g, x + ((long)n0 * g.C + grp * g.CPerGroup) * hw);
                T* wg = w + (long)grp * g.KPerGroup * crs;
                T* yg = y + ((long)n0 * g.K + grp * g.KPerGroup) * pq;
                if (nb == 1)
                {
                    CpuGemm.Gemm(false, g.KPerGroup, pq, crs, T.One, wg, crs, cols, T.Zero, yg, pq);
                    continue;
                }

                CpuGemm.Gemm(false, g.KPerGroup, cnt * pq, crs, T.One, wg, crs, cols, T.Zero, outPtr, ld);
                ScatterImages(g, outPtr, ld, yg, cnt);
            }

            if (bias != null) AddBias(g, bias, y, n0, cnt);
            return buf;
        }, buf => buf.Dispose());
    }

    /// <summary>dx = the forward convolution of dy with w'[c, k, r, s] = w[k, c, R−1−r, S−1−s] (per group), padding R−1−pad.</summary>
    static void ConvBackwardInputAsForwardT<T>(Conv2dGeometry g, T* dy, T* w, T* dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var flipped = new Conv2dGeometry(g.N, g.K, g.P, g.Q, g.C, g.R, g.S, 1, 1, g.R - 1 - g.PadH, g.S - 1 - g.PadW, g.Groups);
        int rs = g.R * g.S;
        using var wFlippedBuf = HostScratch<T>.Rent((long)g.C * g.KPerGroup * rs);
        T* wFlipped = wFlippedBuf.Ptr;
        for (int grp = 0; grp < g.Groups; grp++)
            for (int k = 0; k < g.KPerGroup; k++)
                for (int c = 0; c < g.CPerGroup; c++)
                {
                    T* from = w + (((long)grp * g.KPerGroup + k) * g.CPerGroup + c) * rs;
                    long to = (((long)grp * g.CPerGroup + c) * g.KPerGroup + k) * rs;
                    for (int i = 0; i < rs; i++) wFlipped[to + rs - 1 - i] = from[i];
                }

        ConvForwardImplicitT(flipped, dy, wFlipped, null, dx);
    }

    static void ConvBackwardWeightImplicitT<T>(Conv2dGeometry g, T* x, T* dy, T* dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        long wCount = (long)g.K * crs;
        int nb = ImagesPerGemm(g), groups = (g.N + nb - 1) / nb;
        int ld = nb * pq;
        SumOverImageGroups(groups, wCount, dw, (g0, g1, acc) =>
        {
            using var dyBuf = HostScratch<T>.RentIf(nb > 1, (long)g.KPerGroup * ld);
            T* dyPtr = dyBuf.Ptr;
            for (int ig = g0; ig < g1; ig++)
            {
                int n0 = ig * nb, cnt = Math.Min(nb, g.N - n0);
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    var colsT = new Im2ColTransposedOperandB<T>(g, x + ((long)n0 * g.C + grp * g.CPerGroup) * hw);
                    T* dyg = DyRows(g, dy + ((long)n0 * g.K + grp * g.KPerGroup) * pq, dyPtr, ld, cnt, out int dyLd);
                    CpuGemm.Gemm(false, g.KPerGroup, crs, cnt * pq, T.One, dyg, dyLd, colsT, T.One, acc + (long)grp * g.KPerGroup * crs, crs);
                }
            }
        });
    }
}
