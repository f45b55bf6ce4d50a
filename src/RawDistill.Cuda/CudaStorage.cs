namespace RawDistill.Cuda;

using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// Device memory owned by a <see cref="CudaBackend"/>. Freeing returns the block to the
/// backend's caching pool at once (no garbage collector involved); the pool hands it out
/// again in stream order, which is safe because all work runs on one stream.
/// </summary>
public sealed class CudaStorage : Storage
{
    readonly CudaBackend _owner;

    internal CudaStorage(CudaBackend backend, DType dtype, long count, ulong pointer, long blockBytes)
        : base(backend, dtype, count)
    {
        _owner = backend;
        Pointer = pointer;
        BlockBytes = blockBytes;
    }

    /// <summary>The device address of element 0 (0 for an empty storage).</summary>
    public ulong Pointer { get; }

    /// <summary>The size of the pooled block behind this storage (at least <see cref="Storage.Bytes"/>).</summary>
    internal long BlockBytes { get; }

    /// <inheritdoc/>
    protected override void Free() => _owner.Pool.Return(Pointer, BlockBytes);
}
