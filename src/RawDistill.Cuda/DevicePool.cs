namespace RawDistill.Cuda;

using RawDistill.Cuda.Native;

/// <summary>
/// A caching allocator for device memory: freed blocks are kept in bins keyed by their
/// rounded size and reused by later allocations of the same bin. Sizes round up to a
/// multiple of max(512 B, 2^⌊log2 size⌋ / 8), so a block wastes at most 1/8 of itself
/// and the number of bins stays small. When cuMemAlloc runs out of memory the pool
/// waits for the stream, frees every cached block and tries once more.
/// RAWDISTILL_DEVICE_POOL=off turns caching and rounding off (as PyTorch's
/// PYTORCH_NO_CUDA_MEMORY_CACHING=1): every storage is its own exact-size cuMemAlloc and is
/// freed at once, so a memory checker (the strict host emulator's guard pages, or
/// compute-sanitizer on a GPU) sees an overrun past a storage's end and a use after its release.
/// </summary>
internal sealed class DevicePool(CudaBackend backend)
{
    /// <summary>Environment variable: "off" allocates and frees every storage exactly, without the cache.</summary>
    public const string ModeVariable = "RAWDISTILL_DEVICE_POOL";

    readonly bool _exact = Environment.GetEnvironmentVariable(ModeVariable) == "off";

    readonly object _gate = new();
    readonly Dictionary<long, Stack<ulong>> _free = [];
    long _cachedBytes, _liveBytes;
    bool _disposed;

    public long CachedBytes { get { lock (_gate) return _cachedBytes; } }
    public long LiveBytes { get { lock (_gate) return _liveBytes; } }

    internal static long RoundUp(long bytes)
    {
        if (bytes <= 0) return 0;
        long granule = Math.Max(512L, (long)(1UL << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)bytes))) / 8);
        return (bytes + granule - 1) / granule * granule;
    }

    public ulong Rent(long bytes, out long blockBytes)
    {
        blockBytes = _exact ? Math.Max(0, bytes) : RoundUp(bytes);
        if (blockBytes == 0) return 0;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.TryGetValue(blockBytes, out var stack) && stack.Count > 0)
            {
                _cachedBytes -= blockBytes;
                _liveBytes += blockBytes;
                return stack.Pop();
            }
        }
        backend.MakeCurrent();
        var r = CudaDriver.cuMemAlloc_v2(out ulong ptr, (nuint)blockBytes);
        if (r == CuResult.ErrorOutOfMemory)
        {
            backend.Synchronize();
            ReleaseCached();
            r = CudaDriver.cuMemAlloc_v2(out ptr, (nuint)blockBytes);
        }
        if (r != CuResult.Success)
            throw CudaDriver.Error(r, $"cuMemAlloc_v2({blockBytes} bytes; {LiveBytes} in use, {CachedBytes} cached)");
        lock (_gate) _liveBytes += blockBytes;
        return ptr;
    }

    public void Return(ulong ptr, long blockBytes)
    {
        if (ptr == 0) return;
        lock (_gate)
        {
            if (_disposed) return; // the context is gone with its memory
            _liveBytes -= blockBytes;
            if (_exact)
            {
                // Best effort, as a release runs in Dispose and finally blocks: after a device
                // fault every call fails with it, and throwing here would hide the error that
                // named the faulting kernel.
                backend.MakeCurrent();
                CudaDriver.cuMemFree_v2(ptr);
                return;
            }
            _cachedBytes += blockBytes;
            if (!_free.TryGetValue(blockBytes, out var stack)) _free[blockBytes] = stack = new Stack<ulong>();
            stack.Push(ptr);
        }
    }

    /// <summary>Frees every cached block (the caller makes sure no queued work still uses them).</summary>
    public void ReleaseCached()
    {
        List<ulong> blocks;
        lock (_gate)
        {
            blocks = _free.Values.SelectMany(s => s).ToList();
            _free.Clear();
            _cachedBytes = 0;
        }
        backend.MakeCurrent();
        foreach (var p in blocks) CudaDriver.Check(CudaDriver.cuMemFree_v2(p));
    }

    public void Dispose()
    {
        ReleaseCached();
        lock (_gate) _disposed = true;
    }
}
