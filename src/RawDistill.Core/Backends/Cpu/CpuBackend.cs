namespace RawDistill.Backends.Cpu;

using RawDistill.Tensors;

/// <summary>
/// The CPU backend: the readable reference for every primitive and a fast one (SIMD via
/// TensorPrimitives and System.Runtime.Intrinsics, multi-threaded with Parallel.For).
/// Op families live in partial files named after them (CpuBackend.Elementwise.cs, ...).
/// </summary>
public sealed unsafe partial class CpuBackend : IBackend
{
    /// <summary>Element counts below this run on the calling thread: threading costs more than it saves.</summary>
    internal const int ParallelThreshold = 1 << 15;

    /// <summary>The process-wide CPU backend.</summary>
    public static CpuBackend Instance { get; } = new();

    /// <summary>
    /// Caches freed host blocks for reuse (a quarter of physical memory at most, by default).
    /// </summary>
    internal HostMemoryPool Pool { get; } = new(Math.Max(256L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4));

    /// <summary>Returns every cached (unused) block of host memory to the operating system.</summary>
    public void ReleaseCachedMemory() => Pool.Trim(0);

    /// <inheritdoc/>
    public MemoryMeter Memory { get; } = new();

    /// <inheritdoc/>
    public string Name => "cpu";

    /// <inheritdoc/>
    public bool IsHost => true;

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return new CpuStorage(this, dtype, count);
    }

    /// <inheritdoc/>
    public void Upload(Storage dst, ReadOnlySpan<byte> src)
    {
        if (src.Length > dst.Bytes) throw new ArgumentException($"upload of {src.Length} bytes into a storage of {dst.Bytes} bytes");
        src.CopyTo(new Span<byte>(P(dst), src.Length));
    }

    /// <inheritdoc/>
    public void Download(Storage src, Span<byte> dst)
    {
        if (dst.Length > src.Bytes) throw new ArgumentException($"download of {dst.Length} bytes from a storage of {src.Bytes} bytes");
        new ReadOnlySpan<byte>(P(src), dst.Length).CopyTo(dst);
    }

    /// <inheritdoc/>
    public void Synchronize() { }

    /// <inheritdoc/>
    public void Dispose() { }

    internal static void* P(Storage s) => ((CpuStorage)s).Pointer;

    internal static T* P<T>(Storage s) where T : unmanaged => (T*)((CpuStorage)s).Pointer;

    /// <summary>Runs body over [0, count) in contiguous chunks, in parallel when worth it.</summary>
    internal static void ForChunks(long count, Action<long, long> body, long minChunk = ParallelThreshold)
    {
        if (count <= minChunk || Environment.ProcessorCount == 1)
        {
            body(0, count);
            return;
        }
        int chunks = (int)Math.Min(Environment.ProcessorCount * 4L, (count + minChunk - 1) / minChunk);
        long per = (count + chunks - 1) / chunks;
        Parallel.For(0, chunks, c =>
        {
            long start = c * per;
            long end = Math.Min(count, start + per);
            if (start < end) body(start, end);
        });
    }

    static NotSupportedException Unsupported(string op, DType dtype) =>
        new($"cpu: {op} is not defined for dtype {dtype}");
}
