// Host shim that lets g++ compile kernels/*.cu unchanged (see README.md). CUDA built-ins
// become thread-locals / functions; __syncthreads and warp shuffles are real barriers
// across the std::threads that emulate one block.
#pragma once
#include <cmath>
#include <cstring>
#include <cstdint>
#include <algorithm>
#include <mutex>

#define __global__
#define __device__
#define __forceinline__ inline
// A __shared__ variable is a function-local static. run.sh links the kernel objects between
// two marker objects (shared_mark.cpp), so all of them lie between emu_shared_begin and
// emu_shared_end, which the driver fills with 0xFF before each block under EMU_POISON
// (shared memory is not zeroed, nor kept between blocks, on a GPU). Kernels have no other
// mutable statics or globals.
#define __shared__ static
#define __launch_bounds__(...)

struct EmuDim { unsigned x = 0, y = 0, z = 0; };
extern thread_local EmuDim threadIdx, blockIdx;
extern EmuDim blockDim, gridDim;

void emu_syncthreads();
void emu_warp_write(double v);      // shuffle helpers: one double slot per lane
double emu_warp_read(int lane);
void emu_warp_sync();
std::mutex& emu_atomic_mutex();

inline void __syncthreads() { emu_syncthreads(); }

template <typename T> inline T __shfl_down_sync(unsigned, T v, int delta)
{
    int lane = threadIdx.x & 31;
    emu_warp_write((double)v);
    emu_warp_sync();
    T r = lane + delta < 32 ? (T)emu_warp_read(lane + delta) : v;
    emu_warp_sync();
    return r;
}

template <typename T> inline T atomicAdd(T* p, T v) { std::lock_guard<std::mutex> g(emu_atomic_mutex()); T old = *p; *p = old + v; return old; }
inline int atomicCAS(int* p, int cmp, int v) { std::lock_guard<std::mutex> g(emu_atomic_mutex()); int old = *p; if (old == cmp) *p = v; return old; }

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __int_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, 8); return d; }
// Round-to-nearest float ops (CUDA never fuses them into an FMA; run.sh compiles with
// -ffp-contract=off so g++ does not either).
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
using std::min;
using std::max;
