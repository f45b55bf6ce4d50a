// Element-wise kernels: unary functions with two scalar parameters, binary functions
// of two inputs read through broadcast strides, and select (mask ? a : b). Launchers: CudaBackend.Elementwise.cs.
// The op codes are the values of RawDistill.Backends.UnaryOp / BinaryOp
// (ElementwiseOps.cs); a test pins those enum values.
#include "common.cuh"

template <typename T> __device__ __forceinline__ T unary_apply(int op, T x, T a, T b)
{
    switch (op)
    {
        case 0: return x * a + b;                                  // Affine
        case 1: return m_exp(x);                                   // Exp
        case 2: return m_log(x);                                   // Log
        case 3: return m_sqrt(x);                                  // Sqrt
        case 4: return m_rsqrt(x);                                 // Rsqrt
        case 5: return m_pow(x, a);                                // Pow
        case 6: return m_abs(x);                                   // Abs
        case 7: return (T)((x > (T)0) - (x < (T)0));               // Sign
        case 8: return x > (T)0 ? x : (T)0;                        // Relu
        case 9: return x > (T)0 ? (T)1 : (T)0;                     // Step
        case 10: return (T)1 / ((T)1 + m_exp(-x));                 // Sigmoid
        case 11: return m_tanh(x);                                 // Tanh
        case 12: return x < a ? a : (x > b ? b : x);               // Clamp
        case 13: return (x >= a && x <= b) ? (T)1 : (T)0;          // InRange
        case 14: return (T)1 / x;                                  // Reciprocal
        default: return x;
    }
}

template <typename T> __device__ void unary(int op, const T* x, T* y, i64 n, double a, double b)
{
    T ta = (T)a, tb = (T)b;
    GRID_STRIDE_LOOP(i, n) y[i] = unary_apply<T>(op, x[i], ta, tb);
}

template <typename T> __device__ __forceinline__ T binary_apply(int op, T a, T b)
{
    switch (op)
    {
        case 0: return a + b;                        // Add
        case 1: return a - b;                        // Sub
        case 2: return a * b;                        // Mul
        case 3: return a / b;                        // Div
        case 4: return nan_max(a, b);                // Max
        case 5: return nan_min(a, b);                // Min
        case 6: return a == b ? (T)1 : (T)0;         // Equal
        case 7: return a > b ? (T)1 : (T)0;          // Greater
        case 8: return a >= b ? (T)1 : (T)0;         // GreaterEqual
        default: return a;
    }
}

// Up to 8 axes after the launcher has merged contiguous ones. Layout matches the C#
// struct BroadcastDesc (int, int[8], then two long[8] at 8-byte alignment).
#define MAX_RANK 8
struct BroadcastDesc
{
    int rank;
    int shape[MAX_RANK];
    i64 aStrides[MAX_RANK];
    i64 bStrides[MAX_RANK];
};

// Version 1 (rank 1, the common same-shape or scalar-broadcast case): no index division.
// Version 2: unravel i over the merged shape, in 32-bit arithmetic when n fits (64-bit
// division is many instructions on the GPU), else in 64-bit.
template <typename T> __device__ void binary(int op, const T* a, const T* b, T* y, i64 n, BroadcastDesc d)
{
    if (d.rank == 1)
    {
        i64 sa = d.aStrides[0], sb = d.bStrides[0];
        GRID_STRIDE_LOOP(i, n) y[i] = binary_apply<T>(op, a[i * sa], b[i * sb]);
    }
    else if (n <= 0xffffffffLL)
    {
        GRID_STRIDE_LOOP(i, n)
        {
            u32 rest = (u32)i;
            i64 ia = 0, ib = 0;
            for (int k = d.rank - 1; k >= 0; k--)
            {
                u32 e = (u32)d.shape[k], c = rest % e;
                rest /= e;
                ia += (i64)c * d.aStrides[k];
                ib += (i64)c * d.bStrides[k];
            }
            y[i] = binary_apply<T>(op, a[ia], b[ib]);
        }
    }
    else
    {
        GRID_STRIDE_LOOP(i, n)
        {
            i64 rest = i, ia = 0, ib = 0;
            for (int k = d.rank - 1; k >= 0; k--)
            {
                i64 c = rest % d.shape[k];
                rest /= d.shape[k];
                ia += c * d.aStrides[k];
                ib += c * d.bStrides[k];
            }
            y[i] = binary_apply<T>(op, a[ia], b[ib]);
        }
    }
}

// A true select, not a·mask + b·(1 − mask): an unselected ±inf or NaN must not turn the
// result into NaN through 0·inf. Inputs are contiguous (Ops.Where expands broadcasts).
template <typename T> __device__ void select_where(const T* mask, const T* a, const T* b, T* y, i64 n)
{
    GRID_STRIDE_LOOP(i, n) y[i] = mask[i] != (T)0 ? a[i] : b[i];
}

#define DEFINE_ELEMENTWISE(T, S)                                                                                                     \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) unary_##S(int op, const T* x, T* y, i64 n, double a, double b)           \
    { unary<T>(op, x, y, n, a, b); }                                                                                                 \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) binary_##S(int op, const T* a, const T* b, T* y, i64 n, BroadcastDesc d) \
    { binary<T>(op, a, b, y, n, d); }                                                                                                \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) select_##S(const T* mask, const T* a, const T* b, T* y, i64 n)           \
    { select_where<T>(mask, a, b, y, n); }

DEFINE_ELEMENTWISE(float, f32)
DEFINE_ELEMENTWISE(double, f64)
