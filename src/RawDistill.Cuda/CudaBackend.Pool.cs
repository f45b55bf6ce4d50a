namespace RawDistill.Cuda;

using System.Runtime.InteropServices;
using RawDistill.Backends;
using RawDistill.Tensors;

// Average and max pooling (kernels/pool.cu).
public sealed unsafe partial class CudaBackend
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct PoolDesc
    {
        public int N, C, H, W, P, Q, Kh, Kw, Sh, Sw, Ph, Pw;
    }

    static PoolDesc Desc(in Pool2dGeometry g) => new()
    {
        N = g.N, C = g.C, H = g.H, W = g.W, P = g.P, Q = g.Q,
        Kh = g.KernelH, Kw = g.KernelW, Sh = g.StrideH, Sw = g.StrideW, Ph = g.PadH, Pw = g.PadW,
    };

    /// <inheritdoc/>
    public void AvgPool2dForward(in Pool2dGeometry g, Storage x, Storage y)
    {
        g.Validate();
        var sfx = FloatSuffix(x.DType, "avg_pool2d");
        SameDType("avg_pool2d", x.DType, y);
        long outputs = Shape.Numel(g.OutputShape);
        ulong px = Ptr(x, 0, Shape.Numel(g.InputShape)), py = Ptr(y, 0, outputs);
        var a = new KernelArgs();
        a.Add(px); a.Add(py); a.Add(Desc(g));
        Launch1D("pool.cu", "avgpool_fwd_" + sfx, outputs, ref a);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(in Pool2dGeometry g, Storage dy, Storage dx)
    {
        g.Validate();
        var sfx = FloatSuffix(dy.DType, "avg_pool2d backward");
        SameDType("avg_pool2d backward", dy.DType, dx);
        long inputs = Shape.Numel(g.InputShape);
        ulong pdy = Ptr(dy, 0, Shape.Numel(g.OutputShape)), pdx = Ptr(dx, 0, inputs);
        var a = new KernelArgs();
        a.Add(pdy); a.Add(pdx); a.Add(Desc(g));
        Launch1D("pool.cu", "avgpool_bwd_" + sfx, inputs, ref a);
    }

    /// <inheritdoc/>
    public void MaxPool2dForward(in Pool2dGeometry g, Storage x, Storage y, Storage indices)
    {
        g.Validate();
        var sfx = FloatSuffix(x.DType, "max_pool2d");
        SameDType("max_pool2d", x.DType, y);
        long outputs = Shape.Numel(g.OutputShape);
        ulong px = Ptr(x, 0, Shape.Numel(g.InputShape)), py = Ptr(y, 0, outputs), pi = Ptr(indices, 0, outputs, DType.I32);
        var a = new KernelArgs();
        a.Add(px); a.Add(py); a.Add(pi); a.Add(Desc(g));
        Launch1D("pool.cu", "maxpool_fwd_" + sfx, outputs, ref a);
    }
}
