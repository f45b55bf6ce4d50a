// Shared helpers for every RawDistill kernel file. NVRTC has no system headers here, so
// this file defines the few integer types it needs and includes nothing.
//
// Conventions (the C# launchers in src/RawDistill.Cuda rely on them):
//  * every kernel is extern "C" and named <op>_<dtype> (f32, f64, u8, i32 / b1, b4, b8
//    for kernels that only move bytes);
//  * element counts and offsets are `long long`, small sizes `int`, scalars `double`
//    (cast to the element type inside), so one C# launcher serves both float dtypes;
//  * element-wise kernels use grid-stride loops, so any grid size is correct;
//  * every kernel is `extern "C" __global__ void __launch_bounds__(MAX_BLOCK) name(...)`.
#pragma once

typedef long long i64;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned char u8;

// Every kernel is declared __launch_bounds__(MAX_BLOCK): the launchers' block size goes up to
// 1024 (the block-size sweep of `bench kernels`), and without the bound a newer NVRTC may give a
// kernel more registers than 1024 threads can have (65536 per block), so the launch would fail
// with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES only at that block size, and only on a GPU.
#define MAX_BLOCK 1024

#define GRID_STRIDE_LOOP(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n); i += (i64)blockDim.x * gridDim.x)

// Overloads that pick the float or double math function, so templates read naturally.
__device__ __forceinline__ float  m_exp(float x)  { return expf(x); }
__device__ __forceinline__ double m_exp(double x) { return exp(x); }
__device__ __forceinline__ float  m_log(float x)  { return logf(x); }
__device__ __forceinline__ double m_log(double x) { return log(x); }
__device__ __forceinline__ float  m_sqrt(float x)  { return sqrtf(x); }
__device__ __forceinline__ double m_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float  m_rsqrt(float x)  { return rsqrtf(x); }
__device__ __forceinline__ double m_rsqrt(double x) { return rsqrt(x); }
__device__ __forceinline__ float  m_pow(float x, float a)    { return powf(x, a); }
__device__ __forceinline__ double m_pow(double x, double a)  { return pow(x, a); }
__device__ __forceinline__ float  m_abs(float x)  { return fabsf(x); }
__device__ __forceinline__ double m_abs(double x) { return fabs(x); }
__device__ __forceinline__ float  m_tanh(float x)  { return tanhf(x); }
__device__ __forceinline__ double m_tanh(double x) { return tanh(x); }

template <typename T> __device__ __forceinline__ T neg_inf();
template <> __device__ __forceinline__ float  neg_inf<float>()  { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double neg_inf<double>() { return __longlong_as_double(0xfff0000000000000LL); }
template <typename T> __device__ __forceinline__ T pos_inf();
template <> __device__ __forceinline__ float  pos_inf<float>()  { return __int_as_float(0x7f800000); }
template <> __device__ __forceinline__ double pos_inf<double>() { return __longlong_as_double(0x7ff0000000000000LL); }

// NaN-propagating max/min (PyTorch's maximum/minimum semantics).
template <typename T> __device__ __forceinline__ T nan_max(T a, T b) { return (a != a || a > b) ? a : b; }
template <typename T> __device__ __forceinline__ T nan_min(T a, T b) { return (a != a || a < b) ? a : b; }

// Warp-level reductions (all 32 lanes take part).
template <typename T> __device__ __forceinline__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}
template <typename T> __device__ __forceinline__ T warp_max(T v)
{
    for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}
template <typename T> __device__ __forceinline__ T warp_min(T v)
{
    for (int o = 16; o > 0; o >>= 1) v = nan_min(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide reduction for blockDim.x a multiple of 32 and at most 1024. Every thread
// gets the result. `scratch` needs 32 entries. OP is 0 = sum, 1 = max, 2 = min.
template <int OP, typename T> __device__ __forceinline__ T warp_reduce(T v)
{
    if (OP == 0) return warp_sum(v);
    if (OP == 1) return warp_max(v);
    return warp_min(v);
}
template <int OP, typename T> __device__ T block_reduce(T v, T* scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_reduce<OP>(v);
    __syncthreads(); // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0)
    {
        T w = lane < warps ? scratch[lane] : scratch[0];
        if (OP == 0 && lane >= warps) w = (T)0;
        w = warp_reduce<OP>(w);
        if (lane == 0) scratch[0] = w;
    }
    __syncthreads();
    return scratch[0];
}
