namespace RawDistill.Cuda;

using RawDistill.Cuda.Native;
using RawDistill.Diagnostics.Profiling;

// What `rawdistill bench kernels` needs (IProfilingBackend): CUDA-event timers, an L2 flush,
// the device's peaks from its attributes, and a block-size override for the launchers.
public sealed unsafe partial class CudaBackend : IProfilingBackend
{
    /// <summary>Bytes flushed when the driver does not report the L2 size (more than any current L2 twice over).</summary>
    public const long FallbackFlushBytes = 256L << 20;

    static readonly int[] SweepBlockSizes = [64, 128, 256, 512, 1024];
    DevicePeak? _peak;
    ulong _flushBuffer;
    long _flushBytes;
    uint _flushValue;

    /// <inheritdoc/>
    public DevicePeak Peak => _peak ??= ReadPeak();

    DevicePeak ReadPeak()
    {
        MakeCurrent();
        // An attribute the driver refuses (or reports as 0, as CUDA 13 may for the clocks) is unknown, not guessed.
        int? Attr(int attribute) => CudaDriver.cuDeviceGetAttribute(out int v, attribute, Device) == CuResult.Success && v > 0 ? v : null;
        return new DevicePeak(DeviceName, ComputeCapability.Major, ComputeCapability.Minor,
            Attr(CudaDriver.AttrMultiprocessorCount), Attr(CudaDriver.AttrClockRate), Attr(CudaDriver.AttrMemoryClockRate),
            Attr(CudaDriver.AttrGlobalMemoryBusWidth), Attr(CudaDriver.AttrL2CacheSize));
    }

    /// <inheritdoc/>
    public IDeviceTimer CreateTimer() => new EventTimer(this);

    /// <summary>Bytes <see cref="FlushL2"/> writes: twice the reported L2 size, or <see cref="FallbackFlushBytes"/>.</summary>
    public long FlushBytes => Peak.L2Bytes is { } l2 ? 2 * l2 : FallbackFlushBytes;

    /// <inheritdoc/>
    public long FlushL2()
    {
        MakeCurrent();
        if (_flushBuffer == 0)
        {
            _flushBytes = (FlushBytes + 3) / 4 * 4;
            CudaDriver.Check(CudaDriver.cuMemAlloc_v2(out _flushBuffer, (nuint)_flushBytes));
        }
        // A different value each time, so no layer can skip the write as a repeat.
        CudaDriver.Check(CudaDriver.cuMemsetD32Async(_flushBuffer, ++_flushValue, (nuint)(_flushBytes / 4), _stream));
        AfterLaunch("L2 flush (cuMemsetD32Async)");
        return _flushBytes;
    }

    void FreeFlushBuffer()
    {
        if (_flushBuffer != 0) CudaDriver.cuMemFree_v2(_flushBuffer);
        _flushBuffer = 0;
    }

    /// <inheritdoc/>
    public int? BlockSizeOverride
    {
        get => _blockSizeOverride;
        set
        {
            if (value is { } b && Array.IndexOf(SweepBlockSizes, b) < 0)
                throw new ArgumentOutOfRangeException(nameof(value), b, $"block size must be one of {string.Join(", ", SweepBlockSizes)}");
            _blockSizeOverride = value;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> BlockSizes => SweepBlockSizes;

    /// <summary>Two events on the backend's stream; <see cref="Stop"/> waits for the second and reads the time between them.</summary>
    sealed class EventTimer : IDeviceTimer
    {
        readonly CudaBackend _backend;
        readonly nint _start, _end;
        bool _started;

        public EventTimer(CudaBackend backend)
        {
            _backend = backend;
            backend.MakeCurrent();
            CudaDriver.Check(CudaDriver.cuEventCreate(out _start, CudaDriver.EventDefault));
            var r = CudaDriver.cuEventCreate(out _end, CudaDriver.EventDefault);
            if (r != CuResult.Success)
            {
                CudaDriver.cuEventDestroy_v2(_start);
                throw CudaDriver.Error(r, "cuEventCreate");
            }
        }

        public void Start()
        {
            _backend.MakeCurrent();
            CudaDriver.Check(CudaDriver.cuEventRecord(_start, _backend._stream));
            _started = true;
        }

        public double Stop()
        {
            if (!_started) throw new InvalidOperationException("timer stopped before it was started");
            _backend.MakeCurrent();
            CudaDriver.Check(CudaDriver.cuEventRecord(_end, _backend._stream));
            CudaDriver.Check(CudaDriver.cuEventSynchronize(_end));
            CudaDriver.Check(CudaDriver.cuEventElapsedTime(out float ms, _start, _end));
            _started = false;
            return ms;
        }

        public void Dispose()
        {
            CudaDriver.cuEventDestroy_v2(_start);
            CudaDriver.cuEventDestroy_v2(_end);
        }
    }
}
