namespace RawDistill.Cuda;

using RawDistill.Tensors;

/// <summary>
/// Temporary device memory (im2col columns, widened copies) taken from the pool and given
/// back on Dispose. Giving it back while kernels that use it are still queued is safe:
/// every later user of the block is queued behind them on the same stream.
/// </summary>
internal readonly struct DeviceScratch(DevicePool pool, ulong pointer, long blockBytes) : IDisposable
{
    public ulong Pointer { get; } = pointer;

    public void Dispose() => pool.Return(Pointer, blockBytes);
}

public sealed partial class CudaBackend
{
    DeviceScratch Rent(DType dtype, long count)
    {
        var p = Pool.Rent(count * dtype.SizeOf(), out long block);
        return new DeviceScratch(Pool, p, block);
    }
}
