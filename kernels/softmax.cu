// Softmax and log-softmax over the last axis of a [rows, cols] matrix.
// Launcher: CudaBackend.Softmax.cs. One 256-thread block per row (grid-strided over
// rows): pass 1 finds the row maximum, pass 2 sums exp(x - max), pass 3 writes
// y = exp(x - max) / sum, or y = x - max - log(sum) for log-softmax.
#include "common.cuh"

template <typename T> __device__ void softmax(const T* x, T* y, int rows, int cols, int log)
{
    __shared__ T scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + (i64)r * cols;
        T* yr = y + (i64)r * cols;
        T mx = neg_inf<T>();
        for (int c = threadIdx.x; c < cols; c += blockDim.x) mx = nan_max(mx, xr[c]);
        mx = block_reduce<1>(mx, scratch);
        T sum = (T)0;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += m_exp(xr[c] - mx);
        sum = block_reduce<0>(sum, scratch);
        if (log)
        {
            T lse = m_log(sum);
            for (int c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = xr[c] - mx - lse;
        }
        else
        {
            T inv = (T)1 / sum;
            for (int c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = m_exp(xr[c] - mx) * inv;
        }
    }
}

extern "C" __global__ void __launch_bounds__(MAX_BLOCK) softmax_f32(const float* x, float* y, int rows, int cols, int log) { softmax<float>(x, y, rows, cols, log); }
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) softmax_f64(const double* x, double* y, int rows, int cols, int log) { softmax<double>(x, y, rows, cols, log); }
