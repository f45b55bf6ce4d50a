// Linear-algebra helpers for the blocked f64 Cholesky. Launcher: CudaBackend.Linalg.cs.
//
// The launcher factors A = L·Lᵀ (row-major, lower) in place in L, block column by block
// column: this file's chol_diag_block factors the nb×nb diagonal block, cuBLAS Dtrsm
// solves the panel below it and Dsyrk updates the trailing matrix. Only the lower
// triangle (row-major) is ever read or written until chol_zero_upper clears the rest.
#include "common.cuh"

#define CHOL_NB 64 // largest diagonal block; the launcher uses the same constant

// Factors the b×b diagonal block starting at (k, k) of the n×n row-major matrix L in
// place (right-looking, in shared memory, one thread block). The first pivot that is not
// positive (or NaN) is written to *info as its global index k + j, unless *info already
// holds an earlier failure; the block then stops (L is undefined from there on).
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) chol_diag_block_f64(double* L, int n, int k, int b, int* info)
{
    __shared__ double a[CHOL_NB][CHOL_NB + 1];
    for (int t = threadIdx.x; t < b * b; t += blockDim.x)
    {
        int i = t / b, c = t % b;
        a[i][c] = c <= i ? L[(i64)(k + i) * n + k + c] : 0.0;
    }
    __syncthreads();
    for (int j = 0; j < b; j++)
    {
        double d = a[j][j];
        if (!(d > 0.0))
        {
            if (threadIdx.x == 0) atomicCAS(info, -1, k + j);
            return; // uniform: every thread read the same d
        }
        __syncthreads(); // everyone has read a[j][j] before it changes
        double s = sqrt(d);
        for (int i = j + 1 + threadIdx.x; i < b; i += blockDim.x) a[i][j] /= s;
        if (threadIdx.x == 0) a[j][j] = s;
        __syncthreads();
        // trailing update of the lower triangle: a[i][c] -= a[i][j]·a[c][j], j < c ≤ i < b
        int m = b - j - 1;
        for (int t = threadIdx.x; t < m * m; t += blockDim.x)
        {
            int i = j + 1 + t / m, c = j + 1 + t % m;
            if (c <= i) a[i][c] -= a[i][j] * a[c][j];
        }
        __syncthreads();
    }
    for (int t = threadIdx.x; t < b * b; t += blockDim.x)
    {
        int i = t / b, c = t % b;
        if (c <= i) L[(i64)(k + i) * n + k + c] = a[i][c];
    }
}

// Zeros the strict upper triangle of an n×n row-major matrix.
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) chol_zero_upper_f64(double* L, int n)
{
    GRID_STRIDE_LOOP(t, (i64)n * n)
    {
        i64 i = t / n, c = t % n;
        if (c > i) L[t] = 0.0;
    }
}
