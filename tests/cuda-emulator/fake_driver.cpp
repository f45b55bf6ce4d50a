// A fake libcuda.so.1: "device" memory is host memory, cuLaunchKernel runs the kernel
// (compiled for the host from kernels/*.cu) block by block. Kernels that talk between threads
// (__syncthreads, shuffles) run one std::thread per CUDA thread with real barriers; the others
// run their threads one after another. EMU_STRICT=1 (what CI runs) turns on everything that
// makes a bug show here the way it would on a GPU (README.md lists what each switch catches):
//   EMU_ORDER=shuffle|reverse|forward   order of the threads of a block, and of the blocks
//   EMU_POISON=1      shared memory filled with 0xFF (NaN) before every block
//   EMU_GUARD=1       every allocation ends at a PROT_NONE page, freed memory is unmapped
//                     (quarantined), slack bytes hold canaries: overruns and use-after-free fault
//   EMU_LIMITS=1      launches over the CUBIN's register count, launch bounds or shared memory
//                     are refused (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES)
//   EMU_DEFERRED=1    work queues per stream and runs at synchronization: a missing
//                     synchronization or a cuBLAS call on another stream gives wrong results
//   EMU_DIVERGENCE=1  a thread that exits while others wait at __syncthreads, a kernel that
//                     syncs but is not listed in NeedsThreads, or a barrier that waits longer
//                     than EMU_WATCHDOG_SECONDS (default 20) fails the launch (sticky error)
//   EMU_DRIVER_VERSION=13000   what cuDriverGetVersion reports (default 12040)
#include "shim.h"
#include "emu.h"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include <sys/mman.h>
#include <unistd.h>

thread_local EmuDim threadIdx, blockIdx;
EmuDim blockDim, gridDim;

// ---- configuration -------------------------------------------------------------------------

struct EmuConfig
{
    bool strict = false;
    int order = 0; // 0 forward, 1 reverse, 2 shuffle
    bool poison = false, guard = false, limits = false, deferred = false, divergence = false;
    int driverVersion = 12040;
    int watchdogSeconds = 20;
    unsigned seed = 12345;
};

static int EnvInt(const char* name, int fallback)
{
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

static const EmuConfig& Config()
{
    static EmuConfig c = [] {
        EmuConfig e;
        e.strict = EnvInt("EMU_STRICT", 0) != 0;
        const char* order = std::getenv("EMU_ORDER");
        e.order = order ? (std::strcmp(order, "shuffle") == 0 ? 2 : std::strcmp(order, "reverse") == 0 ? 1 : 0) : (e.strict ? 2 : 0);
        e.poison = EnvInt("EMU_POISON", e.strict) != 0;
        e.guard = EnvInt("EMU_GUARD", e.strict) != 0;
        e.limits = EnvInt("EMU_LIMITS", e.strict) != 0;
        e.deferred = EnvInt("EMU_DEFERRED", e.strict) != 0;
        e.divergence = EnvInt("EMU_DIVERGENCE", e.strict) != 0;
        e.driverVersion = EnvInt("EMU_DRIVER_VERSION", 12040);
        e.watchdogSeconds = EnvInt("EMU_WATCHDOG_SECONDS", 20);
        e.seed = (unsigned)EnvInt("EMU_SEED", 12345);
        if (e.strict || std::getenv("EMU_VERBOSE"))
            std::fprintf(stderr, "[emu] order=%s poison=%d guard=%d limits=%d deferred=%d divergence=%d driver=%d\n",
                         e.order == 2 ? "shuffle" : e.order == 1 ? "reverse" : "forward", e.poison, e.guard, e.limits, e.deferred, e.divergence, e.driverVersion);
        return e;
    }();
    return c;
}

// ---- errors ----------------------------------------------------------------------------------

enum : int
{
    OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_IMAGE = 200, INVALID_CONTEXT = 201, INVALID_HANDLE = 400,
    NOT_FOUND = 500, NOT_READY = 600, ILLEGAL_ADDRESS = 700, LAUNCH_OUT_OF_RESOURCES = 701, LAUNCH_TIMEOUT = 702, LAUNCH_FAILED = 719,
};

// An execution error (a fault inside a kernel) is sticky, as on a GPU: every later call returns it.
static std::atomic<int> g_sticky{0};
static std::string g_current_kernel = "(none)";
static long g_launches = 0;

struct EmuAbort { int code; };

static void Fail(int code, const std::string& what)
{
    std::fprintf(stderr, "[emu] %s\n", what.c_str());
    int expected = 0;
    g_sticky.compare_exchange_strong(expected, code);
}

// ---- barriers with a watchdog ----------------------------------------------------------------

// A barrier for `expected` threads that a thread leaves when its kernel returns. A thread that
// leaves while others wait is a divergent __syncthreads: an error under EMU_DIVERGENCE (the
// waiting threads are released with EmuAbort), otherwise the barrier releases without it.
class EmuBarrier
{
public:
    explicit EmuBarrier(int expected, const char* kind) : expected_(expected), kind_(kind) {}

    void ArriveAndWait()
    {
        std::unique_lock<std::mutex> lock(m_);
        if (aborted_) throw EmuAbort{abortCode_};
        long gen = generation_;
        if (++arrived_ == expected_) { Release(); return; }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(Config().watchdogSeconds);
        while (gen == generation_ && !aborted_)
            if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && gen == generation_ && !aborted_)
            {
                Abort(LAUNCH_TIMEOUT, "barrier watchdog: " + std::to_string(arrived_) + " of " + std::to_string(expected_) + " threads waited at " +
                                          kind_ + " for " + std::to_string(Config().watchdogSeconds) + " s (a divergent barrier hangs a GPU)");
            }
        if (aborted_ && gen == generation_) throw EmuAbort{abortCode_};
    }

    void Leave(unsigned thread)
    {
        std::lock_guard<std::mutex> lock(m_);
        expected_--;
        if (arrived_ == 0 || aborted_) return;
        if (Config().divergence)
            Abort(LAUNCH_FAILED, "divergent " + std::string(kind_) + ": thread " + std::to_string(thread) + " returned while " +
                                     std::to_string(arrived_) + " threads wait at the barrier");
        else if (arrived_ == expected_) Release();
    }

private:
    void Release() { arrived_ = 0; generation_++; cv_.notify_all(); }
    void Abort(int code, const std::string& why)
    {
        aborted_ = true;
        abortCode_ = code;
        Fail(code, "kernel " + g_current_kernel + " (launch #" + std::to_string(g_launches) + ", block " + std::to_string(blockIdx.x) + "): " + why);
        cv_.notify_all();
    }

    std::mutex m_;
    std::condition_variable cv_;
    int expected_, arrived_ = 0, abortCode_ = 0;
    long generation_ = 0;
    bool aborted_ = false;
    const char* kind_;
};

static std::unique_ptr<EmuBarrier> g_block;
static std::vector<std::unique_ptr<EmuBarrier>> g_warps;
static double g_lanes[1024];
static std::mutex g_atomic;

static void NotThreaded(const char* what)
{
    if (!Config().divergence) return;
    Fail(LAUNCH_FAILED, "kernel " + g_current_kernel + " uses " + what + " but runs its threads one after another: list it in NeedsThreads (fake_driver.cpp)");
    throw EmuAbort{LAUNCH_FAILED};
}

void emu_syncthreads()
{
    if (g_block) g_block->ArriveAndWait();
    else NotThreaded("__syncthreads");
}
void emu_warp_write(double v) { g_lanes[threadIdx.x] = v; }
double emu_warp_read(int lane) { return g_lanes[(threadIdx.x & ~31u) + lane]; }
void emu_warp_sync()
{
    if (!g_warps.empty()) g_warps[threadIdx.x / 32]->ArriveAndWait();
    else NotThreaded("warp shuffles");
}
std::mutex& emu_atomic_mutex() { return g_atomic; }

// ---- shared memory poisoning -----------------------------------------------------------------

// run.sh links the kernel objects between two marks (shared_mark.cpp): their .bss, which holds
// only the kernels' __shared__ statics, lies between the end of the first and the second.
extern "C" char emu_shared_begin[64];
extern "C" char emu_shared_end[64];

static void PoisonShared()
{
    char* from = emu_shared_begin + sizeof emu_shared_begin;
    if (Config().poison && +emu_shared_end > from)
        std::memset(from, 0xFF, (size_t)(emu_shared_end - from)); // NaN for floats, −1 for ints
}

// ---- device memory ---------------------------------------------------------------------------

// Under EMU_GUARD an allocation is [front slack][data][tail slack < 8][PROT_NONE page]; the
// slacks hold canaries checked at free. A freed allocation is made PROT_NONE and kept
// (quarantined) so a later access faults instead of reading reused memory.
struct Allocation
{
    char* base;
    size_t mapped;
    char* data;
    size_t size;
    long id;
    bool freed;
};

static std::mutex g_mem;
static std::map<uintptr_t, Allocation> g_allocs; // by data address
static std::deque<uintptr_t> g_quarantine;
static long g_alloc_ids = 0;
static const size_t kPage = 4096;
static const unsigned char kCanary = 0xA5;
static struct sigaction g_previous_segv;

static const Allocation* FindGuarded(uintptr_t addr)
{
    // The allocation whose mapping (including its guard page) contains addr.
    auto it = g_allocs.upper_bound(addr);
    if (it != g_allocs.begin())
    {
        --it;
        const Allocation& a = it->second;
        if (addr >= (uintptr_t)a.base && addr < (uintptr_t)a.base + a.mapped) return &a;
    }
    if (it != g_allocs.end() && addr >= (uintptr_t)it->second.base && addr < (uintptr_t)it->second.base + it->second.mapped) return &it->second;
    return nullptr;
}

static void OnSegv(int sig, siginfo_t* info, void* ctx)
{
    uintptr_t addr = (uintptr_t)info->si_addr;
    const Allocation* a = FindGuarded(addr); // no lock: the faulting thread may hold it; a racy read is fine for a report
    if (!a)
    {
        // Not ours (.NET turns some SIGSEGVs into NullReferenceException): hand it on.
        if (g_previous_segv.sa_flags & SA_SIGINFO) g_previous_segv.sa_sigaction(sig, info, ctx);
        else if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != SIG_IGN) g_previous_segv.sa_handler(sig);
        else { signal(SIGSEGV, SIG_DFL); raise(SIGSEGV); }
        return;
    }
    char msg[512];
    long offset = (long)(addr - (uintptr_t)a->data);
    int n = a->freed
        ? std::snprintf(msg, sizeof msg, "\n[emu] FAULT (CUDA_ERROR_ILLEGAL_ADDRESS on a GPU): kernel %s (launch #%ld, block %u, thread %u) touched byte %ld of allocation #%ld (%zu bytes) after it was freed (use after free)\n",
                        g_current_kernel.c_str(), g_launches, blockIdx.x, threadIdx.x, offset, a->id, a->size)
        : std::snprintf(msg, sizeof msg, "\n[emu] FAULT (CUDA_ERROR_ILLEGAL_ADDRESS on a GPU): kernel %s (launch #%ld, block %u, thread %u) touched byte %ld of allocation #%ld, which has %zu bytes (%s)\n",
                        g_current_kernel.c_str(), g_launches, blockIdx.x, threadIdx.x, offset, a->id, a->size, offset < 0 ? "before its start" : "past its end");
    if (n > 0) (void)!write(2, msg, (size_t)std::min(n, (int)sizeof msg - 1));
    _exit(139);
}

static void InstallGuards()
{
    static bool done = false;
    if (done || !Config().guard) return;
    done = true;
    struct sigaction sa {};
    sa.sa_sigaction = OnSegv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
}

static void* Alloc(size_t bytes, long* id)
{
    std::lock_guard<std::mutex> lock(g_mem);
    *id = ++g_alloc_ids;
    if (!Config().guard)
    {
        void* m = std::malloc(bytes ? bytes : 1);
        if (m) std::memset(m, 0xCD, bytes); // uninitialized device memory is garbage: make that visible
        return m;
    }
    size_t span = (bytes + 7) / 8 * 8;
    size_t dataPages = (span + kPage - 1) / kPage;
    size_t mapped = (dataPages + 1) * kPage;
    void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return nullptr;
    char* guard = (char*)base + dataPages * kPage;
    mprotect(guard, kPage, PROT_NONE);
    char* data = guard - span;
    std::memset(base, kCanary, (size_t)(data - (char*)base));
    std::memset(data, 0xCD, bytes);
    std::memset(data + bytes, kCanary, span - bytes);
    g_allocs[(uintptr_t)data] = Allocation{(char*)base, mapped, data, bytes, *id, false};
    return data;
}

static int Free(void* p)
{
    if (!p) return OK;
    std::lock_guard<std::mutex> lock(g_mem);
    if (!Config().guard) { std::free(p); return OK; }
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end() || it->second.freed) return INVALID_VALUE;
    Allocation& a = it->second;
    size_t span = (a.size + 7) / 8 * 8;
    for (char* c = a.base; c < a.data; c++)
        if ((unsigned char)*c != kCanary) { Fail(ILLEGAL_ADDRESS, "allocation #" + std::to_string(a.id) + " (" + std::to_string(a.size) + " bytes): written before its start"); break; }
    for (char* c = a.data + a.size; c < a.data + span; c++)
        if ((unsigned char)*c != kCanary) { Fail(ILLEGAL_ADDRESS, "allocation #" + std::to_string(a.id) + " (" + std::to_string(a.size) + " bytes): written past its end"); break; }
    mprotect(a.base, a.mapped, PROT_NONE);
    a.freed = true;
    g_quarantine.push_back(it->first);
    while (g_quarantine.size() > 4096)
    {
        auto old = g_allocs.find(g_quarantine.front());
        munmap(old->second.base, old->second.mapped);
        g_allocs.erase(old);
        g_quarantine.pop_front();
    }
    return OK;
}

// ---- resource limits from the CUBIN ------------------------------------------------------------

struct KernelLimits { int regs = -1; int maxThreads = 0; long sharedBytes = 0; };
static std::unordered_map<std::string, KernelLimits> g_limits;

template <typename T> static T Rd(const unsigned char* p) { T v; std::memcpy(&v, p, sizeof v); return v; }

// NVRTC's CUBIN is an ELF64 image. Per kernel: EIATTR_REGCOUNT (0x2f) in .nv.info (symbol
// index, registers), EIATTR_MAX_THREADS (0x05) in .nv.info.<kernel> (the __launch_bounds__),
// and the size of .nv.shared.<kernel> (static shared memory).
static void ReadLimits(const unsigned char* elf)
{
    if (elf[4] != 2) return; // ELFCLASS64 only
    uint64_t shoff = Rd<uint64_t>(elf + 0x28);
    uint16_t shentsize = Rd<uint16_t>(elf + 0x3A), shnum = Rd<uint16_t>(elf + 0x3C), shstrndx = Rd<uint16_t>(elf + 0x3E);
    auto sec = [&](int i) { return elf + shoff + (uint64_t)i * shentsize; };
    auto secOff = [&](int i) { return Rd<uint64_t>(sec(i) + 0x18); };
    auto secSize = [&](int i) { return Rd<uint64_t>(sec(i) + 0x20); };
    auto secName = [&](int i) { return std::string((const char*)elf + secOff(shstrndx) + Rd<uint32_t>(sec(i))); };
    int symtab = -1;
    for (int i = 0; i < shnum; i++)
        if (secName(i) == ".symtab") symtab = i;
    auto symName = [&](uint32_t idx) -> std::string {
        if (symtab < 0) return "";
        int strtab = (int)Rd<uint32_t>(sec(symtab) + 0x28);
        const unsigned char* s = elf + secOff(symtab) + (uint64_t)idx * 24;
        return std::string((const char*)elf + secOff(strtab) + Rd<uint32_t>(s));
    };
    auto attrs = [&](int i, const std::function<void(int attr, const unsigned char* p, int size)>& f) {
        const unsigned char* d = elf + secOff(i);
        uint64_t n = secSize(i), at = 0;
        while (at + 2 <= n)
        {
            int format = d[at], attr = d[at + 1];
            if (format == 4) { int size = Rd<uint16_t>(d + at + 2); f(attr, d + at + 4, size); at += 4 + size; }
            else if (format == 3) { f(attr, d + at + 2, 2); at += 4; }
            else if (format == 2) at += 4;
            else if (format == 1) at += 2;
            else break;
        }
    };
    for (int i = 0; i < shnum; i++)
    {
        std::string name = secName(i);
        if (name == ".nv.info")
            attrs(i, [&](int attr, const unsigned char* p, int size) {
                if (attr == 0x2f && size == 8) g_limits[symName(Rd<uint32_t>(p))].regs = (int)Rd<uint32_t>(p + 4);
            });
        else if (name.rfind(".nv.info.", 0) == 0)
        {
            std::string kernel = name.substr(9);
            attrs(i, [&](int attr, const unsigned char* p, int size) {
                if (attr == 0x05 && size >= 4) g_limits[kernel].maxThreads = (int)Rd<uint32_t>(p);
            });
        }
        else if (name.rfind(".nv.shared.", 0) == 0)
            g_limits[name.substr(11)].sharedBytes = (long)secSize(i);
    }
}

static int CheckLimits(const char* name, unsigned block, unsigned dynamicShared)
{
    if (!Config().limits) return OK;
    auto it = g_limits.find(name);
    if (it == g_limits.end()) return OK;
    const KernelLimits& l = it->second;
    const long regsPerBlock = EnvInt("EMU_REGS_PER_BLOCK", 65536), sharedPerBlock = EnvInt("EMU_SHARED_PER_BLOCK", 48 * 1024);
    std::string why;
    if (l.maxThreads > 0 && (int)block > l.maxThreads)
        why = "block of " + std::to_string(block) + " threads over its __launch_bounds__ (" + std::to_string(l.maxThreads) + ")";
    else if (l.regs > 0 && (long)((block + 31) / 32) * ((l.regs * 32 + 255) / 256 * 256) > regsPerBlock)
        why = std::to_string(l.regs) + " registers × " + std::to_string(block) + " threads over the " + std::to_string(regsPerBlock) + " registers of a block";
    else if (l.sharedBytes + dynamicShared > sharedPerBlock)
        why = std::to_string(l.sharedBytes + dynamicShared) + " bytes of shared memory over " + std::to_string(sharedPerBlock);
    if (why.empty()) return OK;
    std::fprintf(stderr, "[emu] launch of %s refused: %s (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES)\n", name, why.c_str());
    return LAUNCH_OUT_OF_RESOURCES;
}

// ---- streams ---------------------------------------------------------------------------------

// Under EMU_DEFERRED a stream is a queue run at synchronization; otherwise work runs at once.
// The null (legacy default) stream never waits for a non-blocking stream, so work sent there
// runs at once, ahead of anything queued: as on a GPU, it races with the queued work.
struct EmuStream { std::deque<std::function<void()>> queue; };
static std::mutex g_streams_gate;
static std::vector<EmuStream*> g_streams;

static void Drain(EmuStream* s)
{
    while (s && !s->queue.empty())
    {
        auto work = std::move(s->queue.front());
        s->queue.pop_front();
        if (g_sticky.load()) continue; // after a fault nothing more runs
        work();
    }
}

static void DrainAll()
{
    std::vector<EmuStream*> all;
    { std::lock_guard<std::mutex> lock(g_streams_gate); all = g_streams; }
    for (auto* s : all) Drain(s);
}

extern "C" void emu_enqueue(void* stream, std::function<void()> work)
{
    if (Config().deferred && stream) ((EmuStream*)stream)->queue.push_back(std::move(work));
    else work();
}

// ---- the kernel runner -------------------------------------------------------------------------

static bool NeedsThreads(const char* name)
{
    // Every kernel that uses __syncthreads, __shared__ or warp shuffles (block_reduce) must be listed
    // (under EMU_DIVERGENCE one that is not fails its first launch).
    for (const char* prefix : {"reduce_rows", "reduce_split", "softmax", "chol_diag", "color_jitter", "groupnorm"})
        if (std::strncmp(name, prefix, std::strlen(prefix)) == 0) return true;
    return false;
}

// The threads of a threaded block: kept alive between blocks and launches (creating 1024
// threads per block made the kernels that sync cost more system time than work).
class WorkerPool
{
public:
    // Runs task(0..n-1) on n threads at once (they may wait for each other at barriers).
    void Run(unsigned n, const std::function<void(unsigned)>& task)
    {
        std::unique_lock<std::mutex> lock(m_);
        while (threads_.size() < n)
        {
            unsigned slot = (unsigned)threads_.size();
            threads_.emplace_back([this, slot] { Loop(slot); });
        }
        task_ = &task;
        active_ = n;
        pending_ = n;
        generation_++;
        start_.notify_all();
        done_.wait(lock, [&] { return pending_ == 0; });
        task_ = nullptr;
    }

private:
    void Loop(unsigned slot)
    {
        long seen = 0;
        for (;;)
        {
            const std::function<void(unsigned)>* task;
            {
                std::unique_lock<std::mutex> lock(m_);
                start_.wait(lock, [&] { return generation_ != seen && slot < active_; });
                seen = generation_;
                task = task_;
            }
            (*task)(slot);
            std::lock_guard<std::mutex> lock(m_);
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::mutex m_;
    std::condition_variable start_, done_;
    std::vector<std::thread> threads_;
    const std::function<void(unsigned)>* task_ = nullptr;
    unsigned active_ = 0, pending_ = 0;
    long generation_ = 0;
};

static WorkerPool& Workers()
{
    static WorkerPool* pool = new WorkerPool(); // never destroyed: its threads live as long as the process
    return *pool;
}

static std::vector<unsigned> Order(unsigned n, std::mt19937& rng)
{
    std::vector<unsigned> v(n);
    for (unsigned i = 0; i < n; i++) v[i] = i;
    if (Config().order == 1) std::reverse(v.begin(), v.end());
    else if (Config().order == 2) std::shuffle(v.begin(), v.end(), rng);
    return v;
}

static void RunKernel(const EmuKernel* k, unsigned gx, unsigned bx, void** params, long launch)
{
    g_current_kernel = k->name;
    gridDim = {gx, 1, 1};
    blockDim = {bx, 1, 1};
    bool threaded = NeedsThreads(k->name);
    std::mt19937 rng(Config().seed + (unsigned)launch);
    for (unsigned b : Order(gx, rng))
    {
        PoisonShared();
        if (!threaded)
        {
            blockIdx = {b, 0, 0};
            try
            {
                for (unsigned t : Order(bx, rng)) { threadIdx = {t, 0, 0}; k->run(params); }
            }
            catch (EmuAbort&) { return; }
            continue;
        }
        g_block = std::make_unique<EmuBarrier>((int)bx, "__syncthreads");
        g_warps.clear();
        for (unsigned w = 0; w < bx / 32; w++) g_warps.push_back(std::make_unique<EmuBarrier>(32, "a warp shuffle"));
        auto order = Order(bx, rng);
        Workers().Run(bx, [&](unsigned slot) {
            unsigned t = order[slot];
            blockIdx = {b, 0, 0};
            threadIdx = {t, 0, 0};
            try { k->run(params); }
            catch (EmuAbort&) { }
            g_warps[t / 32]->Leave(t);
            g_block->Leave(t);
        });
        g_block.reset();
        g_warps.clear();
        if (g_sticky.load()) return;
    }
}

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
#define STICKY() do { if (int s_ = g_sticky.load()) return s_; } while (0)

extern "C" {

CUresult cuInit(unsigned) { Config(); InstallGuards(); return 0; }
CUresult cuDriverGetVersion(int* v) { *v = Config().driverVersion; return 0; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return 0; }
CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char* name, int len, int) { std::snprintf(name, len, "RawDistill host emulator%s", Config().strict ? " (strict)" : ""); return 0; }
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
    STICKY();
    long id;
    void* m = Alloc(bytes, &id);
    if (!m) return OUT_OF_MEMORY;
    *p = (CUdeviceptr)m;
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p)
{
    DrainAll(); // cuMemFree waits for the device, as the real one does
    STICKY();
    return Free((void*)p);
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void* stream)
{
    STICKY();
    // From pageable memory the driver stages the bytes before it returns: copy them now.
    auto bytes = std::make_shared<std::vector<char>>((const char*)s, (const char*)s + n);
    emu_enqueue(stream, [d, bytes] { std::memcpy((void*)d, bytes->data(), bytes->size()); });
    return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void* stream)
{
    // Into pageable memory the copy completes before the call returns: run the stream up to here.
    Drain((EmuStream*)stream);
    STICKY();
    std::memcpy(d, (void*)s, n);
    return 0;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void* stream)
{
    STICKY();
    emu_enqueue(stream, [=] { std::memmove((void*)d, (void*)s, n); });
    return 0;
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void* stream)
{
    STICKY();
    emu_enqueue(stream, [=] { std::memset((void*)d, v, n); });
    return 0;
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void* stream)
{
    STICKY();
    emu_enqueue(stream, [=] { auto* p = (unsigned*)d; for (size_t i = 0; i < n; i++) p[i] = v; });
    return 0;
}

CUresult cuStreamCreate(void** s, unsigned flags)
{
    if (flags != 1) return 1;
    auto* stream = new EmuStream();
    { std::lock_guard<std::mutex> lock(g_streams_gate); g_streams.push_back(stream); }
    *s = stream;
    return 0;
}
CUresult cuStreamSynchronize(void* s) { Drain((EmuStream*)s); STICKY(); return 0; }
CUresult cuStreamDestroy_v2(void* s)
{
    Drain((EmuStream*)s);
    std::lock_guard<std::mutex> lock(g_streams_gate);
    g_streams.erase(std::remove(g_streams.begin(), g_streams.end(), (EmuStream*)s), g_streams.end());
    delete (EmuStream*)s;
    return 0;
}
// Events record the host clock when the stream reaches them. Elapsed time needs both events
// completed (CUDA_ERROR_NOT_READY before, CUDA_ERROR_INVALID_HANDLE for a never-recorded one).
struct EmuEvent { bool recorded; bool done; EmuStream* stream; std::chrono::steady_clock::time_point at; };
static long g_live_events = 0;
CUresult cuEventCreate(void** e, unsigned flags)
{
    if (flags & ~0x7u) return 1;
    *e = new EmuEvent{false, false, nullptr, {}};
    g_live_events++;
    return 0;
}
CUresult cuEventRecord(void* e, void* stream)
{
    if (!e) return INVALID_HANDLE;
    STICKY();
    auto* ev = (EmuEvent*)e;
    ev->recorded = true;
    ev->done = false;
    ev->stream = (EmuStream*)stream;
    emu_enqueue(stream, [ev] { ev->done = true; ev->at = std::chrono::steady_clock::now(); });
    return 0;
}
CUresult cuEventSynchronize(void* e)
{
    if (!e) return INVALID_HANDLE;
    Drain(((EmuEvent*)e)->stream);
    STICKY();
    return 0;
}
CUresult cuEventElapsedTime(float* ms, void* a, void* b)
{
    auto *s = (EmuEvent*)a, *t = (EmuEvent*)b;
    if (!s || !t || !s->recorded || !t->recorded) return INVALID_HANDLE;
    if (!s->done || !t->done) return NOT_READY;
    *ms = std::chrono::duration<float, std::milli>(t->at - s->at).count();
    return 0;
}
CUresult cuEventDestroy_v2(void* e) { if (!e) return INVALID_HANDLE; delete (EmuEvent*)e; g_live_events--; return 0; }

CUresult cuModuleLoadData(void** m, const void* image)
{
    STICKY();
    // The image is NVRTC's real CUBIN (an ELF): check it is one, read each kernel's resource use.
    if (std::memcmp(image, "\x7f" "ELF", 4) != 0) return INVALID_IMAGE;
    ReadLimits((const unsigned char*)image);
    *m = (void*)0x4;
    return 0;
}
CUresult cuModuleGetFunction(const EmuKernel** f, void*, const char* name)
{
    for (const EmuKernel* k = emu_kernels; k->name; k++)
        if (std::strcmp(k->name, name) == 0) { *f = k; return 0; }
    return NOT_FOUND;
}
CUresult cuModuleUnload(void*) { DrainAll(); return 0; }

// What cuFuncGetAttribute reports from the CUBIN: 0 max threads per block, 1 static shared bytes, 4 registers.
CUresult cuFuncGetAttribute(int* v, int attr, const EmuKernel* k)
{
    auto it = g_limits.find(k->name);
    KernelLimits l = it == g_limits.end() ? KernelLimits{} : it->second;
    switch (attr)
    {
    case 0: *v = l.maxThreads > 0 ? l.maxThreads : 1024; return 0;
    case 1: *v = (int)l.sharedBytes; return 0;
    case 4: *v = l.regs; return 0;
    default: return INVALID_VALUE;
    }
}

CUresult cuLaunchKernel(const EmuKernel* k, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void* stream, void** params, void** extra)
{
    STICKY();
    if (gx == 0 || gy != 1 || gz != 1 || bx == 0 || bx > 1024 || by != 1 || bz != 1 || shared != 0 || extra) return INVALID_VALUE;
    if (gx > 2147483647u) return INVALID_VALUE;
    if (NeedsThreads(k->name) && bx % 32 != 0) return INVALID_VALUE;
    if (int r = CheckLimits(k->name, bx, shared)) return r;
    long launch = ++g_launches;
    // The driver reads the arguments when the launch is made: copy them, as it does.
    auto args = std::make_shared<std::vector<std::vector<char>>>();
    for (int i = 0; i < k->params; i++) args->emplace_back((const char*)params[i], (const char*)params[i] + k->sizes[i]);
    emu_enqueue(stream, [=] {
        std::vector<void*> ptrs;
        for (auto& a : *args) ptrs.push_back(a.data());
        RunKernel(k, gx, bx, ptrs.data(), launch);
    });
    STICKY(); // a fault in a kernel that ran at once is reported by its launch (RAWDISTILL_SYNC=1 names it)
    return 0;
}

CUresult cuGetErrorName(CUresult e, const char** s)
{
    static thread_local std::string n;
    switch (e)
    {
    case ILLEGAL_ADDRESS: n = "CUDA_ERROR_ILLEGAL_ADDRESS"; break;
    case LAUNCH_OUT_OF_RESOURCES: n = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; break;
    case LAUNCH_TIMEOUT: n = "CUDA_ERROR_LAUNCH_TIMEOUT"; break;
    case LAUNCH_FAILED: n = "CUDA_ERROR_LAUNCH_FAILED"; break;
    case NOT_READY: n = "CUDA_ERROR_NOT_READY"; break;
    default: n = "EMU_ERROR_" + std::to_string(e);
    }
    *s = n.c_str();
    return 0;
}
CUresult cuGetErrorString(CUresult, const char** s) { *s = "error reported by the host emulator (its message is on stderr, prefixed [emu])"; return 0; }

long emu_launch_count() { return g_launches; }
long emu_live_events() { return g_live_events; }
}
