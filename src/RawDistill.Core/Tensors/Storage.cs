namespace RawDistill.Tensors;

using RawDistill.Backends;

/// <summary>
/// A block of memory owned by a backend (host memory for the CPU, device memory for CUDA).
/// Reference-counted so that views (reshape, detach) share it; the memory goes back to the
/// backend deterministically when the last tensor using it is disposed.
/// </summary>
public abstract class Storage
{
    int _refs = 1;

    protected Storage(IBackend backend, DType dtype, long count)
    {
        Backend = backend;
        DType = dtype;
        Count = count;
        backend.Memory.Allocated(Bytes);
    }

    /// <summary>The backend that owns this memory.</summary>
    public IBackend Backend { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public long Count { get; }

    /// <summary>Size in bytes.</summary>
    public long Bytes => Count * DType.SizeOf();

    /// <summary>True once the memory has been returned to the backend.</summary>
    public bool IsReleased => Volatile.Read(ref _refs) <= 0;

    /// <summary>True while more than one tensor uses this memory (views, detached aliases): not safe to update in place.</summary>
    internal bool IsShared => Volatile.Read(ref _refs) > 1;

    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "storage was already released");
    }

    internal void Release()
    {
        int r = Interlocked.Decrement(ref _refs);
        if (r == 0)
        {
            Backend.Memory.Released(Bytes);
            Free();
        }
    }

    /// <summary>Returns the memory to the backend. Called exactly once.</summary>
    protected abstract void Free();
}
