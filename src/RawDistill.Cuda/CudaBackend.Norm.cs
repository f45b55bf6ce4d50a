namespace RawDistill.Cuda;

using System.Runtime.InteropServices;
using RawDistill.Backends;
using RawDistill.Tensors;

// Group normalization (kernels/norm.cu): one thread block per (sample, group) for the
// statistics and dx, one per channel for dγ and dβ.
public sealed unsafe partial class CudaBackend
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct GroupNormDesc
    {
        public int N, C, G;
        public long S;
        public double Eps;
    }

    static GroupNormDesc Desc(in GroupNormGeometry g) => new() { N = g.N, C = g.C, G = g.Groups, S = g.Spatial, Eps = g.Eps };

    /// <summary>Blocks for a one-block-per-item kernel (the kernels loop when there are more items).</summary>
    static uint BlocksFor(long items) => (uint)Math.Clamp(items, 1, 1 << 16);

    /// <summary>
    /// Threads for a block that strides over <paramref name="length"/> elements: a whole number of
    /// warps (block_reduce needs it), no more than the elements need (small groups would leave
    /// most threads idle at every barrier), at most the launch block size.
    /// </summary>
    uint ThreadsFor(long length) => (uint)Math.Clamp((length + 31) / 32 * 32, 32, BlockSize);

    /// <inheritdoc/>
    public void GroupNormForward(in GroupNormGeometry g, Storage x, Storage? gamma, Storage? beta, Storage y, Storage mean, Storage rstd)
    {
        g.Validate();
        var sfx = FloatSuffix(x.DType, "group_norm");
        SameDType("group_norm", x.DType, gamma, beta, y, mean, rstd);
        var a = new KernelArgs();
        a.Add(Ptr(x, 0, g.Numel)); a.Add(gamma == null ? 0UL : Ptr(gamma, 0, g.C)); a.Add(beta == null ? 0UL : Ptr(beta, 0, g.C));
        a.Add(Ptr(y, 0, g.Numel)); a.Add(Ptr(mean, 0, g.Blocks)); a.Add(Ptr(rstd, 0, g.Blocks)); a.Add(Desc(g));
        Launch("norm.cu", "groupnorm_fwd_" + sfx, BlocksFor(g.Blocks), ThreadsFor(g.GroupLength), ref a);
    }

    /// <inheritdoc/>
    public void GroupNormBackward(in GroupNormGeometry g, Storage dy, Storage x, Storage? gamma, Storage mean, Storage rstd,
        Storage? dx, Storage? dgamma, Storage? dbeta)
    {
        g.Validate();
        var sfx = FloatSuffix(x.DType, "group_norm backward");
        SameDType("group_norm backward", x.DType, dy, gamma, mean, rstd, dx, dgamma, dbeta);
        ulong pdy = Ptr(dy, 0, g.Numel), px = Ptr(x, 0, g.Numel), pm = Ptr(mean, 0, g.Blocks), pr = Ptr(rstd, 0, g.Blocks);
        if (dx != null)
        {
            var a = new KernelArgs();
            a.Add(pdy); a.Add(px); a.Add(gamma == null ? 0UL : Ptr(gamma, 0, g.C)); a.Add(pm); a.Add(pr); a.Add(Ptr(dx, 0, g.Numel)); a.Add(Desc(g));
            Launch("norm.cu", "groupnorm_bwd_dx_" + sfx, BlocksFor(g.Blocks), ThreadsFor(g.GroupLength), ref a);
        }
        if (dgamma != null || dbeta != null)
        {
            var a = new KernelArgs();
            a.Add(pdy); a.Add(px); a.Add(pm); a.Add(pr);
            a.Add(dgamma == null ? 0UL : Ptr(dgamma, 0, g.C)); a.Add(dbeta == null ? 0UL : Ptr(dbeta, 0, g.C)); a.Add(Desc(g));
            Launch("norm.cu", "groupnorm_bwd_param_" + sfx, BlocksFor(g.C), ThreadsFor(g.Spatial), ref a);
        }
    }

    /// <inheritdoc/>
    public void GroupNormDoubleBackward(in GroupNormGeometry g, Storage u, Storage dy, Storage x, Storage? gamma, Storage mean, Storage rstd,
        Storage? ddy, Storage? dx, Storage? dgamma)
    {
        g.Validate();
        var sfx = FloatSuffix(x.DType, "group_norm double backward");
        SameDType("group_norm double backward", x.DType, u, dy, gamma, mean, rstd, ddy, dx, dgamma);
        ulong pu = Ptr(u, 0, g.Numel), pdy = Ptr(dy, 0, g.Numel), px = Ptr(x, 0, g.Numel), pm = Ptr(mean, 0, g.Blocks), pr = Ptr(rstd, 0, g.Blocks);
        // mean(u) and C per block, for the γ kernel.
        using var stats = Rent(DType.F64, 2L * g.Blocks);
        var a = new KernelArgs();
        a.Add(pu); a.Add(pdy); a.Add(px); a.Add(gamma == null ? 0UL : Ptr(gamma, 0, g.C)); a.Add(pm); a.Add(pr);
        a.Add(ddy == null ? 0UL : Ptr(ddy, 0, g.Numel)); a.Add(dx == null ? 0UL : Ptr(dx, 0, g.Numel)); a.Add(stats.Pointer); a.Add(Desc(g));
        Launch("norm.cu", "groupnorm_dbl_" + sfx, BlocksFor(g.Blocks), ThreadsFor(g.GroupLength), ref a);
        if (dgamma == null) return;
        var b = new KernelArgs();
        b.Add(pu); b.Add(pdy); b.Add(px); b.Add(pm); b.Add(pr); b.Add(stats.Pointer); b.Add(Ptr(dgamma, 0, g.C)); b.Add(Desc(g));
        Launch("norm.cu", "groupnorm_dbl_gamma_" + sfx, BlocksFor(g.C), ThreadsFor(g.Spatial), ref b);
    }
}
