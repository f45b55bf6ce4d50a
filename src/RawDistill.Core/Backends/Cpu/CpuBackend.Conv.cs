namespace RawDistill.Backends.Cpu;

using System.Numerics;
using RawDistill.Tensors;

// conv2d as im2col + GEMM. For image n and group g, with cols = im2col(x[n, group g])
// of shape [C/G·R·S, P·Q] and W_g the group's [K/G, C/G·R·S] weight rows:
//   forward          y[n, g]  = W_g · cols                (+ bias)
//   backward input   dx[n, g] = col2im(W_gᵀ · dy[n, g])
//   backward weight  dW_g    += dy[n, g] · colsᵀ          (summed over n)
// Images run in parallel, each thread with its own cols buffer; a 1×1 stride-1
// unpadded convolution reads x directly (its im2col is the identity).
public sealed unsafe partial class CpuBackend
{
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

    static void ConvForwardT<T>(Conv2dGeometry g, T* x, T* w, T* bias, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        bool pointwise = IsPointwise(g);
        Parallel.For(0, g.N, () => pointwise ? null : new T[(long)crs * pq], (n, _, cols) =>
        {
            fixed (T* colsPtr = cols)
            {
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    T* xg = x + ((long)n * g.C + grp * g.CPerGroup) * hw;
                    T* src = xg;
                    if (!pointwise)
                    {
                        Im2Col(g, xg, colsPtr);
                        src = colsPtr;
                    }
                    T* yg = y + ((long)n * g.K + grp * g.KPerGroup) * pq;
                    GemmT(false, false, g.KPerGroup, pq, crs, 1.0, w + (long)grp * g.KPerGroup * crs, crs, src, pq, 0.0, yg, pq);
                }
                if (bias != null)
                    for (int k = 0; k < g.K; k++)
                        System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<T>(y + ((long)n * g.K + k) * pq, pq), bias[k], new Span<T>(y + ((long)n * g.K + k) * pq, pq));
            }
            return cols;
        }, _ => { });
    }

    static void ConvBackwardInputT<T>(Conv2dGeometry g, T* dy, T* w, T* dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        bool pointwise = IsPointwise(g);
        Parallel.For(0, g.N, () => pointwise ? null : new T[(long)crs * pq], (n, _, cols) =>
        {
            fixed (T* colsPtr = cols)
            {
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    T* dxg = dx + ((long)n * g.C + grp * g.CPerGroup) * hw;
                    T* dyg = dy + ((long)n * g.K + grp * g.KPerGroup) * pq;
                    T* wg = w + (long)grp * g.KPerGroup * crs;
                    if (pointwise)
                    {
                        GemmT(true, false, crs, pq, g.KPerGroup, 1.0, wg, crs, dyg, pq, 0.0, dxg, pq);
                        continue;
                    }
                    GemmT(true, false, crs, pq, g.KPerGroup, 1.0, wg, crs, dyg, pq, 0.0, colsPtr, pq);
                    new Span<T>(dxg, g.CPerGroup * hw).Clear();
                    Col2Im(g, colsPtr, dxg);
                }
            }
            return cols;
        }, _ => { });
    }

    static void ConvBackwardWeightT<T>(Conv2dGeometry g, T* x, T* dy, T* dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pq = g.P * g.Q, hw = g.H * g.W;
        int crs = g.CPerGroup * g.R * g.S;
        long wCount = (long)g.K * crs;
        bool pointwise = IsPointwise(g);
        new Span<T>(dw, (int)wCount).Clear();
        // Deterministic sum over images: the images are split into a fixed set of
        // contiguous chunks (not handed out by the scheduler); each chunk adds its images
        // in order into its own buffer (chunk 0 straight into dw), and the buffers are
        // added to dw in chunk order. (Per-thread accumulators summed under a lock, as
        // before, grouped the images differently from run to run, so the weight gradient,
        // and every training run built on it, was not bitwise reproducible.)
        int chunks = Math.Max(1, Math.Min(g.N, Math.Min(Environment.ProcessorCount, 16)));
        int per = (g.N + chunks - 1) / chunks;
        var partial = new T[chunks][];
        Parallel.For(0, chunks, ch =>
        {
            int n0 = ch * per, n1 = Math.Min(g.N, n0 + per);
            var cols = pointwise ? null : new T[(long)crs * pq];
            var own = ch == 0 ? null : new T[wCount];
            partial[ch] = own!;
            fixed (T* colsPtr = cols)
            fixed (T* ownPtr = own)
            {
                T* acc = ch == 0 ? dw : ownPtr;
                for (int n = n0; n < n1; n++)
                    for (int grp = 0; grp < g.Groups; grp++)
                    {
                        T* xg = x + ((long)n * g.C + grp * g.CPerGroup) * hw;
                        T* src = xg;
                        if (!pointwise)
                        {
                            Im2Col(g, xg, colsPtr);
                            src = colsPtr;
                        }
                        T* dyg = dy + ((long)n * g.K + grp * g.KPerGroup) * pq;
                        GemmT(false, true, g.KPerGroup, crs, pq, 1.0, dyg, pq, src, pq, 1.0, acc + (long)grp * g.KPerGroup * crs, crs);
                    }
            }
        });
        var d = new Span<T>(dw, (int)wCount);
        for (int ch = 1; ch < chunks; ch++)
            System.Numerics.Tensors.TensorPrimitives.Add(d, partial[ch], d);
    }

    /// <summary>cols[(c·R + r)·S + s, p·Q + q] = x[c, p·strideH − padH + r, q·strideW − padW + s] (0 outside).</summary>
    static void Im2Col<T>(in Conv2dGeometry g, T* x, T* cols) where T : unmanaged, INumberBase<T>
    {
        int P = g.P, Q = g.Q;
        for (int c = 0; c < g.CPerGroup; c++)
            for (int r = 0; r < g.R; r++)
                for (int s = 0; s < g.S; s++)
                {
                    T* dst = cols + (((long)c * g.R + r) * g.S + s) * P * Q;
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

    /// <summary>The adjoint of <see cref="Im2Col"/>: x[c, ih, iw] += cols[...] (x must be cleared first).</summary>
    static void Col2Im<T>(in Conv2dGeometry g, T* cols, T* x) where T : unmanaged, INumberBase<T>
    {
        int P = g.P, Q = g.Q;
        for (int c = 0; c < g.CPerGroup; c++)
            for (int r = 0; r < g.R; r++)
                for (int s = 0; s < g.S; s++)
                {
                    T* src = cols + (((long)c * g.R + r) * g.S + s) * P * Q;
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
