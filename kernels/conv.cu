// Convolution helpers for im2col + cuBLAS GEMM. Launchers: CudaBackend.Conv.cs.
//
// im2col writes, for batch items n in [n0, n0 + nb) and the Cg input channels of one
// group starting at channel c0, the column matrix
//     col[n, (c·R + r)·S + s, p·Q + q] = x[n0 + n, c0 + c, p·sh − ph + r, q·sw − pw + s]
// (0 outside the image) at col + n·colStrideN + crs·colStrideCrs + pq, so the launcher
// can pick a per-item layout [nb][CgRS][PQ] (forward, backward-input: batched GEMM) or a
// shared layout [CgRS][nb·PQ] (backward-weight: one GEMM with K = nb·PQ).
//
// col2im is the adjoint (gather form, no atomics, deterministic): each dx element sums
// the column entries that read it; it overwrites dx for its group's channels.
#include "common.cuh"

struct ConvDesc
{
    int C, H, W;        // input channels (all groups), height, width
    int K, P, Q;        // output channels (all groups), output height, width
    int R, S;           // kernel height, width
    int sh, sw, ph, pw; // stride, padding
};

template <typename T>
__device__ void im2col(const T* x, T* col, ConvDesc d, int n0, int nb, int c0, int cg, i64 colStrideN, i64 colStrideCrs)
{
    i64 pq = (i64)d.P * d.Q, crs = (i64)cg * d.R * d.S;
    GRID_STRIDE_LOOP(t, (i64)nb * crs * pq)
    {
        i64 j = t % pq, rest = t / pq;
        i64 k = rest % crs;
        int n = (int)(rest / crs);
        int s = (int)(k % d.S), r = (int)((k / d.S) % d.R), c = (int)(k / ((i64)d.S * d.R));
        int p = (int)(j / d.Q), q = (int)(j % d.Q);
        int h = p * d.sh - d.ph + r, w = q * d.sw - d.pw + s;
        T v = (T)0;
        if (h >= 0 && h < d.H && w >= 0 && w < d.W)
            v = x[(((i64)(n0 + n) * d.C + c0 + c) * d.H + h) * d.W + w];
        col[n * colStrideN + k * colStrideCrs + j] = v;
    }
}

template <typename T>
__device__ void col2im(const T* col, T* dx, ConvDesc d, int n0, int nb, int c0, int cg, i64 colStrideN, i64 colStrideCrs)
{
    i64 hw = (i64)d.H * d.W;
    GRID_STRIDE_LOOP(t, (i64)nb * cg * hw)
    {
        int w = (int)(t % d.W), h = (int)((t / d.W) % d.H);
        i64 rest = t / hw;
        int c = (int)(rest % cg), n = (int)(rest / cg);
        T acc = (T)0;
        for (int r = 0; r < d.R; r++)
        {
            int hp = h + d.ph - r; // = p·sh when row r of the window lands on h
            if (hp < 0 || hp % d.sh != 0) continue;
            int p = hp / d.sh;
            if (p >= d.P) continue;
            for (int s = 0; s < d.S; s++)
            {
                int wq = w + d.pw - s;
                if (wq < 0 || wq % d.sw != 0) continue;
                int q = wq / d.sw;
                if (q >= d.Q) continue;
                i64 k = ((i64)c * d.R + r) * d.S + s;
                acc += col[n * colStrideN + k * colStrideCrs + (i64)p * d.Q + q];
            }
        }
        dx[(((i64)(n0 + n) * d.C + c0 + c) * d.H + h) * d.W + w] = acc;
    }
}

// dyp[k, n·PQ + pq] = dy[n0 + n, k0 + k, pq] for k in [0, kg): one group's output
// gradient laid out as [Kg][nb·PQ] for the weight-gradient GEMM.
template <typename T> __device__ void pack_dy(const T* dy, T* dyp, ConvDesc d, int n0, int nb, int k0, int kg)
{
    i64 pq = (i64)d.P * d.Q;
    GRID_STRIDE_LOOP(t, (i64)kg * nb * pq)
    {
        i64 j = t % pq, rest = t / pq;
        int n = (int)(rest % nb), k = (int)(rest / nb);
        dyp[t] = dy[((i64)(n0 + n) * d.K + k0 + k) * pq + j];
    }
}

// y[n, k, pq] += bias[k] over the whole output [N, K, PQ].
template <typename T> __device__ void add_bias(T* y, const T* bias, i64 total, int K, i64 pq)
{
    GRID_STRIDE_LOOP(t, total) y[t] += bias[(t / pq) % K];
}

#define DEFINE_CONV(T, S)                                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) im2col_##S(const T* x, T* col, ConvDesc d, int n0, int nb, int c0, int cg, i64 sN, i64 sK)  \
    { im2col<T>(x, col, d, n0, nb, c0, cg, sN, sK); }                                                                                                   \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) col2im_##S(const T* col, T* dx, ConvDesc d, int n0, int nb, int c0, int cg, i64 sN, i64 sK) \
    { col2im<T>(col, dx, d, n0, nb, c0, cg, sN, sK); }                                                                                                  \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) conv_pack_dy_##S(const T* dy, T* dyp, ConvDesc d, int n0, int nb, int k0, int kg)           \
    { pack_dy<T>(dy, dyp, d, n0, nb, k0, kg); }                                                                                                         \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) conv_add_bias_##S(T* y, const T* bias, i64 total, int K, i64 pq)                            \
    { add_bias<T>(y, bias, total, K, pq); }

DEFINE_CONV(float, f32)
DEFINE_CONV(double, f64)
