// Data movement: strided block copies, axis permutation, dtype casts and fills.
// Launchers: CudaBackend.Copy.cs. Copies and permutations only move bytes, so they come
// in element widths b1 / b4 / b8 and serve every dtype of that width.
#include "common.cuh"

template <typename T>
__device__ void copy_blocks(const T* src, i64 srcOffset, i64 srcStride, T* dst, i64 dstOffset, i64 dstStride, i64 blocks, i64 len)
{
    GRID_STRIDE_LOOP(t, blocks * len)
    {
        i64 b = t / len, j = t % len;
        dst[dstOffset + b * dstStride + j] = src[srcOffset + b * srcStride + j];
    }
}

// y has shape outShape (rank ≤ 8); srcStrides[i] is x's stride of the axis that becomes
// y's axis i. Layout matches the C# struct PermuteDesc.
struct PermuteDesc
{
    int rank;
    int outShape[8];
    i64 srcStrides[8];
};

template <typename T> __device__ void permute(const T* x, T* y, i64 n, PermuteDesc d)
{
    GRID_STRIDE_LOOP(t, n)
    {
        i64 rest = t, src = 0;
        for (int k = d.rank - 1; k >= 0; k--)
        {
            src += (rest % d.outShape[k]) * d.srcStrides[k];
            rest /= d.outShape[k];
        }
        y[t] = x[src];
    }
}

#define DEFINE_MOVE(T, S)                                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) copy_blocks_##S(const T* src, i64 so, i64 ss, T* dst, i64 dof, i64 ds, i64 blocks, i64 len) \
    { copy_blocks<T>(src, so, ss, dst, dof, ds, blocks, len); }                                                                                         \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) permute_##S(const T* x, T* y, i64 n, PermuteDesc d) { permute<T>(x, y, n, d); }

DEFINE_MOVE(u8, b1)
DEFINE_MOVE(u32, b4)
DEFINE_MOVE(u64, b8)

// Casts saturate like the CPU backend (TTo.CreateSaturating): float → int truncates toward
// zero, NaN → 0, and values outside the target's range clamp to its ends (1e10 → INT_MAX,
// −3 → 0 and 300 → 255 for u8); int → u8 clamps. A plain C cast is undefined for those
// values (and wraps for u8 on the GPU), so every narrowing cast goes through sat<TT>.
template <typename TT> struct sat;
template <> struct sat<float>
{
    template <typename TF> __device__ static float from(TF x) { return (float)x; }
};
template <> struct sat<double>
{
    template <typename TF> __device__ static double from(TF x) { return (double)x; }
};
template <> struct sat<int>
{
    __device__ static int from(float x) { return x != x ? 0 : x >= 2147483648.0f ? 2147483647 : x <= -2147483648.0f ? (-2147483647 - 1) : (int)x; }
    __device__ static int from(double x) { return x != x ? 0 : x >= 2147483647.0 ? 2147483647 : x <= -2147483648.0 ? (-2147483647 - 1) : (int)x; }
    __device__ static int from(int x) { return x; }
    __device__ static int from(u8 x) { return x; }
};
template <> struct sat<u8>
{
    __device__ static u8 from(float x) { return x != x || x <= 0.0f ? 0 : x >= 255.0f ? 255 : (u8)(int)x; }
    __device__ static u8 from(double x) { return x != x || x <= 0.0 ? 0 : x >= 255.0 ? 255 : (u8)(int)x; }
    __device__ static u8 from(int x) { return x <= 0 ? 0 : x >= 255 ? 255 : (u8)x; }
    __device__ static u8 from(u8 x) { return x; }
};

// The launcher (CudaBackend.Cast) picks cast_<from>_<to>.
#define DEFINE_CAST(TF, SF, TT, ST)                                                                     \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) cast_##SF##_##ST(const TF* x, TT* y, i64 n) \
    { GRID_STRIDE_LOOP(i, n) y[i] = sat<TT>::from(x[i]); }

#define DEFINE_CASTS_FROM(TF, SF)    \
    DEFINE_CAST(TF, SF, float, f32)  \
    DEFINE_CAST(TF, SF, double, f64) \
    DEFINE_CAST(TF, SF, int, i32)    \
    DEFINE_CAST(TF, SF, u8, u8)

DEFINE_CASTS_FROM(float, f32)
DEFINE_CASTS_FROM(double, f64)
DEFINE_CASTS_FROM(int, i32)
DEFINE_CASTS_FROM(u8, u8)

// Fills count elements from dst with a value (f64 needs a kernel: cuMemsetD32 covers the
// 4-byte types and cuMemsetD8 the bytes).
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) fill_f64(double* dst, i64 n, double value) { GRID_STRIDE_LOOP(i, n) dst[i] = value; }
