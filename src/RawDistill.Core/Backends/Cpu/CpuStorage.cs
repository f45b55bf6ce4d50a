namespace RawDistill.Backends.Cpu;

using System.Runtime.InteropServices;
using RawDistill.Tensors;

/// <summary>
/// Host memory for the CPU backend: 64-byte aligned native memory from the backend's
/// caching pool (so SIMD loads never split cache lines and the GC never moves or scans it). Freed deterministically when
/// the last tensor using it is disposed; the finalizer is only a safety net for tensors
/// that were never disposed.
/// </summary>
public sealed unsafe class CpuStorage : Storage
{
    void* _ptr;
    readonly HostMemoryPool _pool;

    internal CpuStorage(CpuBackend backend, DType dtype, long count) : base(backend, dtype, count)
    {
        _pool = backend.Pool;
        _ptr = _pool.Rent(Bytes);
    }

    ~CpuStorage() => Free();

    /// <summary>Start of the memory. Valid until the storage is released.</summary>
    public void* Pointer => _ptr != null ? _ptr : throw new ObjectDisposedException(nameof(CpuStorage), "tensor memory was already freed (the tensor was disposed or its scope ended)");

    /// <summary>Typed view of the whole storage.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged => new(Pointer, checked((int)(Bytes / sizeof(T))));

    protected override void Free()
    {
        var p = _ptr;
        if (p == null) return;
        _ptr = null;
        _pool.Return(p, Bytes);
        GC.SuppressFinalize(this);
    }
}
