// Gather and scatter-add by i32 indices. Launchers: CudaBackend.Index.cs.
// Scatter-adds use atomicAdd (native for float and, from sm_60, for double), so their
// summation order, and therefore the last bits of f32 results, can vary run to run.
#include "common.cuh"

template <typename T> __device__ void gather_flat(const T* x, const int* idx, i64 n, T* y)
{
    GRID_STRIDE_LOOP(i, n) y[i] = x[idx[i]];
}

template <typename T> __device__ void scatter_add_flat(const T* x, const int* idx, i64 n, T* y)
{
    GRID_STRIDE_LOOP(i, n) atomicAdd(y + idx[i], x[i]);
}

// Rows of rowLength elements; T is any type of the element's width (rows move as bytes).
template <typename T> __device__ void gather_rows(const T* x, int rowLength, const int* idx, int rows, T* y)
{
    GRID_STRIDE_LOOP(t, (i64)rows * rowLength)
    {
        i64 r = t / rowLength, j = t % rowLength;
        y[t] = x[(i64)idx[r] * rowLength + j];
    }
}

template <typename T> __device__ void scatter_add_rows(const T* x, int rowLength, const int* idx, int rows, T* y)
{
    GRID_STRIDE_LOOP(t, (i64)rows * rowLength)
    {
        i64 r = t / rowLength, j = t % rowLength;
        atomicAdd(y + (i64)idx[r] * rowLength + j, x[t]);
    }
}

#define DEFINE_SCATTER(T, S)                                                                                                                                     \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) gather_flat_##S(const T* x, const int* idx, i64 n, T* y) { gather_flat<T>(x, idx, n, y); }           \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) scatter_add_flat_##S(const T* x, const int* idx, i64 n, T* y) { scatter_add_flat<T>(x, idx, n, y); } \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) scatter_add_rows_##S(const T* x, int len, const int* idx, int rows, T* y)                            \
    { scatter_add_rows<T>(x, len, idx, rows, y); }

DEFINE_SCATTER(float, f32)
DEFINE_SCATTER(double, f64)

// GatherRows works for any dtype: b1 / b4 / b8 move 1-, 4- and 8-byte elements.
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) gather_rows_b1(const u8* x, int len, const int* idx, int rows, u8* y) { gather_rows<u8>(x, len, idx, rows, y); }
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) gather_rows_b4(const u32* x, int len, const int* idx, int rows, u32* y) { gather_rows<u32>(x, len, idx, rows, y); }
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) gather_rows_b8(const u64* x, int len, const int* idx, int rows, u64* y) { gather_rows<u64>(x, len, idx, rows, y); }
