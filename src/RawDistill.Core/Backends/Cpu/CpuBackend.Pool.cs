namespace RawDistill.Backends.Cpu;

using System.Numerics;
using RawDistill.Tensors;

// 2-D pooling over NCHW planes, one plane per work item.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void AvgPool2dForward(in Pool2dGeometry g, Storage x, Storage y)
    {
        g.Validate();
        switch (x.DType)
        {
            case DType.F32: AvgPoolT(g, P<float>(x), P<float>(y), forward: true); break;
            case DType.F64: AvgPoolT(g, P<double>(x), P<double>(y), forward: true); break;
            default: throw Unsupported("avg_pool2d", x.DType);
        }
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(in Pool2dGeometry g, Storage dy, Storage dx)
    {
        g.Validate();
        switch (dy.DType)
        {
            case DType.F32: AvgPoolT(g, P<float>(dx), P<float>(dy), forward: false); break;
            case DType.F64: AvgPoolT(g, P<double>(dx), P<double>(dy), forward: false); break;
            default: throw Unsupported("avg_pool2d backward", dy.DType);
        }
    }

    /// <summary>Forward: y = window means of x. Backward (the adjoint): x = dy spread evenly over each window.</summary>
    static void AvgPoolT<T>(Pool2dGeometry g, T* x, T* y, bool forward) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int P = g.P, Q = g.Q, H = g.H, W = g.W;
        T inv = T.One / T.CreateChecked(g.KernelH * g.KernelW);
        Parallel.For(0, (long)g.N * g.C, plane =>
        {
            T* xp = x + plane * H * W;
            T* yp = y + plane * P * Q;
            if (!forward) new Span<T>(xp, H * W).Clear();
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++)
                {
                    int h0 = p * g.StrideH - g.PadH, w0 = q * g.StrideW - g.PadW;
                    int h1 = Math.Min(h0 + g.KernelH, H), w1 = Math.Min(w0 + g.KernelW, W);
                    h0 = Math.Max(h0, 0);
                    w0 = Math.Max(w0, 0);
                    if (forward)
                    {
                        T acc = T.Zero;
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++) acc += xp[h * W + w];
                        yp[p * Q + q] = acc * inv;
                    }
                    else
                    {
                        T v = yp[p * Q + q] * inv;
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++) xp[h * W + w] += v;
                    }
                }
        });
    }

    /// <inheritdoc/>
    public void MaxPool2dForward(in Pool2dGeometry g, Storage x, Storage y, Storage indices)
    {
        g.Validate();
        switch (x.DType)
        {
            case DType.F32: MaxPoolT(g, P<float>(x), P<float>(y), P<int>(indices)); break;
            case DType.F64: MaxPoolT(g, P<double>(x), P<double>(y), P<int>(indices)); break;
            default: throw Unsupported("max_pool2d", x.DType);
        }
    }

    static void MaxPoolT<T>(Pool2dGeometry g, T* x, T* y, int* idx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int P = g.P, Q = g.Q, H = g.H, W = g.W;
        if ((long)g.N * g.C * H * W > int.MaxValue) throw new NotSupportedException("max_pool2d: input larger than 2^31 elements");
        Parallel.For(0, (long)g.N * g.C, plane =>
        {
            T* xp = x + plane * H * W;
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++)
                {
                    int h0 = Math.Max(p * g.StrideH - g.PadH, 0), w0 = Math.Max(q * g.StrideW - g.PadW, 0);
                    int h1 = Math.Min(p * g.StrideH - g.PadH + g.KernelH, H), w1 = Math.Min(q * g.StrideW - g.PadW + g.KernelW, W);
                    int best = h0 * W + w0;
                    T bv = xp[best];
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                        {
                            T v = xp[h * W + w];
                            if (v > bv || T.IsNaN(v)) { bv = v; best = h * W + w; }
                        }
                    long o = plane * P * Q + p * Q + q;
                    y[o] = bv;
                    idx[o] = (int)(plane * H * W + best);
                }
        });
    }
}
