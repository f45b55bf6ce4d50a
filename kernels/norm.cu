// Group normalization (instance norm is groups = channels). Launchers: CudaBackend.Norm.cs.
// x is [N, C, S] with each (sample, group) block of L = (C/G)·S elements contiguous.
//  * groupnorm_fwd_*:      one thread block per (sample, group): two-pass mean and biased
//                          variance in double (block reductions), then y = x·a + s per channel.
//  * groupnorm_bwd_dx_*:   one thread block per (sample, group): A = Σ dy·γ, B = Σ dy·γ·x̂, then
//                          dx = rstd·(dy·γ − A/L − x̂·B/L).
//  * groupnorm_bwd_param_*: one thread block per channel: dγ = Σ_{n,s} dy·x̂, dβ = Σ_{n,s} dy,
//                          samples in order inside the block (deterministic).
//  * groupnorm_dbl_*, groupnorm_dbl_gamma_*: the vector-Jacobian product of dx (second order).
// Block reductions go through common.cuh's block_reduce, so blockDim.x is a multiple of 32.
#include "common.cuh"

struct GroupNormDesc
{
    int N, C, G;
    i64 S;
    double eps;
};

template <typename T>
__device__ void groupnorm_fwd(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, GroupNormDesc d)
{
    __shared__ double scratch[32];
    int cpg = d.C / d.G;
    i64 len = (i64)cpg * d.S;
    for (i64 b = blockIdx.x; b < (i64)d.N * d.G; b += gridDim.x)
    {
        const T* xb = x + b * len;
        double s = 0;
        for (i64 i = threadIdx.x; i < len; i += blockDim.x) s += (double)xb[i];
        double mu = block_reduce<0>(s, scratch) / (double)len;
        double q = 0;
        for (i64 i = threadIdx.x; i < len; i += blockDim.x)
        {
            double v = (double)xb[i] - mu;
            q += v * v;
        }
        double r = 1.0 / sqrt(block_reduce<0>(q, scratch) / (double)len + d.eps);
        if (threadIdx.x == 0)
        {
            mean[b] = (T)mu;
            rstd[b] = (T)r;
        }
        int c0 = (int)(b % d.G) * cpg;
        T* yb = y + b * len;
        for (i64 i = threadIdx.x; i < len; i += blockDim.x)
        {
            int c = c0 + (int)(i / d.S);
            double a = r * (gamma ? (double)gamma[c] : 1.0);
            double sh = (beta ? (double)beta[c] : 0.0) - mu * a;
            yb[i] = (T)((double)xb[i] * a + sh);
        }
        __syncthreads(); // scratch is reused by the next block's reductions
    }
}

template <typename T>
__device__ void groupnorm_bwd_dx(const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd, T* dx, GroupNormDesc d)
{
    __shared__ double scratch[32];
    int cpg = d.C / d.G;
    i64 len = (i64)cpg * d.S;
    for (i64 b = blockIdx.x; b < (i64)d.N * d.G; b += gridDim.x)
    {
        const T* xb = x + b * len;
        const T* dyb = dy + b * len;
        double mu = (double)mean[b], r = (double)rstd[b];
        int c0 = (int)(b % d.G) * cpg;
        double sa = 0, sb = 0;
        for (i64 i = threadIdx.x; i < len; i += blockDim.x)
        {
            double gg = (double)dyb[i] * (gamma ? (double)gamma[c0 + (int)(i / d.S)] : 1.0);
            sa += gg;
            sb += gg * ((double)xb[i] - mu) * r;
        }
        double ma = block_reduce<0>(sa, scratch) / (double)len;
        double mb = block_reduce<0>(sb, scratch) / (double)len;
        T* dxb = dx + b * len;
        for (i64 i = threadIdx.x; i < len; i += blockDim.x)
        {
            double gg = (double)dyb[i] * (gamma ? (double)gamma[c0 + (int)(i / d.S)] : 1.0);
            double xh = ((double)xb[i] - mu) * r;
            dxb[i] = (T)(r * (gg - ma - xh * mb));
        }
        __syncthreads();
    }
}

template <typename T>
__device__ void groupnorm_bwd_param(const T* dy, const T* x, const T* mean, const T* rstd, T* dgamma, T* dbeta, GroupNormDesc d)
{
    __shared__ double scratch[32];
    int cpg = d.C / d.G;
    for (int c = blockIdx.x; c < d.C; c += gridDim.x)
    {
        int grp = c / cpg;
        double sg = 0, sb = 0;
        for (int n = 0; n < d.N; n++)
        {
            i64 b = (i64)n * d.G + grp;
            double mu = (double)mean[b], r = (double)rstd[b];
            const T* xc = x + ((i64)n * d.C + c) * d.S;
            const T* dyc = dy + ((i64)n * d.C + c) * d.S;
            for (i64 i = threadIdx.x; i < d.S; i += blockDim.x)
            {
                double g = (double)dyc[i];
                sg += g * ((double)xc[i] - mu) * r;
                sb += g;
            }
        }
        sg = block_reduce<0>(sg, scratch);
        sb = block_reduce<0>(sb, scratch);
        if (threadIdx.x == 0)
        {
            if (dgamma) dgamma[c] = (T)sg;
            if (dbeta) dbeta[c] = (T)sb;
        }
        __syncthreads();
    }
}

// The vector-Jacobian product of groupnorm_bwd_dx's dx = F(dy, x, γ) for u = ∂J/∂dx (see
// IBackend.GroupNormDoubleBackward for the formulas). One thread block per (sample, group);
// it also leaves mean(u) and C = mean(u·x̂) of its block in `stats` for the γ kernel.
template <typename T>
__device__ void groupnorm_dbl(const T* u, const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd,
                              T* ddy, T* dx, double* stats, GroupNormDesc d)
{
    __shared__ double scratch[32];
    int cpg = d.C / d.G;
    i64 len = (i64)cpg * d.S;
    for (i64 b = blockIdx.x; b < (i64)d.N * d.G; b += gridDim.x)
    {
        const T* xb = x + b * len;
        const T* dyb = dy + b * len;
        const T* ub = u + b * len;
        double mu = (double)mean[b], r = (double)rstd[b];
        int c0 = (int)(b % d.G) * cpg;
        double sh = 0, su = 0, shx = 0, sux = 0, suh = 0;
        for (i64 i = threadIdx.x; i < len; i += blockDim.x)
        {
            double h = (double)dyb[i] * (gamma ? (double)gamma[c0 + (int)(i / d.S)] : 1.0), uu = (double)ub[i];
            double xh = ((double)xb[i] - mu) * r;
            sh += h; su += uu; shx += h * xh; sux += uu * xh; suh += uu * h;
        }
        double a = block_reduce<0>(sh, scratch) / (double)len;
        double ubar = block_reduce<0>(su, scratch) / (double)len;
        double bb = block_reduce<0>(shx, scratch) / (double)len;
        double cc = block_reduce<0>(sux, scratch) / (double)len;
        double dd = block_reduce<0>(suh, scratch) / (double)len - ubar * a - bb * cc;
        if (threadIdx.x == 0 && stats)
        {
            stats[2 * b] = ubar;
            stats[2 * b + 1] = cc;
        }
        for (i64 i = threadIdx.x; i < len; i += blockDim.x)
        {
            double gm = gamma ? (double)gamma[c0 + (int)(i / d.S)] : 1.0;
            double h = (double)dyb[i] * gm, uu = (double)ub[i];
            double xh = ((double)xb[i] - mu) * r;
            if (ddy) ddy[b * len + i] = (T)(gm * r * (uu - ubar - xh * cc));
            if (dx) dx[b * len + i] = (T)(-r * r * (xh * (dd - 2 * bb * cc) + cc * (h - a) + bb * (uu - ubar)));
        }
        __syncthreads();
    }
}

// ∂J/∂γ_c = Σ_{n,s} dy·rstd·(u − mean(u) − x̂·C) from the per-block stats: one thread block per channel.
template <typename T>
__device__ void groupnorm_dbl_gamma(const T* u, const T* dy, const T* x, const T* mean, const T* rstd, const double* stats,
                                    T* dgamma, GroupNormDesc d)
{
    __shared__ double scratch[32];
    int cpg = d.C / d.G;
    for (int c = blockIdx.x; c < d.C; c += gridDim.x)
    {
        double acc = 0;
        for (int n = 0; n < d.N; n++)
        {
            i64 b = (i64)n * d.G + c / cpg;
            double mu = (double)mean[b], r = (double)rstd[b], ubar = stats[2 * b], cc = stats[2 * b + 1];
            i64 off = ((i64)n * d.C + c) * d.S;
            for (i64 i = threadIdx.x; i < d.S; i += blockDim.x)
            {
                double xh = ((double)x[off + i] - mu) * r;
                acc += (double)dy[off + i] * r * ((double)u[off + i] - ubar - xh * cc);
            }
        }
        acc = block_reduce<0>(acc, scratch);
        if (threadIdx.x == 0) dgamma[c] = (T)acc;
        __syncthreads();
    }
}

#define DEFINE_GROUPNORM(T, S)                                                                                                                    \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) groupnorm_fwd_##S(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd,  \
                                                 GroupNormDesc d) { groupnorm_fwd<T>(x, gamma, beta, y, mean, rstd, d); }                         \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) groupnorm_bwd_dx_##S(const T* dy, const T* x, const T* gamma, const T* mean,          \
                                                    const T* rstd, T* dx, GroupNormDesc d)                                                        \
    { groupnorm_bwd_dx<T>(dy, x, gamma, mean, rstd, dx, d); }                                                                                     \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) groupnorm_bwd_param_##S(const T* dy, const T* x, const T* mean, const T* rstd,        \
                                                       T* dgamma, T* dbeta, GroupNormDesc d)                                                      \
    { groupnorm_bwd_param<T>(dy, x, mean, rstd, dgamma, dbeta, d); }                                                                              \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) groupnorm_dbl_##S(const T* u, const T* dy, const T* x, const T* gamma, const T* mean, \
                                                 const T* rstd, T* ddy, T* dx, double* stats, GroupNormDesc d)                                    \
    { groupnorm_dbl<T>(u, dy, x, gamma, mean, rstd, ddy, dx, stats, d); }                                                                         \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) groupnorm_dbl_gamma_##S(const T* u, const T* dy, const T* x, const T* mean,           \
                                                       const T* rstd, const double* stats, T* dgamma, GroupNormDesc d)                            \
    { groupnorm_dbl_gamma<T>(u, dy, x, mean, rstd, stats, dgamma, d); }

DEFINE_GROUPNORM(float, f32)
DEFINE_GROUPNORM(double, f64)
