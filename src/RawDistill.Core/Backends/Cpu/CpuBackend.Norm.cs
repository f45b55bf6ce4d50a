namespace RawDistill.Backends.Cpu;

using System.Numerics;
using RawDistill.Tensors;

// Group normalization: one (sample, group) block per work item, statistics accumulated in
// double in a fixed order (deterministic, and two-pass so the variance does not cancel).
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void GroupNormForward(in GroupNormGeometry g, Storage x, Storage? gamma, Storage? beta, Storage y, Storage mean, Storage rstd)
    {
        g.Validate();
        switch (x.DType)
        {
            case DType.F32: GroupNormForwardT<float>(g, x, gamma, beta, y, mean, rstd); break;
            case DType.F64: GroupNormForwardT<double>(g, x, gamma, beta, y, mean, rstd); break;
            default: throw Unsupported("group_norm", x.DType);
        }
    }

    /// <inheritdoc/>
    public void GroupNormBackward(in GroupNormGeometry g, Storage dy, Storage x, Storage? gamma, Storage mean, Storage rstd,
        Storage? dx, Storage? dgamma, Storage? dbeta)
    {
        g.Validate();
        switch (x.DType)
        {
            case DType.F32: GroupNormBackwardT<float>(g, dy, x, gamma, mean, rstd, dx, dgamma, dbeta); break;
            case DType.F64: GroupNormBackwardT<double>(g, dy, x, gamma, mean, rstd, dx, dgamma, dbeta); break;
            default: throw Unsupported("group_norm backward", x.DType);
        }
    }

    static void GroupNormForwardT<T>(GroupNormGeometry g, Storage xs, Storage? gs, Storage? bs, Storage ys, Storage ms, Storage rs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* x = P<T>(xs), y = P<T>(ys), mean = P<T>(ms), rstd = P<T>(rs);
        T* gamma = gs == null ? null : P<T>(gs), beta = bs == null ? null : P<T>(bs);
        long len = g.GroupLength, spatial = g.Spatial;
        int cpg = g.ChannelsPerGroup;
        double eps = g.Eps;
        Parallel.For(0, g.Blocks, new ParallelOptions { MaxDegreeOfParallelism = len * g.Blocks < ParallelThreshold ? 1 : -1 }, b =>
        {
            T* xb = x + b * len;
            T* yb = y + b * len;
            double sum = 0;
            for (long i = 0; i < len; i++) sum += double.CreateTruncating(xb[i]);
            double mu = sum / len;
            double sq = 0;
            for (long i = 0; i < len; i++)
            {
                double d = double.CreateTruncating(xb[i]) - mu;
                sq += d * d;
            }
            double r = 1 / Math.Sqrt(sq / len + eps);
            mean[b] = T.CreateTruncating(mu);
            rstd[b] = T.CreateTruncating(r);
            int c0 = (int)(b % g.Groups) * cpg;
            for (int c = 0; c < cpg; c++)
            {
                // y = x·a + s with a = rstd·γ, s = β − μ·rstd·γ per channel.
                double a = r * (gamma == null ? 1 : double.CreateTruncating(gamma[c0 + c]));
                double s = (beta == null ? 0 : double.CreateTruncating(beta[c0 + c])) - mu * a;
                T* xc = xb + c * spatial;
                T* yc = yb + c * spatial;
                for (long i = 0; i < spatial; i++) yc[i] = T.CreateTruncating(double.CreateTruncating(xc[i]) * a + s);
            }
        });
    }

    static void GroupNormBackwardT<T>(GroupNormGeometry g, Storage dys, Storage xs, Storage? gs, Storage ms, Storage rs,
        Storage? dxs, Storage? dgs, Storage? dbs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* dy = P<T>(dys), x = P<T>(xs), mean = P<T>(ms), rstd = P<T>(rs);
        T* gamma = gs == null ? null : P<T>(gs);
        T* dx = dxs == null ? null : P<T>(dxs);
        long len = g.GroupLength, spatial = g.Spatial;
        int cpg = g.ChannelsPerGroup, C = g.C;
        // Per (sample, channel) partial sums of dy·x̂ and dy, reduced over samples afterwards in
        // sample order (the same result on any thread count).
        bool wantParams = dgs != null || dbs != null;
        var partGamma = wantParams ? new double[(long)g.N * C] : null;
        var partBeta = wantParams ? new double[(long)g.N * C] : null;
        Parallel.For(0, g.Blocks, new ParallelOptions { MaxDegreeOfParallelism = len * g.Blocks < ParallelThreshold ? 1 : -1 }, b =>
        {
            T* xb = x + b * len;
            T* dyb = dy + b * len;
            double mu = double.CreateTruncating(mean[b]), r = double.CreateTruncating(rstd[b]);
            int n = (int)(b / g.Groups), c0 = (int)(b % g.Groups) * cpg;
            double sumG = 0, sumGx = 0;
            for (int c = 0; c < cpg; c++)
            {
                double gm = gamma == null ? 1 : double.CreateTruncating(gamma[c0 + c]);
                double pg = 0, pb = 0;
                T* xc = xb + c * spatial;
                T* dyc = dyb + c * spatial;
                for (long i = 0; i < spatial; i++)
                {
                    double d = double.CreateTruncating(dyc[i]);
                    double xh = (double.CreateTruncating(xc[i]) - mu) * r;
                    pg += d * xh;
                    pb += d;
                }
                if (wantParams)
                {
                    partGamma![(long)n * C + c0 + c] = pg;
                    partBeta![(long)n * C + c0 + c] = pb;
                }
                sumG += gm * pb;
                sumGx += gm * pg;
            }
            if (dx == null) return;
            double meanG = sumG / len, meanGx = sumGx / len;
            T* dxb = dx + b * len;
            for (int c = 0; c < cpg; c++)
            {
                double gm = gamma == null ? 1 : double.CreateTruncating(gamma[c0 + c]);
                T* xc = xb + c * spatial;
                T* dyc = dyb + c * spatial;
                T* dxc = dxb + c * spatial;
                for (long i = 0; i < spatial; i++)
                {
                    double xh = (double.CreateTruncating(xc[i]) - mu) * r;
                    dxc[i] = T.CreateTruncating(r * (double.CreateTruncating(dyc[i]) * gm - meanG - xh * meanGx));
                }
            }
        });
        if (!wantParams) return;
        T* dgamma = dgs == null ? null : P<T>(dgs);
        T* dbeta = dbs == null ? null : P<T>(dbs);
        for (int c = 0; c < C; c++)
        {
            double sg = 0, sb = 0;
            for (int n = 0; n < g.N; n++)
            {
                sg += partGamma![(long)n * C + c];
                sb += partBeta![(long)n * C + c];
            }
            if (dgamma != null) dgamma[c] = T.CreateTruncating(sg);
            if (dbeta != null) dbeta[c] = T.CreateTruncating(sb);
        }
    }

    /// <inheritdoc/>
    public void GroupNormDoubleBackward(in GroupNormGeometry g, Storage u, Storage dy, Storage x, Storage? gamma, Storage mean, Storage rstd,
        Storage? ddy, Storage? dx, Storage? dgamma)
    {
        g.Validate();
        switch (x.DType)
        {
            case DType.F32: GroupNormDoubleBackwardT<float>(g, u, dy, x, gamma, mean, rstd, ddy, dx, dgamma); break;
            case DType.F64: GroupNormDoubleBackwardT<double>(g, u, dy, x, gamma, mean, rstd, ddy, dx, dgamma); break;
            default: throw Unsupported("group_norm double backward", x.DType);
        }
    }

    static void GroupNormDoubleBackwardT<T>(GroupNormGeometry g, Storage us, Storage dys, Storage xs, Storage? gs, Storage ms, Storage rs,
        Storage? ddys, Storage? dxs, Storage? dgs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* u = P<T>(us), dy = P<T>(dys), x = P<T>(xs), mean = P<T>(ms), rstd = P<T>(rs);
        T* gamma = gs == null ? null : P<T>(gs);
        T* ddy = ddys == null ? null : P<T>(ddys);
        T* dx = dxs == null ? null : P<T>(dxs);
        long len = g.GroupLength, spatial = g.Spatial;
        int cpg = g.ChannelsPerGroup, C = g.C;
        var partGamma = dgs != null ? new double[(long)g.N * C] : null;
        Parallel.For(0, g.Blocks, new ParallelOptions { MaxDegreeOfParallelism = len * g.Blocks < ParallelThreshold ? 1 : -1 }, b =>
        {
            T* xb = x + b * len, dyb = dy + b * len, ub = u + b * len;
            double mu = double.CreateTruncating(mean[b]), r = double.CreateTruncating(rstd[b]);
            int n = (int)(b / g.Groups), c0 = (int)(b % g.Groups) * cpg;
            double sh = 0, su = 0, shx = 0, sux = 0, suh = 0;
            for (int c = 0; c < cpg; c++)
            {
                double gm = gamma == null ? 1 : double.CreateTruncating(gamma[c0 + c]);
                for (long i = c * spatial; i < (c + 1) * spatial; i++)
                {
                    double h = double.CreateTruncating(dyb[i]) * gm, uu = double.CreateTruncating(ub[i]);
                    double xh = (double.CreateTruncating(xb[i]) - mu) * r;
                    sh += h; su += uu; shx += h * xh; sux += uu * xh; suh += uu * h;
                }
            }
            double a = sh / len, ubar = su / len, bb = shx / len, cc = sux / len, d = suh / len - ubar * a - bb * cc;
            for (int c = 0; c < cpg; c++)
            {
                double gm = gamma == null ? 1 : double.CreateTruncating(gamma[c0 + c]);
                double pg = 0;
                for (long i = c * spatial; i < (c + 1) * spatial; i++)
                {
                    double dyi = double.CreateTruncating(dyb[i]), h = dyi * gm, uu = double.CreateTruncating(ub[i]);
                    double xh = (double.CreateTruncating(xb[i]) - mu) * r;
                    double t = r * (uu - ubar - xh * cc);
                    if (ddy != null) ddy[b * len + i] = T.CreateTruncating(gm * t);
                    if (dx != null) dx[b * len + i] = T.CreateTruncating(-r * r * (xh * (d - 2 * bb * cc) + cc * (h - a) + bb * (uu - ubar)));
                    pg += dyi * t;
                }
                if (partGamma != null) partGamma[(long)n * C + c0 + c] = pg;
            }
        });
        if (partGamma == null) return;
        T* dgamma = P<T>(dgs!);
        for (int c = 0; c < C; c++)
        {
            double s = 0;
            for (int n = 0; n < g.N; n++) s += partGamma[(long)n * C + c];
            dgamma[c] = T.CreateTruncating(s);
        }
    }
}
