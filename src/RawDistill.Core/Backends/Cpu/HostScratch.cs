namespace RawDistill.Backends.Cpu;

using System.Runtime.InteropServices;

/// <summary>
/// A scratch buffer of <typeparamref name="T"/> rented from the CPU backend's host pool for the
/// length of one kernel call (the im2col matrix, a gathered block of dy, a chunk's partial
/// weight gradient) and given back on <see cref="Dispose"/>. Kernels used to allocate these as
/// managed arrays on every call: each one above 85 KB landed on the large-object heap, which is
/// only swept by full collections, so a training loop left gigabytes of dead buffers behind
/// between them (an evaluation peaked at 6 GB RSS with ~1 GB live). Pooled blocks are reused by
/// the next call of the same shape instead.
/// </summary>
internal readonly unsafe struct HostScratch<T> : IDisposable where T : unmanaged
{
    readonly long _bytes;

    /// <summary>The first element; null for a buffer not rented (<see cref="RentIf"/> with needed = false).</summary>
    public readonly T* Ptr;

    HostScratch(long count, bool clear)
    {
        _bytes = count * sizeof(T);
        Ptr = (T*)CpuBackend.Instance.Pool.Rent(_bytes);
        if (clear) NativeMemory.Clear(Ptr, (nuint)_bytes);
    }

    /// <summary>At least <paramref name="count"/> elements, uninitialized unless <paramref name="clear"/>.</summary>
    public static HostScratch<T> Rent(long count, bool clear = false) => new(count, clear);

    /// <summary>A buffer of <paramref name="count"/> elements when <paramref name="needed"/>, else none (null pointer).</summary>
    public static HostScratch<T> RentIf(bool needed, long count) => needed ? new(count, false) : default;

    /// <summary>Gives the block back to the pool (nothing for a buffer not rented).</summary>
    public void Dispose()
    {
        if (Ptr != null) CpuBackend.Instance.Pool.Return(Ptr, _bytes);
    }
}
