// 2-D pooling over NCHW. Launchers: CudaBackend.Pool.cs.
// Windows start at p·sh − ph; with floor-mode output sizes and padding ≤ kernel/2 every
// window lies inside the zero-padded input, so the average divides by kh·kw
// (count_include_pad = true) and every max window holds at least one real element.
#include "common.cuh"

struct PoolDesc
{
    int N, C, H, W, P, Q;
    int kh, kw, sh, sw, ph, pw;
};

template <typename T> __device__ void avgpool_fwd(const T* x, T* y, PoolDesc d)
{
    T inv = (T)1 / (T)(d.kh * d.kw);
    GRID_STRIDE_LOOP(t, (i64)d.N * d.C * d.P * d.Q)
    {
        int q = (int)(t % d.Q), p = (int)((t / d.Q) % d.P);
        i64 nc = t / ((i64)d.P * d.Q);
        const T* xp = x + nc * d.H * d.W;
        int h0 = p * d.sh - d.ph, w0 = q * d.sw - d.pw;
        T acc = (T)0;
        for (int r = 0; r < d.kh; r++)
        {
            int h = h0 + r;
            if (h < 0 || h >= d.H) continue;
            for (int s = 0; s < d.kw; s++)
            {
                int w = w0 + s;
                if (w >= 0 && w < d.W) acc += xp[(i64)h * d.W + w];
            }
        }
        y[t] = acc * inv;
    }
}

// Gather form of the adjoint: dx[h, w] = Σ over windows (p, q) containing (h, w) of dy / (kh·kw).
template <typename T> __device__ void avgpool_bwd(const T* dy, T* dx, PoolDesc d)
{
    T inv = (T)1 / (T)(d.kh * d.kw);
    GRID_STRIDE_LOOP(t, (i64)d.N * d.C * d.H * d.W)
    {
        int w = (int)(t % d.W), h = (int)((t / d.W) % d.H);
        i64 nc = t / ((i64)d.H * d.W);
        const T* dyp = dy + nc * d.P * d.Q;
        // p covers h when p·sh − ph ≤ h < p·sh − ph + kh.
        int hp = h + d.ph, wp = w + d.pw;
        int p0 = hp < d.kh ? 0 : (hp - d.kh) / d.sh + 1, p1 = min(hp / d.sh + 1, d.P);
        int q0 = wp < d.kw ? 0 : (wp - d.kw) / d.sw + 1, q1 = min(wp / d.sw + 1, d.Q);
        T acc = (T)0;
        for (int p = p0; p < p1; p++)
            for (int q = q0; q < q1; q++) acc += dyp[(i64)p * d.Q + q];
        dx[t] = acc * inv;
    }
}

// indices hold flat offsets into the whole x tensor (n, c included); first maximum wins.
template <typename T> __device__ void maxpool_fwd(const T* x, T* y, int* idx, PoolDesc d)
{
    GRID_STRIDE_LOOP(t, (i64)d.N * d.C * d.P * d.Q)
    {
        int q = (int)(t % d.Q), p = (int)((t / d.Q) % d.P);
        i64 base = (t / ((i64)d.P * d.Q)) * d.H * d.W;
        int h0 = p * d.sh - d.ph, w0 = q * d.sw - d.pw;
        T best = neg_inf<T>();
        i64 bi = -1;
        for (int r = 0; r < d.kh; r++)
        {
            int h = h0 + r;
            if (h < 0 || h >= d.H) continue;
            for (int s = 0; s < d.kw; s++)
            {
                int w = w0 + s;
                if (w < 0 || w >= d.W) continue;
                i64 o = base + (i64)h * d.W + w;
                T v = x[o];
                if (bi < 0 || v > best || (v != v && best == best)) { best = v; bi = o; }
            }
        }
        y[t] = best;
        idx[t] = (int)bi;
    }
}

#define DEFINE_POOL(T, S)                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) avgpool_fwd_##S(const T* x, T* y, PoolDesc d) { avgpool_fwd<T>(x, y, d); }     \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) avgpool_bwd_##S(const T* dy, T* dx, PoolDesc d) { avgpool_bwd<T>(dy, dx, d); } \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) maxpool_fwd_##S(const T* x, T* y, int* idx, PoolDesc d) { maxpool_fwd<T>(x, y, idx, d); }

DEFINE_POOL(float, f32)
DEFINE_POOL(double, f64)
