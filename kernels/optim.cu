// Fused optimizer steps, in place. Launchers: CudaBackend.Optim.cs. Semantics are
// PyTorch's (see IBackend.SgdStep / AdamWStep); arithmetic is in the element type, with
// the AdamW bias corrections 1 − β^t computed on the host in double.
#include "common.cuh"

// flags: bit 0 = nesterov, bit 1 = first step, bit 2 = has momentum (μ ≠ 0).
template <typename T>
__device__ void sgd_step(T* p, const T* g, T* buf, i64 n, double lr, double mu, double dampening, double wd, int flags)
{
    T tlr = (T)lr, tmu = (T)mu, tdamp = (T)(1.0 - dampening), twd = (T)wd;
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

template <typename T>
__device__ void adamw_step(T* p, const T* g, T* m, T* v, i64 n, double lr, double b1, double b2, double eps, double wd, double bc1, double bc2)
{
    T tlr = (T)lr, tb1 = (T)b1, tb2 = (T)b2, teps = (T)eps, decay = (T)(lr * wd), tbc1 = (T)bc1, tbc2 = (T)bc2;
    GRID_STRIDE_LOOP(i, n)
    {
        T pi = p[i] - decay * p[i];
        T gi = g[i];
        T mi = tb1 * m[i] + ((T)1 - tb1) * gi;
        T vi = tb2 * v[i] + ((T)1 - tb2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - tlr * (mi / tbc1) / (m_sqrt(vi / tbc2) + teps);
    }
}

#define DEFINE_OPTIM(T, S)                                                                                                \
    extern "C" __global__ void sgd_step_##S(T* p, const T* g, T* buf, i64 n, double lr, double mu, double damp, double wd, int flags) \
    { sgd_step<T>(p, g, buf, n, lr, mu, damp, wd, flags); }                                                              \
    extern "C" __global__ void adamw_step_##S(T* p, const T* g, T* m, T* v, i64 n, double lr, double b1, double b2,          \
                                              double eps, double wd, double bc1, double bc2)                              \
    { adamw_step<T>(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2); }

DEFINE_OPTIM(float, f32)
DEFINE_OPTIM(double, f64)
