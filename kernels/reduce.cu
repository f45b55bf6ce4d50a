// Reductions over the middle axis of an [outer, reduce, inner] view, and argmax.
// Launchers: CudaBackend.Reduce.cs.
//
// Three versions, picked by the launcher:
//  1. reduce_rows_*  (inner == 1): one 256-thread block per output, a strided partial
//     per thread, then a block reduction (warp shuffles). Reads are coalesced.
//  2. reduce_split_* then reduce_rows_* (inner == 1, few long rows): version 1 would use
//     only `outer` blocks, so each row is cut into `splits` chunks, one block per
//     (row, chunk) writes a partial, and version 1 reduces the [outer, splits] partials.
//  3. reduce_cols_*  (inner > 1): one thread per output (o, i) walks the reduce axis;
//     neighbouring threads read neighbouring i, so reads are coalesced too.
// OP: 0 = sum, 1 = max, 2 = min (the values of RawDistill.Backends.ReduceOp).
#include "common.cuh"

template <int OP, typename T> __device__ __forceinline__ T identity()
{
    return OP == 0 ? (T)0 : (OP == 1 ? neg_inf<T>() : pos_inf<T>());
}
template <int OP, typename T> __device__ __forceinline__ T combine(T a, T b)
{
    return OP == 0 ? a + b : (OP == 1 ? nan_max(a, b) : nan_min(a, b));
}

template <int OP, typename T> __device__ void reduce_rows(const T* x, T* y, int outer, int reduce)
{
    __shared__ T scratch[32];
    for (int o = blockIdx.x; o < outer; o += gridDim.x)
    {
        const T* row = x + (i64)o * reduce;
        T acc = identity<OP, T>();
        for (int r = threadIdx.x; r < reduce; r += blockDim.x) acc = combine<OP>(acc, row[r]);
        acc = block_reduce<OP>(acc, scratch);
        if (threadIdx.x == 0) y[o] = acc;
    }
}

template <int OP, typename T> __device__ void reduce_split(const T* x, T* partial, int outer, int reduce, int splits, int chunk)
{
    __shared__ T scratch[32];
    for (i64 blk = blockIdx.x; blk < (i64)outer * splits; blk += gridDim.x)
    {
        i64 o = blk / splits;
        int c = (int)(blk % splits);
        int r0 = c * chunk, r1 = min(reduce, r0 + chunk);
        const T* row = x + o * reduce;
        T acc = identity<OP, T>();
        for (int r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc = combine<OP>(acc, row[r]);
        acc = block_reduce<OP>(acc, scratch);
        if (threadIdx.x == 0) partial[blk] = acc;
    }
}

template <int OP, typename T> __device__ void reduce_cols(const T* x, T* y, int outer, int reduce, int inner)
{
    GRID_STRIDE_LOOP(t, (i64)outer * inner)
    {
        i64 o = t / inner, i = t % inner;
        const T* p = x + o * reduce * inner + i;
        T acc = identity<OP, T>();
        for (int r = 0; r < reduce; r++) acc = combine<OP>(acc, p[(i64)r * inner]);
        y[t] = acc;
    }
}

// First index of the maximum (NaN counts as the maximum, like torch.argmax).
template <typename T> __device__ void argmax(const T* x, int* idx, int outer, int reduce, int inner)
{
    GRID_STRIDE_LOOP(t, (i64)outer * inner)
    {
        i64 o = t / inner, i = t % inner;
        const T* p = x + o * reduce * inner + i;
        T best = p[0];
        int bi = 0;
        for (int r = 1; r < reduce; r++)
        {
            T v = p[(i64)r * inner];
            if (best != best) break;
            if (v > best || v != v) { best = v; bi = r; }
        }
        idx[t] = bi;
    }
}

#define DEFINE_REDUCE(T, S)                                                                                                                          \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) reduce_rows_##S(int op, const T* x, T* y, int outer, int reduce)                         \
    {                                                                                                                                                \
        if (op == 0) reduce_rows<0, T>(x, y, outer, reduce);                                                                                         \
        else if (op == 1) reduce_rows<1, T>(x, y, outer, reduce);                                                                                    \
        else reduce_rows<2, T>(x, y, outer, reduce);                                                                                                 \
    }                                                                                                                                                \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) reduce_split_##S(int op, const T* x, T* p, int outer, int reduce, int splits, int chunk) \
    {                                                                                                                                                \
        if (op == 0) reduce_split<0, T>(x, p, outer, reduce, splits, chunk);                                                                         \
        else if (op == 1) reduce_split<1, T>(x, p, outer, reduce, splits, chunk);                                                                    \
        else reduce_split<2, T>(x, p, outer, reduce, splits, chunk);                                                                                 \
    }                                                                                                                                                \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) reduce_cols_##S(int op, const T* x, T* y, int outer, int reduce, int inner)              \
    {                                                                                                                                                \
        if (op == 0) reduce_cols<0, T>(x, y, outer, reduce, inner);                                                                                  \
        else if (op == 1) reduce_cols<1, T>(x, y, outer, reduce, inner);                                                                             \
        else reduce_cols<2, T>(x, y, outer, reduce, inner);                                                                                          \
    }                                                                                                                                                \
    extern "C" __global__ void __launch_bounds__(MAX_BLOCK) argmax_##S(const T* x, int* idx, int outer, int reduce, int inner)                       \
    { argmax<T>(x, idx, outer, reduce, inner); }

DEFINE_REDUCE(float, f32)
DEFINE_REDUCE(double, f64)
