// A fake libcuda.so.1: "device" memory is host memory, streams and events are no-ops,
// cuLaunchKernel runs the kernel (compiled for the host from kernels/*.cu) block by block.
// Kernels that talk between threads (__syncthreads, shuffles) run one std::thread per CUDA
// thread with real barriers; the others run their threads one after another.
#include "shim.h"
#include "emu.h"
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

thread_local EmuDim threadIdx, blockIdx;
EmuDim blockDim, gridDim;

static std::unique_ptr<std::barrier<>> g_block;
static std::vector<std::unique_ptr<std::barrier<>>> g_warps;
static double g_lanes[1024];
static std::mutex g_atomic;

void emu_syncthreads() { if (g_block) g_block->arrive_and_wait(); }
void emu_warp_write(double v) { g_lanes[threadIdx.x] = v; }
double emu_warp_read(int lane) { return g_lanes[(threadIdx.x & ~31u) + lane]; }
void emu_warp_sync() { if (!g_warps.empty()) g_warps[threadIdx.x / 32]->arrive_and_wait(); }
std::mutex& emu_atomic_mutex() { return g_atomic; }

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
extern "C" {

static long g_launches = 0;

CUresult cuInit(unsigned) { return 0; }
CUresult cuDriverGetVersion(int* v) { *v = 12040; return 0; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return 0; }
CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char* name, int len, int) { std::snprintf(name, len, "RawDistill host emulator"); return 0; }
CUresult cuDeviceGetAttribute(int* v, int attr, int)
{
    // 13 SM clock (kHz), 37 bus width (bits), 38 L2 bytes: made-up but plausible. 36 (memory
    // clock) is refused on purpose, as CUDA 13 may do, so "peak unknown" paths get exercised.
    switch (attr)
    {
    case 75: *v = 9; return 0;
    case 76: *v = 0; return 0;
    case 16: *v = 1; return 0;
    case 13: *v = 1000000; return 0;
    case 37: *v = 64; return 0;
    case 38: *v = 1 << 20; return 0;
    default: *v = 0; return 1; // CUDA_ERROR_INVALID_VALUE
    }
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = (size_t)1 << 32; return 0; }
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)0x1; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { return 0; }
CUresult cuCtxSetCurrent(void*) { return 0; }

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes)
{
    void* m = std::malloc(bytes);
    if (!m) return 2;
    std::memset(m, 0xCD, bytes); // uninitialized device memory is garbage: make that visible
    *p = (CUdeviceptr)m;
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) { std::free((void*)p); return 0; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void*) { std::memcpy((void*)d, s, n); return 0; }
CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void*) { std::memcpy(d, (void*)s, n); return 0; }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void*) { std::memmove((void*)d, (void*)s, n); return 0; }
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void*) { std::memset((void*)d, v, n); return 0; }
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void*) { auto* p = (unsigned*)d; for (size_t i = 0; i < n; i++) p[i] = v; return 0; }

CUresult cuStreamCreate(void** s, unsigned flags) { if (flags != 1) return 1; *s = (void*)0x2; return 0; }
CUresult cuStreamSynchronize(void*) { return 0; }
CUresult cuStreamDestroy_v2(void*) { return 0; }
// Events: kernels run synchronously here, so an event records the host clock when it is
// recorded. Elapsed time needs both events recorded (CUDA_ERROR_INVALID_HANDLE otherwise, as
// the real driver answers for a never-recorded event).
struct EmuEvent { bool recorded; std::chrono::steady_clock::time_point at; };
static long g_live_events = 0;
CUresult cuEventCreate(void** e, unsigned flags)
{
    if (flags & ~0x7u) return 1;
    *e = new EmuEvent{false, {}};
    g_live_events++;
    return 0;
}
CUresult cuEventRecord(void* e, void*) { if (!e) return 400; auto* ev = (EmuEvent*)e; ev->recorded = true; ev->at = std::chrono::steady_clock::now(); return 0; }
CUresult cuEventSynchronize(void* e) { return e ? 0 : 400; }
CUresult cuEventElapsedTime(float* ms, void* a, void* b)
{
    auto *s = (EmuEvent*)a, *t = (EmuEvent*)b;
    if (!s || !t || !s->recorded || !t->recorded) return 400;
    *ms = std::chrono::duration<float, std::milli>(t->at - s->at).count();
    return 0;
}
CUresult cuEventDestroy_v2(void* e) { if (!e) return 400; delete (EmuEvent*)e; g_live_events--; return 0; }

CUresult cuModuleLoadData(void** m, const void* image)
{
    // The image is NVRTC's real CUBIN (an ELF); check it is one, then ignore it.
    if (std::memcmp(image, "\x7f" "ELF", 4) != 0) return 200; // CUDA_ERROR_INVALID_IMAGE
    *m = (void*)0x4;
    return 0;
}
CUresult cuModuleGetFunction(const EmuKernel** f, void*, const char* name)
{
    for (const EmuKernel* k = emu_kernels; k->name; k++)
        if (std::strcmp(k->name, name) == 0) { *f = k; return 0; }
    return 500; // CUDA_ERROR_NOT_FOUND
}
CUresult cuModuleUnload(void*) { return 0; }

static bool NeedsThreads(const char* name)
{
    // Every kernel that uses __syncthreads, __shared__ or warp shuffles (block_reduce) must be listed.
    for (const char* prefix : {"reduce_rows", "reduce_split", "softmax", "chol_diag", "color_jitter", "groupnorm"})
        if (std::strncmp(name, prefix, std::strlen(prefix)) == 0) return true;
    return false;
}

CUresult cuLaunchKernel(const EmuKernel* k, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void*, void** params, void** extra)
{
    if (gx == 0 || gy != 1 || gz != 1 || bx == 0 || bx > 1024 || by != 1 || bz != 1 || shared != 0 || extra) return 1;
    if (gx > 2147483647u) return 1;
    g_launches++;
    gridDim = {gx, 1, 1};
    blockDim = {bx, 1, 1};
    bool threaded = NeedsThreads(k->name);
    if (threaded && bx % 32 != 0) return 1;
    for (unsigned b = 0; b < gx; b++)
    {
        if (!threaded)
        {
            blockIdx = {b, 0, 0};
            for (unsigned t = 0; t < bx; t++) { threadIdx = {t, 0, 0}; k->run(params); }
            continue;
        }
        g_block = std::make_unique<std::barrier<>>(bx);
        g_warps.clear();
        for (unsigned w = 0; w < bx / 32; w++) g_warps.push_back(std::make_unique<std::barrier<>>(32));
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < bx; t++)
            threads.emplace_back([=] { blockIdx = {b, 0, 0}; threadIdx = {t, 0, 0}; k->run(params); });
        for (auto& th : threads) th.join();
        g_block.reset();
        g_warps.clear();
    }
    return 0;
}

CUresult cuGetErrorName(CUresult e, const char** s) { static thread_local std::string n; n = "EMU_ERROR_" + std::to_string(e); *s = n.c_str(); return 0; }
CUresult cuGetErrorString(CUresult, const char** s) { *s = "error reported by the host emulator"; return 0; }

long emu_launch_count() { return g_launches; }
long emu_live_events() { return g_live_events; }
}
