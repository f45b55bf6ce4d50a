// Fused optimizer steps, in place. Launchers: CudaBackend.Optim.cs. Semantics are
// PyTorch's (see IBackend.SgdStep / AdamWStep) and the order of operations follows the
// CPU backend; arithmetic is in the element type, host-side scalars in double.
#include "common.cuh"

// flags: bit 0 = nesterov, bit 1 = first step, bit 2 = has momentum (μ ≠ 0).
template <typename T>
__device__ void sgd_step(T* p, const T* g, T* buf, i64 n, double lr, double mu, double dampening, double wd, int flags)
{
    T tlr = (T)lr, tmu = (T)mu, tdamp = (T)1 - (T)dampening, twd = (T)wd;
    bool nesterov = flags & 1, first = flags & 2, momentum = flags & 4;
    GRID_STRIDE_LOOP(i, n)
    {
        T gi = g[i] + twd * p[i];
        T d = gi;
        if (momentum)
        {
            T b = first ? gi : tmu * buf[i] + tdamp * gi;
            buf[i] = b;
            d = nesterov ? gi + tmu * b : b;
        }
        p[i] -= tlr * d;
    }
}

// PyTorch's formulation (and the CPU backend's): p ← p·(1 − lr·wd);
// p ← p − (lr / bc1)·m / (√v / √bc2 + ε), with decay = 1 − lr·wd, stepSize = lr / bc1 and
// sqrtBc2 = √(1 − β2^t) computed on the host in double.
template <typename T>
__device__ void adamw_step(T* p, const T* g, T* m, T* v, i64 n, double decay, double b1, double b2, double eps, double stepSize, double sqrtBc2)
{
    T tdecay = (T)decay, tb1 = (T)b1, tb2 = (T)b2, teps = (T)eps, tstep = (T)stepSize, tsq = (T)sqrtBc2;
    GRID_STRIDE_LOOP(i, n)
    {
        T gi = g[i];
        T pi = p[i] * tdecay;
        T mi = tb1 * m[i] + ((T)1 - tb1) * gi;
        T vi = tb2 * v[i] + ((T)1 - tb2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - tstep * mi / (m_sqrt(vi) / tsq + teps);
    }
}

#define DEFINE_OPTIM(T, S)                                                                                                                                         \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) sgd_step_##S(T* p, const T* g, T* buf, i64 n, double lr, double mu, double damp, double wd, int flags) \
    { sgd_step<T>(p, g, buf, n, lr, mu, damp, wd, flags); }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) adamw_step_##S(T* p, const T* g, T* m, T* v, i64 n, double decay, double b1, double b2,                \
                                              double eps, double stepSize, double sqrtBc2)                                                                         \
    { adamw_step<T>(p, g, m, v, n, decay, b1, b2, eps, stepSize, sqrtBc2); }

DEFINE_OPTIM(float, f32)
DEFINE_OPTIM(double, f64)
