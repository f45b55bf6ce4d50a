namespace RawDistill.Cuda;

using System.Runtime.InteropServices;
using RawDistill.Backends;
using RawDistill.Tensors;

// conv2d by im2col + cuBLAS GEMM (kernels/conv.cu). Per group g: W_g is [Kg, CgRS] (rows
// g·Kg.. of the weight), a batch item's columns are [CgRS, PQ], its output [Kg, PQ].
//   forward:          y_n,g  = W_g · col_n                    (strided-batched over n)
//   backward-input:   dcol_n = W_gᵀ · dy_n,g, then col2im      (strided-batched over n)
//   backward-weight:  dW_g   = dyP_g · colᵀ with columns laid out [CgRS, nb·PQ] and dy
//                      packed to [Kg, nb·PQ], so one GEMM sums over the batch (K = nb·PQ).
// The batch is processed in chunks so the column buffer stays under WorkspaceElements.
// 1×1 / stride 1 / no padding convolutions skip im2col: the input already is the column matrix.
public sealed unsafe partial class CudaBackend
{
    /// <summary>Largest im2col buffer, in elements (256 MiB of f32).</summary>
    internal static long WorkspaceElements { get; set; } = 1L << 26;

    /// <summary>
    /// Until disposed, limits the im2col buffer to <paramref name="elements"/> (1: one batch item
    /// per chunk), so parity checks exercise the chunked convolution path on small shapes.
    /// </summary>
    public static IDisposable ConvWorkspaceScope(long elements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(elements, 1);
        var saved = WorkspaceElements;
        WorkspaceElements = elements;
        return new RestoreWorkspace(saved);
    }

    sealed class RestoreWorkspace(long saved) : IDisposable
    {
        public void Dispose() => WorkspaceElements = saved;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct ConvDesc
    {
        public int C, H, W, K, P, Q, R, S, Sh, Sw, Ph, Pw;
    }

    static ConvDesc Desc(in Conv2dGeometry g) => new()
    {
        C = g.C, H = g.H, W = g.W, K = g.K, P = g.P, Q = g.Q, R = g.R, S = g.S,
        Sh = g.StrideH, Sw = g.StrideW, Ph = g.PadH, Pw = g.PadW,
    };

    static bool IsPointwise(in Conv2dGeometry g) => g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    static int ChunkFor(in Conv2dGeometry g, long perItem) => (int)Math.Clamp(WorkspaceElements / Math.Max(1, perItem), 1, Math.Max(1, g.N));

    void Im2col(string sfx, ulong x, ulong col, ConvDesc d, int n0, int nb, int c0, int cg, long strideN, long strideCrs)
    {
        var a = new KernelArgs();
        a.Add(x); a.Add(col); a.Add(d); a.Add(n0); a.Add(nb); a.Add(c0); a.Add(cg); a.Add(strideN); a.Add(strideCrs);
        Launch1D("conv.cu", "im2col_" + sfx, (long)nb * cg * d.R * d.S * d.P * d.Q, ref a);
    }

    /// <inheritdoc/>
    public void Conv2dForward(in Conv2dGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        g.Validate();
        var sfx = FloatSuffix(x.DType, "conv2d");
        SameDType("conv2d", x.DType, w, bias, y);
        ulong px = Ptr(x, 0, Shape.Numel(g.InputShape)), pw = Ptr(w, 0, Shape.Numel(g.WeightShape)), py = Ptr(y, 0, Shape.Numel(g.OutputShape));
        if (g.N == 0) return;
        int cg = g.CPerGroup, kg = g.KPerGroup;
        long pq = (long)g.P * g.Q, crs = (long)cg * g.R * g.S;
        int es = x.DType.SizeOf();
        if (IsPointwise(g))
        {
            for (int gr = 0; gr < g.Groups; gr++)
                GemmRowMajor(x.DType, false, false, kg, (int)pq, cg, 1.0,
                    pw + (ulong)(gr * kg * crs * es), (int)crs, 0,
                    px + (ulong)(gr * cg * pq * es), (int)pq, g.C * pq,
                    0.0, py + (ulong)(gr * kg * pq * es), (int)pq, g.K * pq, g.N);
        }
        else
        {
            var d = Desc(g);
            int chunk = ChunkFor(g, crs * pq);
            using var col = Rent(x.DType, chunk * crs * pq);
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int nb = Math.Min(chunk, g.N - n0);
                for (int gr = 0; gr < g.Groups; gr++)
                {
                    Im2col(sfx, px, col.Pointer, d, n0, nb, gr * cg, cg, crs * pq, pq);
                    GemmRowMajor(x.DType, false, false, kg, (int)pq, (int)crs, 1.0,
                        pw + (ulong)(gr * kg * crs * es), (int)crs, 0,
                        col.Pointer, (int)pq, crs * pq,
                        0.0, py + (ulong)(((long)n0 * g.K + gr * kg) * pq * es), (int)pq, g.K * pq, nb);
                }
            }
        }
        if (bias is not null)
        {
            ulong pbias = Ptr(bias, 0, g.K);
            long total = (long)g.N * g.K * pq;
            var a = new KernelArgs();
            a.Add(py); a.Add(pbias); a.Add(total); a.Add(g.K); a.Add(pq);
            Launch1D("conv.cu", "conv_add_bias_" + sfx, total, ref a);
        }
    }

    /// <inheritdoc/>
    public void Conv2dBackwardInput(in Conv2dGeometry g, Storage dy, Storage w, Storage dx)
    {
        g.Validate();
        var sfx = FloatSuffix(dy.DType, "conv2d backward-input");
        SameDType("conv2d backward-input", dy.DType, w, dx);
        ulong pdy = Ptr(dy, 0, Shape.Numel(g.OutputShape)), pw = Ptr(w, 0, Shape.Numel(g.WeightShape)), pdx = Ptr(dx, 0, Shape.Numel(g.InputShape));
        if (g.N == 0) return;
        int cg = g.CPerGroup, kg = g.KPerGroup;
        long pq = (long)g.P * g.Q, crs = (long)cg * g.R * g.S, hw = (long)g.H * g.W;
        int es = dy.DType.SizeOf();
        if (IsPointwise(g))
        {
            // dx_n[c0:c0+Cg] = W_gᵀ · dy_n,g, written straight into dx.
            for (int gr = 0; gr < g.Groups; gr++)
                GemmRowMajor(dy.DType, true, false, cg, (int)pq, kg, 1.0,
                    pw + (ulong)(gr * kg * crs * es), (int)crs, 0,
                    pdy + (ulong)(gr * kg * pq * es), (int)pq, g.K * pq,
                    0.0, pdx + (ulong)(gr * cg * hw * es), (int)hw, g.C * hw, g.N);
            return;
        }
        var d = Desc(g);
        int chunk = ChunkFor(g, crs * pq);
        using var col = Rent(dy.DType, chunk * crs * pq);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int nb = Math.Min(chunk, g.N - n0);
            for (int gr = 0; gr < g.Groups; gr++)
            {
                GemmRowMajor(dy.DType, true, false, (int)crs, (int)pq, kg, 1.0,
                    pw + (ulong)(gr * kg * crs * es), (int)crs, 0,
                    pdy + (ulong)(((long)n0 * g.K + gr * kg) * pq * es), (int)pq, g.K * pq,
                    0.0, col.Pointer, (int)pq, crs * pq, nb);
                var a = new KernelArgs();
                a.Add(col.Pointer); a.Add(pdx); a.Add(d); a.Add(n0); a.Add(nb); a.Add(gr * cg); a.Add(cg); a.Add(crs * pq); a.Add(pq);
                Launch1D("conv.cu", "col2im_" + sfx, (long)nb * cg * hw, ref a);
            }
        }
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(in Conv2dGeometry g, Storage x, Storage dy, Storage dw)
    {
        g.Validate();
        var sfx = FloatSuffix(x.DType, "conv2d backward-weight");
        SameDType("conv2d backward-weight", x.DType, dy, dw);
        long wCount = Shape.Numel(g.WeightShape);
        ulong px = Ptr(x, 0, Shape.Numel(g.InputShape)), pdy = Ptr(dy, 0, Shape.Numel(g.OutputShape)), pdw = Ptr(dw, 0, wCount);
        if (g.N == 0)
        {
            Fill(dw, 0, wCount, 0);
            return;
        }
        int cg = g.CPerGroup, kg = g.KPerGroup;
        long pq = (long)g.P * g.Q, crs = (long)cg * g.R * g.S;
        int es = x.DType.SizeOf();
        var d = Desc(g);
        int chunk = ChunkFor(g, (crs + kg) * pq);
        using var col = Rent(x.DType, chunk * crs * pq);
        using var dyp = Rent(x.DType, chunk * kg * pq);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int nb = Math.Min(chunk, g.N - n0);
            long cols = nb * pq; // the GEMM's inner dimension
            for (int gr = 0; gr < g.Groups; gr++)
            {
                Im2col(sfx, px, col.Pointer, d, n0, nb, gr * cg, cg, pq, cols);
                var a = new KernelArgs();
                a.Add(pdy); a.Add(dyp.Pointer); a.Add(d); a.Add(n0); a.Add(nb); a.Add(gr * kg); a.Add(kg);
                Launch1D("conv.cu", "conv_pack_dy_" + sfx, kg * cols, ref a);
                // dW_g [Kg, CgRS] (+)= dyP [Kg, cols] · col[CgRS, cols]ᵀ
                GemmRowMajor(x.DType, false, true, kg, (int)crs, (int)cols, 1.0,
                    dyp.Pointer, (int)cols, 0,
                    col.Pointer, (int)cols, 0,
                    n0 == 0 ? 0.0 : 1.0, pdw + (ulong)(gr * kg * crs * es), (int)crs, 0, 1);
            }
        }
    }
}
